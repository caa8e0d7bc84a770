package org.modelrunner.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class ValueConverterTest {
  private final ValueConverter converter = ValueConverter.create();

  // ---------------------------------------------------------------------------------------------
  // Fixtures

  public enum Color {
    RED,
    GREEN
  }

  public record Point(int x, int y) {}

  public record Labelled(String label, List<Point> points, Map<String, Double> weights) {}

  /** A JavaBean: a no-argument constructor, getters and setters. */
  public static final class Bean {
    private String name;
    private long count;
    private List<String> tags = new ArrayList<>();

    public Bean() {}

    Bean(String name, long count, List<String> tags) {
      this.name = name;
      this.count = count;
      this.tags = tags;
    }

    public String getName() {
      return name;
    }

    public void setName(String name) {
      this.name = name;
    }

    public long getCount() {
      return count;
    }

    public void setCount(long count) {
      this.count = count;
    }

    public List<String> getTags() {
      return tags;
    }

    public void setTags(List<String> tags) {
      this.tags = tags;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Bean b
          && Objects.equals(name, b.name)
          && count == b.count
          && tags.equals(b.tags);
    }

    @Override
    public int hashCode() {
      return Objects.hash(name, count, tags);
    }

    @Override
    public String toString() {
      return "Bean{" + name + ", " + count + ", " + tags + "}";
    }
  }

  /** No properties at all: Jackson refuses to serialise it. */
  public static final class NoProperties {}

  /** Refers to itself: Jackson refuses to serialise it. */
  public static final class SelfReferencing {
    public SelfReferencing getSelf() {
      return this;
    }
  }

  /** Captures a generic type, like Jackson's TypeReference. */
  abstract static class TypeRef<T> {
    Type type() {
      return ((ParameterizedType) getClass().getGenericSuperclass()).getActualTypeArguments()[0];
    }
  }

  @SuppressWarnings("unused")
  private static void sink(List<Point> points, Optional<Point> maybePoint) {}

  private static Type sinkParameter(int index) throws NoSuchMethodException {
    return ValueConverterTest.class.getDeclaredMethod("sink", List.class, Optional.class)
        .getGenericParameterTypes()[index];
  }

  private static String text(Variant variant) {
    return new String(variant.toByteArray(), StandardCharsets.UTF_8);
  }

  private static Variant json(String text) {
    return Variant.of(VariantType.JSON, text.getBytes(StandardCharsets.UTF_8));
  }

  // ---------------------------------------------------------------------------------------------
  // Encoding scalars

  @Nested
  class EncodingScalars {
    @Test
    void doublesAndFloatsBecomeDouble() {
      assertThat(converter.encode(1.5)).isEqualTo(Variant.ofDouble(1.5));
      assertThat(converter.encode(Double.valueOf(-2.25))).isEqualTo(Variant.ofDouble(-2.25));
      Variant fromFloat = converter.encode(0.1f);
      assertThat(fromFloat.type()).isEqualTo(VariantType.DOUBLE);
      assertThat(fromFloat.asDouble()).isEqualTo((double) 0.1f);
      assertThat(fromFloat.size()).isEqualTo(8);
    }

    @Test
    void integralValuesBecomeInt() {
      assertThat(converter.encode(42L)).isEqualTo(Variant.ofLong(42));
      assertThat(converter.encode(42)).isEqualTo(Variant.ofLong(42));
      assertThat(converter.encode((short) -7)).isEqualTo(Variant.ofLong(-7));
      assertThat(converter.encode((byte) -128)).isEqualTo(Variant.ofLong(-128));
      assertThat(converter.encode(Long.valueOf(Long.MIN_VALUE)))
          .isEqualTo(Variant.ofLong(Long.MIN_VALUE));
      assertThat(converter.encode(Integer.valueOf(Integer.MAX_VALUE)).asLong())
          .isEqualTo(Integer.MAX_VALUE);
      assertThat(converter.encode(-1).toByteArray())
          .containsExactly(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    }

    @Test
    void bigIntegerInRangeBecomesInt() {
      assertThat(converter.encode(BigInteger.valueOf(Long.MAX_VALUE)))
          .isEqualTo(Variant.ofLong(Long.MAX_VALUE));
      assertThat(converter.encode(BigInteger.valueOf(Long.MIN_VALUE)))
          .isEqualTo(Variant.ofLong(Long.MIN_VALUE));
    }

    @Test
    void bigIntegerOutOfRangeIsRejectedWithAClearMessage() {
      BigInteger tooBig = BigInteger.valueOf(Long.MAX_VALUE).add(BigInteger.ONE);
      assertThatThrownBy(() -> converter.encode(tooBig))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining("9223372036854775808")
          .hasMessageContaining("out of range");
      BigInteger tooSmall = BigInteger.valueOf(Long.MIN_VALUE).subtract(BigInteger.ONE);
      assertThatThrownBy(() -> converter.encode(tooSmall))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining("-9223372036854775809");
    }

    @Test
    void booleansBecomeIntOneOrZero() {
      assertThat(converter.encode(true)).isEqualTo(Variant.ofLong(1));
      assertThat(converter.encode(Boolean.FALSE)).isEqualTo(Variant.ofLong(0));
    }

    @Test
    void textCharsAndEnumsBecomeString() {
      assertThat(converter.encode("héllo")).isEqualTo(Variant.ofString("héllo"));
      assertThat(converter.encode(new StringBuilder("sb"))).isEqualTo(Variant.ofString("sb"));
      assertThat(converter.encode('x')).isEqualTo(Variant.ofString("x"));
      assertThat(converter.encode(Color.GREEN)).isEqualTo(Variant.ofString("GREEN"));
    }

    @Test
    void nullBecomesNone() {
      assertThat(converter.encode(null)).isSameAs(Variant.NONE);
      assertThat(Variant.NONE.type()).isEqualTo(VariantType.NONE);
      assertThat(Variant.NONE.size()).isZero();
    }

    @Test
    void encodingAVariantReturnsItUnchanged() {
      Variant parquet = Variant.of(VariantType.PARQUET, new byte[] {1, 2, 3});
      assertThat(converter.encode(parquet)).isSameAs(parquet);
      Variant json = json("{\"a\": 1}");
      assertThat(converter.encode(json)).isSameAs(json);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // JSON values

  @Nested
  class Json {
    @Test
    void mapRoundTrips() {
      Map<String, Object> map = new LinkedHashMap<>();
      map.put("a", 1);
      map.put("b", List.of(1.5, "x", true));
      map.put("c", null);
      Variant variant = converter.encode(map);
      assertThat(variant.type()).isEqualTo(VariantType.JSON);
      assertThat(text(variant)).isEqualTo("{\"a\":1,\"b\":[1.5,\"x\",true],\"c\":null}");

      Map<String, Object> natural = new LinkedHashMap<>();
      natural.put("a", 1L);
      natural.put("b", List.of(1.5, "x", true));
      natural.put("c", null);
      assertThat(converter.decode(variant)).isEqualTo(natural);
      assertThat((Object) converter.decode(variant, Map.class)).isEqualTo(natural);
    }

    @Test
    void typedMapRoundTripsIntoTheSameType() {
      Map<String, Integer> map = Map.of("one", 1, "two", 2);
      Variant variant = converter.encode(map);
      Object back = converter.decode(variant, new TypeRef<Map<String, Integer>>() {}.type());
      assertThat(back).isEqualTo(map);
      assertThat(((Map<?, ?>) back).get("one")).isExactlyInstanceOf(Integer.class);
    }

    @Test
    void listRoundTrips() {
      List<String> list = List.of("a", "b", "c");
      Variant variant = converter.encode(list);
      assertThat(variant.type()).isEqualTo(VariantType.JSON);
      assertThat(text(variant)).isEqualTo("[\"a\",\"b\",\"c\"]");
      assertThat((Object) converter.decode(variant, List.class)).isEqualTo(list);
      assertThat(converter.decode(variant)).isEqualTo(list);
    }

    @Test
    void primitiveArraysRoundTrip() {
      int[] ints = {3, -1, Integer.MAX_VALUE};
      Variant intVariant = converter.encode(ints);
      assertThat(intVariant.type()).isEqualTo(VariantType.JSON);
      assertThat(text(intVariant)).isEqualTo("[3,-1,2147483647]");
      assertThat(converter.decode(intVariant, int[].class)).containsExactly(ints);
      assertThat(converter.decode(intVariant)).isEqualTo(List.of(3L, -1L, 2147483647L));

      double[] doubles = {0.5, Double.NaN, Double.NEGATIVE_INFINITY};
      Variant doubleVariant = converter.encode(doubles);
      assertThat(doubleVariant.type()).isEqualTo(VariantType.JSON);
      assertThat(text(doubleVariant)).isEqualTo("[0.5,NaN,-Infinity]");
      double[] back = converter.decode(doubleVariant, double[].class);
      assertThat(back).hasSize(3);
      assertThat(back[0]).isEqualTo(0.5);
      assertThat(back[1]).isNaN();
      assertThat(back[2]).isEqualTo(Double.NEGATIVE_INFINITY);
    }

    @Test
    void recordRoundTrips() {
      Point point = new Point(3, -4);
      Variant variant = converter.encode(point);
      assertThat(variant.type()).isEqualTo(VariantType.JSON);
      assertThat(text(variant)).isEqualTo("{\"x\":3,\"y\":-4}");
      assertThat(converter.decode(variant, Point.class)).isEqualTo(point);
      assertThat(converter.decode(variant)).isEqualTo(Map.of("x", 3L, "y", -4L));
    }

    @Test
    void nestedGenericRecordRoundTrips() {
      Labelled labelled =
          new Labelled("l", List.of(new Point(1, 2), new Point(3, 4)), Map.of("w", 0.25));
      Variant variant = converter.encode(labelled);
      assertThat(converter.decode(variant, Labelled.class)).isEqualTo(labelled);
    }

    @Test
    void pojoRoundTrips() {
      Bean bean = new Bean("b", 7, List.of("t1", "t2"));
      Variant variant = converter.encode(bean);
      assertThat(variant.type()).isEqualTo(VariantType.JSON);
      assertThat(converter.decode(variant))
          .isEqualTo(Map.of("name", "b", "count", 7L, "tags", List.of("t1", "t2")));
      assertThat(converter.decode(variant, Bean.class)).isEqualTo(bean);
    }

    @Test
    void jacksonTreeRoundTrips() {
      ObjectNode node = JsonNodeFactory.instance.objectNode();
      node.put("n", 1).put("s", "x").putArray("a").add(1.5).add(true);
      Variant variant = converter.encode(node);
      assertThat(variant.type()).isEqualTo(VariantType.JSON);
      assertThat(text(variant)).isEqualTo("{\"n\":1,\"s\":\"x\",\"a\":[1.5,true]}");
      assertThat(converter.decode(variant, ObjectNode.class)).isEqualTo(node);
      assertThat(converter.decode(variant, JsonNode.class)).isEqualTo(node);
    }

    @Test
    void treeTargetAcceptsIntegersBeyond64Bits() {
      JsonNode node = converter.decode(json("{\"big\": 1180591620717411303424}"), JsonNode.class);
      assertThat(node.get("big").bigIntegerValue()).isEqualTo(BigInteger.TWO.pow(70));
    }

    @Test
    void untypedValuesInsideMapsUseTheNaturalForm() {
      Variant variant =
          json("{\"small\": 1, \"big\": -1180591620717411303424, \"f\": 2.0, \"n\": NaN}");
      Map<?, ?> map = converter.decode(variant, Map.class);
      assertThat(map.get("small")).isExactlyInstanceOf(Long.class).isEqualTo(1L);
      assertThat(map.get("big")).isEqualTo(BigInteger.TWO.pow(70).negate());
      assertThat(map.get("f")).isExactlyInstanceOf(Double.class).isEqualTo(2.0);
      assertThat((Double) map.get("n")).isNaN();
      assertThat(converter.decode(variant, new TypeRef<Map<String, Object>>() {}.type()))
          .isEqualTo(map);
    }

    @Test
    void genericTargetFromAMethodParameter() throws Exception {
      List<Point> points = List.of(new Point(1, 2), new Point(3, 4));
      Variant variant = converter.encode(points);
      Object back = converter.decode(variant, sinkParameter(0));
      assertThat(back).isEqualTo(points);
      assertThat(((List<?>) back).get(0)).isInstanceOf(Point.class);
    }

    @Test
    void genericTargetFromATypeReference() {
      Variant variant = json("{\"a\": [{\"x\": 1, \"y\": 2}], \"b\": []}");
      Object back = converter.decode(variant, new TypeRef<Map<String, List<Point>>>() {}.type());
      assertThat(back).isEqualTo(Map.of("a", List.of(new Point(1, 2)), "b", List.of()));
    }

    @Test
    void extraPropertiesAreIgnoredForRecords() {
      Point point =
          converter.decode(
              json("{\"x\": 1, \"y\": 2, \"z\": 3, \"nested\": {\"q\": []}}"), Point.class);
      assertThat(point).isEqualTo(new Point(1, 2));
    }

    @Test
    void jsonNullIntoAPrimitiveRecordComponentFails() {
      assertThatThrownBy(() -> converter.decode(json("{\"x\": null, \"y\": 2}"), Point.class))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining(Point.class.getName());
    }

    @Test
    void malformedJsonFails() {
      assertThatThrownBy(() -> converter.decode(json("{\"x\": ")))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining("JSON");
      assertThatThrownBy(() -> converter.decode(json("[1, 2]"), Point.class))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining(Point.class.getName());
    }

    @Test
    void jsonFollowedByMoreTextIsMalformed() {
      // Python's json.loads refuses it ("Extra data"): one value, then only white space.
      for (String text : List.of("{\"a\":1} xyz", "{\"a\":1} {\"b\":2}", "[1] 2", "1 2")) {
        assertThatThrownBy(() -> converter.decode(json(text)))
            .as(text)
            .isInstanceOf(ValueConversionException.class)
            .hasMessageContaining("JSON");
        assertThatThrownBy(() -> converter.decode(json(text), JsonNode.class))
            .as(text)
            .isInstanceOf(ValueConversionException.class);
      }
      assertThatThrownBy(() -> converter.decode(json("{\"x\":1,\"y\":2} 3"), Point.class))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining(Point.class.getName());
      assertThat(converter.decode(json(" {\"a\": 1} \n\t "))).isEqualTo(Map.of("a", 1L));
    }

    @Test
    void objectWithoutPropertiesCannotBeEncoded() {
      assertThatThrownBy(() -> converter.encode(new NoProperties()))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining(NoProperties.class.getName())
          .hasMessageContaining("JSON")
          .hasCauseInstanceOf(com.fasterxml.jackson.core.JacksonException.class);
    }

    @Test
    void selfReferencingObjectCannotBeEncoded() {
      assertThatThrownBy(() -> converter.encode(new SelfReferencing()))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining(SelfReferencing.class.getName());
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Decoding into requested types

  @Nested
  class Decoding {
    @Test
    void naturalForms() {
      assertThat(converter.decode(Variant.NONE)).isNull();
      assertThat(converter.decode(Variant.ofDouble(2.5))).isEqualTo(2.5);
      assertThat(converter.decode(Variant.ofLong(7))).isExactlyInstanceOf(Long.class).isEqualTo(7L);
      assertThat(converter.decode(Variant.ofString("s"))).isEqualTo("s");
    }

    @Test
    void variantTargetReturnsTheVariantItself() {
      Variant variant = Variant.ofLong(5);
      assertThat(converter.decode(variant, Variant.class)).isSameAs(variant);
      Variant parquet = Variant.of(VariantType.PARQUET, new byte[] {9});
      assertThat(converter.decode(parquet, Variant.class)).isSameAs(parquet);
    }

    @Test
    void optionalTarget() throws Exception {
      Type optionalPoint = sinkParameter(1);
      assertThat(converter.decode(Variant.NONE, optionalPoint)).isEqualTo(Optional.empty());
      assertThat(converter.decode(json("{\"x\": 1, \"y\": 2}"), optionalPoint))
          .isEqualTo(Optional.of(new Point(1, 2)));

      Type optionalLong = new TypeRef<Optional<Long>>() {}.type();
      assertThat(converter.decode(Variant.NONE, optionalLong)).isEqualTo(Optional.empty());
      assertThat(converter.decode(Variant.ofLong(3), optionalLong)).isEqualTo(Optional.of(3L));
      assertThat((Object) converter.decode(Variant.ofString("s"), Optional.class))
          .isEqualTo(Optional.of("s"));
      assertThat((Object) converter.decode(Variant.NONE, Optional.class))
          .isEqualTo(Optional.empty());
    }

    @Test
    void intIntoNarrowerTypes() {
      assertThat(converter.decode(Variant.ofLong(-5), int.class)).isEqualTo(-5);
      assertThat(converter.decode(Variant.ofLong(-5), Integer.class)).isEqualTo(-5);
      assertThat(converter.decode(Variant.ofLong(300), short.class)).isEqualTo((short) 300);
      assertThat(converter.decode(Variant.ofLong(-128), byte.class)).isEqualTo((byte) -128);
      assertThat(converter.decode(Variant.ofLong(Long.MAX_VALUE), long.class))
          .isEqualTo(Long.MAX_VALUE);
      assertThat(converter.decode(Variant.ofLong(12), BigInteger.class))
          .isEqualTo(BigInteger.valueOf(12));
    }

    @Test
    void intOverflowNamesTheRange() {
      Variant tooBig = Variant.ofLong(1L << 31);
      assertThatThrownBy(() -> converter.decode(tooBig, int.class))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining("2147483648")
          .hasMessageContaining("[-2147483648, 2147483647]");
      assertThatThrownBy(() -> converter.decode(Variant.ofLong(-129), byte.class))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining("[-128, 127]");
      Variant nineBytes = Variant.of(VariantType.INT, new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 1});
      assertThatThrownBy(() -> converter.decode(nineBytes, long.class))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining("18446744073709551616");
    }

    @Test
    void intIntoBoolean() {
      assertThat(converter.decode(Variant.ofLong(0), boolean.class)).isFalse();
      assertThat(converter.decode(Variant.ofLong(1), boolean.class)).isTrue();
      assertThat(converter.decode(Variant.ofLong(1), Boolean.class)).isTrue();
      assertThatThrownBy(() -> converter.decode(Variant.ofLong(2), boolean.class))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining("2")
          .hasMessageContaining("only 0 and 1");
      assertThatThrownBy(() -> converter.decode(Variant.ofLong(-1), Boolean.class))
          .isInstanceOf(ValueConversionException.class);
    }

    @Test
    void intIntoDouble() {
      assertThat(converter.decode(Variant.ofLong(42), double.class)).isEqualTo(42.0);
      assertThat(converter.decode(Variant.ofLong(-3), Double.class)).isEqualTo(-3.0);
    }

    @Test
    void doubleIntoLongFails() {
      assertThatThrownBy(() -> converter.decode(Variant.ofDouble(1.0), long.class))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining("DOUBLE")
          .hasMessageContaining("long");
    }

    @Test
    void doubleIntoFloatAndDouble() {
      assertThat(converter.decode(Variant.ofDouble(0.5), double.class)).isEqualTo(0.5);
      assertThat(converter.decode(Variant.ofDouble(0.5), float.class)).isEqualTo(0.5f);
      assertThat(converter.decode(Variant.ofDouble(-0.0), Double.class)).isEqualTo(-0.0);
    }

    @Test
    void noneIntoPrimitiveFails() {
      assertThatThrownBy(() -> converter.decode(Variant.NONE, int.class))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining("NONE")
          .hasMessageContaining("int");
      assertThatThrownBy(() -> converter.decode(Variant.NONE, double.class))
          .isInstanceOf(ValueConversionException.class);
      assertThat(converter.decode(Variant.NONE, Integer.class)).isNull();
      assertThat(converter.decode(Variant.NONE, String.class)).isNull();
    }

    @Test
    void noneCarryingBytesIsMalformed() {
      Variant noneWithBytes = Variant.of(VariantType.NONE, new byte[] {1, 2});
      assertThatThrownBy(() -> converter.decode(noneWithBytes))
          .isInstanceOf(ValueConversionException.class)
          .hasMessage("a NONE value must be empty, this one has 2 bytes");
      assertThatThrownBy(() -> converter.decode(noneWithBytes, String.class))
          .isInstanceOf(ValueConversionException.class);
      assertThatThrownBy(() -> converter.decode(noneWithBytes, Optional.class))
          .isInstanceOf(ValueConversionException.class);
    }

    @Test
    void stringThatIsNotUtf8IsMalformedNotReplaced() {
      // "h\u00e9" cut after the first byte of the é, then a lone 0xff; Python's decode('utf-8')
      // raises.
      Variant invalid = Variant.of(VariantType.STRING, new byte[] {'h', (byte) 0xc3, 'x'});
      assertThatThrownBy(() -> converter.decode(invalid))
          .isInstanceOf(ValueConversionException.class)
          .hasMessage(
              "a STRING value must be UTF-8, this one is not: byte 1 of 3 (0xc3) is not valid UTF-8");
      assertThatThrownBy(() -> converter.decode(invalid, String.class))
          .isInstanceOf(ValueConversionException.class);
      for (byte[] bytes :
          List.of(
              new byte[] {(byte) 0xff},
              new byte[] {'a', (byte) 0xe2, (byte) 0x82}, // truncated at the end
              new byte[] {(byte) 0xc0, (byte) 0x80}, // overlong NUL
              new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80})) { // an encoded surrogate
        Variant variant = Variant.of(VariantType.STRING, bytes);
        assertThatThrownBy(variant::asString).isInstanceOf(ValueConversionException.class);
        assertThatThrownBy(variant::checkWellFormed).isInstanceOf(ValueConversionException.class);
      }
      // Long texts are checked through a small buffer: the bad byte is found wherever it is.
      String long1 = "\u00e9".repeat(5_000) + "\uD83D\uDE80".repeat(3_000);
      byte[] longBytes = long1.getBytes(StandardCharsets.UTF_8);
      assertThat(Variant.ofString(long1).checkWellFormed().asString()).isEqualTo(long1);
      byte[] broken = java.util.Arrays.copyOf(longBytes, longBytes.length + 1);
      broken[broken.length - 1] = (byte) 0xf0;
      assertThatThrownBy(() -> Variant.of(VariantType.STRING, broken).checkWellFormed())
          .hasMessageContaining("byte " + longBytes.length + " of " + broken.length + " (0xf0)");
      assertThat(converter.decode(Variant.ofString("h\u00e9llo \uD83D\uDE80")))
          .isEqualTo("h\u00e9llo \uD83D\uDE80");
    }

    @Test
    void stringIntoChar() {
      assertThat(converter.decode(Variant.ofString("q"), char.class)).isEqualTo('q');
      assertThat(converter.decode(Variant.ofString("q"), Character.class)).isEqualTo('q');
      assertThatThrownBy(() -> converter.decode(Variant.ofString("qq"), char.class))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining("length 2");
      assertThatThrownBy(() -> converter.decode(Variant.ofString(""), char.class))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining("length 0");
    }

    @Test
    void stringIntoEnum() {
      assertThat(converter.decode(Variant.ofString("RED"), Color.class)).isEqualTo(Color.RED);
      assertThatThrownBy(() -> converter.decode(Variant.ofString("PURPLE"), Color.class))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining("PURPLE")
          .hasMessageContaining(Color.class.getName());
    }

    @Test
    void stringIntoAnUnrelatedTypeFails() {
      assertThatThrownBy(() -> converter.decode(Variant.ofString("1"), int.class))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining("STRING")
          .hasMessageContaining("int");
    }

    @Test
    void parquetPassesThroughOpaquely() {
      byte[] bytes = {'P', 'A', 'R', '1', 0, 'P', 'A', 'R', '1'};
      Variant parquet = Variant.of(VariantType.PARQUET, bytes);
      assertThat(converter.decode(parquet)).isSameAs(parquet);
      assertThat(converter.decode(parquet, Object.class)).isSameAs(parquet);
      assertThat(converter.decode(parquet, byte[].class)).containsExactly(bytes);
      assertThatThrownBy(() -> converter.decode(parquet, String.class))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining("PARQUET")
          .hasMessageContaining("java.lang.String")
          .hasMessageContaining("add a codec for PARQUET");
    }

    @Test
    void arrowPassesThroughOpaquely() {
      Variant arrow = Variant.of(VariantType.ARROW, new byte[] {1});
      assertThat(converter.decode(arrow)).isSameAs(arrow);
      assertThatThrownBy(() -> converter.decode(arrow, Map.class))
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining("add a codec for ARROW");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Variant itself

  @Nested
  class VariantValue {
    @Test
    void asLongRejectsNineByteValuesBeyond64Bits() {
      Variant nineBytes = Variant.of(VariantType.INT, new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 1});
      assertThatThrownBy(nineBytes::asLong)
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining("18446744073709551616")
          .hasMessageContaining("64 bits");
      assertThat(nineBytes.asBigInteger()).isEqualTo(BigInteger.TWO.pow(64));
    }

    @Test
    void asLongAcceptsSignExtendedValuesOfOtherLengths() {
      byte[] minusOne = new byte[9];
      java.util.Arrays.fill(minusOne, (byte) 0xff);
      assertThat(Variant.of(VariantType.INT, minusOne).asLong()).isEqualTo(-1L);
      assertThat(Variant.of(VariantType.INT, new byte[] {(byte) 0x80}).asLong()).isEqualTo(-128L);
      assertThat(Variant.of(VariantType.INT, new byte[0]).asLong()).isZero();
    }

    @Test
    void asDoubleRejectsSevenBytes() {
      Variant sevenBytes = Variant.of(VariantType.DOUBLE, new byte[7]);
      assertThatThrownBy(sevenBytes::asDouble)
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining("8 bytes")
          .hasMessageContaining("7");
      assertThatThrownBy(() -> converter.decode(sevenBytes))
          .isInstanceOf(ValueConversionException.class);
    }

    @Test
    void checkWellFormedChecksTheFixedFormats() {
      for (Variant good :
          List.of(
              Variant.NONE,
              Variant.ofDouble(1.5),
              Variant.ofLong(7),
              Variant.of(VariantType.INT, new byte[] {1}),
              Variant.of(VariantType.INT, new byte[0]),
              Variant.ofString(""),
              Variant.ofString("r\u00e9sum\u00e9"),
              Variant.of(VariantType.JSON, "not checked here".getBytes(StandardCharsets.UTF_8)),
              Variant.of(VariantType.PARQUET, new byte[] {(byte) 0xff}))) {
        assertThat(good.checkWellFormed()).isSameAs(good);
      }
      assertThatThrownBy(() -> Variant.of(VariantType.NONE, new byte[1]).checkWellFormed())
          .isInstanceOf(ValueConversionException.class)
          .hasMessage("a NONE value must be empty, this one has 1 bytes");
      assertThatThrownBy(() -> Variant.of(VariantType.DOUBLE, new byte[4]).checkWellFormed())
          .isInstanceOf(ValueConversionException.class)
          .hasMessage("a DOUBLE value must have 8 bytes, this one has 4");
      assertThatThrownBy(
              () ->
                  Variant.of(VariantType.STRING, new byte[] {'o', 'k', (byte) 0x80})
                      .checkWellFormed())
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining("byte 2 of 3 (0x80)");
    }

    @Test
    void accessorsCheckTheType() {
      assertThatThrownBy(() -> Variant.ofString("1").asLong())
          .isInstanceOf(ValueConversionException.class)
          .hasMessageContaining("INT")
          .hasMessageContaining("STRING");
      assertThatThrownBy(() -> Variant.ofLong(1).asDouble())
          .isInstanceOf(ValueConversionException.class);
      assertThatThrownBy(() -> Variant.ofDouble(1).asString())
          .isInstanceOf(ValueConversionException.class);
    }

    @Test
    void ofCopiesItsInputAndToByteArrayCopiesItsOutput() {
      byte[] bytes = {1, 2, 3};
      Variant variant = Variant.of(VariantType.STRING, bytes);
      bytes[0] = 99;
      assertThat(variant.toByteArray()).containsExactly(1, 2, 3);
      variant.toByteArray()[1] = 99;
      assertThat(variant.toByteArray()).containsExactly(1, 2, 3);
      assertThat(variant.asReadOnlyByteBuffer().isReadOnly()).isTrue();
    }

    @Test
    void equalsAndHashCodeByTypeAndBytes() {
      Variant a = Variant.of(VariantType.STRING, new byte[] {'h', 'i'});
      Variant b = Variant.ofString("hi");
      assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
      assertThat(a).isNotEqualTo(Variant.of(VariantType.JSON, new byte[] {'h', 'i'}));
      assertThat(a).isNotEqualTo(Variant.ofString("ho"));
      assertThat(Variant.ofLong(1)).isNotEqualTo(Variant.of(VariantType.INT, new byte[] {1}));
      assertThat(Variant.of(VariantType.NONE, new byte[0])).isSameAs(Variant.NONE);
      assertThat(a).isNotEqualTo(null).isNotEqualTo("hi");
    }

    @Test
    void factoriesWriteLittleEndian() {
      assertThat(Variant.ofLong(0x0102030405060708L).toByteArray())
          .containsExactly(8, 7, 6, 5, 4, 3, 2, 1);
      assertThat(Variant.ofDouble(1.5).toByteArray()).containsExactly(0, 0, 0, 0, 0, 0, 0xf8, 0x3f);
    }

    @Test
    void typeNumbersMatchTheProtocol() {
      assertThat(VariantType.values())
          .extracting(VariantType::number)
          .containsExactly(0, 1, 2, 3, 4, 5, 6);
      for (VariantType type : VariantType.values()) {
        assertThat(VariantType.forNumber(type.number())).isSameAs(type);
      }
      assertThatThrownBy(() -> VariantType.forNumber(7))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> VariantType.forNumber(-1))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  /** A codec of strings, which the two below encode each in its way. */
  public abstract static class StringTestCodec extends ValueCodec {
    @Override
    public VariantType type() {
      return VariantType.STRING;
    }

    @Override
    public boolean canEncode(Object value) {
      return value instanceof String;
    }

    @Override
    public Object decode(Variant variant, Type target) {
      return variant.asString().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** A codec with state: it counts what it encodes. */
  public static final class CountingCodec extends StringTestCodec {
    int encoded;

    public CountingCodec() {}

    @Override
    public Variant encode(Object value) {
      encoded++;
      return Variant.ofString((String) value);
    }
  }

  /** A codec without state, which it says. */
  public static final class StatelessCodec extends StringTestCodec {
    public StatelessCodec() {}

    @Override
    public Variant encode(Object value) {
      return Variant.ofString(((String) value).toUpperCase(java.util.Locale.ROOT));
    }

    @Override
    protected boolean isStateless() {
      return true;
    }
  }

  @Test
  void eachConverterUsesItsOwnInstanceOfACodecWithState() {
    CountingCodec first = new CountingCodec();
    CountingCodec second = new CountingCodec();
    ValueConverter.of(List.of(first)).encode("a");
    ValueConverter withSecond = ValueConverter.of(List.of(second));
    withSecond.encode("b");
    withSecond.encode("c");
    // Its caches (Jackson's, say) are its converter's alone, and die with it.
    assertThat(first.encoded).isEqualTo(1);
    assertThat(second.encoded).isEqualTo(2);
  }

  @Test
  void convertersShareAStatelessCodecAndConvertAsItsOwnInstanceWould() {
    ValueConverter first = ValueConverter.of(List.of(new StatelessCodec()));
    ValueConverter second = ValueConverter.of(List.of(new StatelessCodec()));
    for (ValueConverter converter : List.of(first, second)) {
      assertThat(converter.encode("shared")).isEqualTo(Variant.ofString("SHARED"));
      assertThat(converter.decode(Variant.ofString("SHARED"), String.class)).isEqualTo("shared");
      assertThat(converter.codecs()).singleElement().isInstanceOf(StatelessCodec.class);
    }
    assertThat(first.codecs().get(0)).as("one instance for both").isSameAs(second.codecs().get(0));
    assertThat(ValueConverter.create().encode(2.5)).isEqualTo(Variant.ofDouble(2.5));
    assertThat(ValueConverter.create().decode(Variant.ofLong(7), int.class)).isEqualTo(7);
  }
}
