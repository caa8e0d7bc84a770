package org.modelrunner.spi.codecs;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.TypeFactory;
import java.lang.reflect.Type;
import org.modelrunner.spi.ValueCodec;
import org.modelrunner.spi.ValueConversionException;
import org.modelrunner.spi.Variant;
import org.modelrunner.spi.VariantType;

/**
 * JSON ↔ structured values, through Jackson. The catch-all codec (priority 0): it encodes every non-null
 * value no other codec claims ({@code Map}, {@code List}, arrays, records, POJOs, Jackson trees).
 *
 * <p>Like Python's {@code json} module, it reads and writes the bare tokens {@code NaN}, {@code Infinity}
 * and {@code -Infinity}, and integers of any size. Decoding into {@code Object} gives {@code Map},
 * {@code List}, {@code String}, {@code Long} (or {@code BigInteger}), {@code Double}, {@code Boolean} or
 * {@code null}; decoding into a record or POJO ignores properties the type does not declare, and a JSON
 * {@code null} cannot become a primitive.
 *
 * <p>Each instance has its own Jackson mapper and type cache, so the classes it has seen are released with
 * it.
 */
public final class JsonCodec extends ValueCodec {
  private final JsonMapper mapper =
      JsonMapper.builder()
          .typeFactory(TypeFactory.createDefaultInstance())
          .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
          .disable(JsonWriteFeature.WRITE_NAN_AS_STRINGS)
          .enable(DeserializationFeature.USE_LONG_FOR_INTS)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .build();

  /** Creates the codec, with its own Jackson mapper. */
  public JsonCodec() {}

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
      return Variant.wrap(VariantType.JSON, mapper.writeValueAsBytes(value));
    } catch (JacksonException e) {
      throw new ValueConversionException(
          "a " + value.getClass().getName() + " cannot be written as JSON: " + e.getOriginalMessage(), e);
    }
  }

  @Override
  public Object decode(Variant variant, Type target) {
    try {
      return mapper.readValue(variant.toByteArray(), mapper.constructType(target));
    } catch (JacksonException e) {
      throw new ValueConversionException(
          "the JSON value cannot be read as " + target.getTypeName() + ": " + e.getOriginalMessage(), e);
    } catch (java.io.IOException e) {
      throw new ValueConversionException("the JSON value cannot be read: " + e.getMessage(), e);
    }
  }
}
