package org.modelrunner.spi.codecs;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.JsonTokenId;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.type.TypeFactory;
import java.io.IOException;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.modelrunner.spi.ValueCodec;
import org.modelrunner.spi.ValueConversionException;
import org.modelrunner.spi.Variant;
import org.modelrunner.spi.VariantType;

/**
 * JSON ↔ structured values, through Jackson. The catch-all codec (priority 0): it encodes every
 * non-null value no other codec claims ({@code Map}, {@code List}, arrays, records, POJOs, Jackson
 * trees).
 *
 * <p>Like Python's {@code json} module, it reads and writes the bare tokens {@code NaN}, {@code
 * Infinity} and {@code -Infinity}, and integers of any size, and reads exactly one value: anything
 * but white space after it fails. Decoding into {@code Object} gives {@code Map}, {@code List},
 * {@code String}, {@code Long} (or {@code BigInteger}), {@code Double}, {@code Boolean} or {@code
 * null}; decoding into a record or POJO ignores properties the type does not declare, and a JSON
 * {@code null} cannot become a primitive.
 *
 * <p>Each instance has its own Jackson mapper and type cache, so the classes it has seen are
 * released with it.
 */
public final class JsonCodec extends ValueCodec {
  /**
   * Built on first use: Jackson's mapper loads some 400 classes, which a process that never sees a
   * JSON value (a runner whose model takes and returns numbers) should not pay for at start.
   */
  private volatile JsonMapper mapper;

  /** Creates the codec; its own Jackson mapper is built when it first encodes or decodes. */
  public JsonCodec() {}

  private JsonMapper mapper() {
    JsonMapper built = mapper;
    if (built == null) {
      synchronized (this) {
        built = mapper;
        if (built == null) {
          built = newMapper();
          mapper = built;
        }
      }
    }
    return built;
  }

  private static JsonMapper newMapper() {
    return JsonMapper.builder()
        .typeFactory(TypeFactory.createDefaultInstance())
        .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
        .disable(JsonWriteFeature.WRITE_NAN_AS_STRINGS)
        // Not USE_LONG_FOR_INTS: it fails on integers beyond 64 bits (Python writes them); the
        // natural form (Long, or BigInteger beyond 64 bits) comes from NaturalDeserializer instead.
        .addModule(
            new SimpleModule("natural-json")
                .addDeserializer(Object.class, new NaturalDeserializer()))
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        // One value, as Python's json.loads: text after it ("{...} xyz") is malformed.
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .build();
  }

  @Override
  public VariantType type() {
    return VariantType.JSON;
  }

  @Override
  public int priority() {
    return 0;
  }

  @Override
  public boolean canEncode(Object value) {
    return value != null;
  }

  @Override
  public Variant encode(Object value) {
    try {
      return Variant.wrap(VariantType.JSON, mapper().writeValueAsBytes(value));
    } catch (JacksonException e) {
      throw new ValueConversionException(
          "a "
              + value.getClass().getName()
              + " cannot be written as JSON: "
              + e.getOriginalMessage(),
          e);
    }
  }

  @Override
  public Object decode(Variant variant, Type target) {
    try {
      JsonMapper json = mapper();
      return json.readValue(variant.toByteArray(), json.constructType(target));
    } catch (JacksonException e) {
      throw new ValueConversionException(
          "the JSON value cannot be read as "
              + target.getTypeName()
              + ": "
              + e.getOriginalMessage(),
          e);
    } catch (java.io.IOException e) {
      throw new ValueConversionException("the JSON value cannot be read: " + e.getMessage(), e);
    }
  }

  /**
   * Reads untyped JSON ({@code Object} targets, and the {@code Object} elements of maps and lists)
   * in the natural form: {@code Map} (insertion-ordered), {@code List}, {@code String}, {@code
   * Long} (or {@code BigInteger} beyond 64 bits), {@code Double}, {@code Boolean} or {@code null}.
   */
  private static final class NaturalDeserializer extends StdDeserializer<Object> {
    NaturalDeserializer() {
      super(Object.class);
    }

    @Override
    public Object deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      switch (p.currentTokenId()) {
        case JsonTokenId.ID_START_OBJECT:
        case JsonTokenId.ID_FIELD_NAME:
        case JsonTokenId.ID_END_OBJECT:
          {
            Map<String, Object> map = new LinkedHashMap<>();
            String name =
                switch (p.currentTokenId()) {
                  case JsonTokenId.ID_START_OBJECT -> p.nextFieldName();
                  case JsonTokenId.ID_FIELD_NAME -> p.currentName();
                  default -> null;
                };
            while (name != null) {
              p.nextToken();
              map.put(name, deserialize(p, ctxt));
              name = p.nextFieldName();
            }
            return map;
          }
        case JsonTokenId.ID_START_ARRAY:
          {
            List<Object> list = new ArrayList<>();
            while (p.nextToken() != JsonToken.END_ARRAY) {
              list.add(deserialize(p, ctxt));
            }
            return list;
          }
        case JsonTokenId.ID_STRING:
          return p.getText();
        case JsonTokenId.ID_NUMBER_INT:
          return p.getNumberType() == JsonParser.NumberType.BIG_INTEGER
              ? p.getBigIntegerValue()
              : (Object) p.getLongValue();
        case JsonTokenId.ID_NUMBER_FLOAT:
          return p.getDoubleValue();
        case JsonTokenId.ID_TRUE:
          return Boolean.TRUE;
        case JsonTokenId.ID_FALSE:
          return Boolean.FALSE;
        case JsonTokenId.ID_NULL:
          return null;
        case JsonTokenId.ID_EMBEDDED_OBJECT:
          return p.getEmbeddedObject();
        default:
          return ctxt.handleUnexpectedToken(Object.class, p);
      }
    }
  }
}
