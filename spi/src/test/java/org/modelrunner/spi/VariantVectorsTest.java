package org.modelrunner.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.Executable;

/**
 * Checks the converter against the byte strings the Python implementation produces ({@code
 * shared/vectors/variants.json}, PROTOCOL §2), one dynamic test per vector.
 */
class VariantVectorsTest {
  private static final String PROPERTY = "modelrunner.vectors";
  private static final String RELATIVE = "shared/vectors/variants.json";
  private static final BigInteger TWO_POW_70 = BigInteger.TWO.pow(70);

  /** An independent JSON reader: only used to build the expected values, through the tree model. */
  private static final JsonMapper INDEPENDENT =
      JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

  private final ValueConverter converter = ValueConverter.create();

  @TestFactory
  Stream<DynamicNode> vectors() throws IOException {
    JsonNode root = INDEPENDENT.readTree(vectorsFile().toFile());
    JsonNode variants = root.path("variants");
    JsonNode decodeOnly = root.path("decode_only");
    assertThat(variants.isArray()).as("\"variants\" is an array").isTrue();
    assertThat(decodeOnly.isArray()).as("\"decode_only\" is an array").isTrue();
    assertThat(variants.size()).isGreaterThanOrEqualTo(30);
    assertThat(decodeOnly.size()).isGreaterThanOrEqualTo(5);

    List<DynamicNode> variantTests = new ArrayList<>();
    for (JsonNode vector : variants) {
      String name = vector.get("name").asText();
      variantTests.add(
          DynamicTest.dynamicTest(name, () -> named(name, () -> checkVariant(vector))));
    }
    List<DynamicNode> decodeOnlyTests = new ArrayList<>();
    for (JsonNode vector : decodeOnly) {
      String name = vector.get("name").asText();
      decodeOnlyTests.add(
          DynamicTest.dynamicTest(name, () -> named(name, () -> checkDecodeOnly(vector))));
    }
    return Stream.of(
        DynamicContainer.dynamicContainer("variants", variantTests),
        DynamicContainer.dynamicContainer("decode_only", decodeOnlyTests));
  }

  /** Runs a check so that its failure names the vector (surefire reports show only indexes). */
  private static void named(String name, Executable check) throws Throwable {
    try {
      check.execute();
    } catch (AssertionError | RuntimeException e) {
      throw new AssertionError("vector " + name + ": " + e, e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Locating the file

  static Path vectorsFile() {
    String property = System.getProperty(PROPERTY);
    if (property != null && !property.isBlank()) {
      Path path = Path.of(property);
      if (Files.isRegularFile(path)) {
        return path;
      }
    }
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null) {
      Path candidate = dir.resolve(RELATIVE);
      if (Files.isRegularFile(candidate)) {
        return candidate;
      }
      dir = dir.getParent();
    }
    return fail(
        "Cannot find the test vectors: system property %s is %s, and no %s was found in %s or above",
        PROPERTY,
        property == null ? "unset" : "'" + property + "' (no such file)",
        RELATIVE,
        Path.of("").toAbsolutePath());
  }

  // ---------------------------------------------------------------------------------------------
  // "variants"

  private void checkVariant(JsonNode vector) throws IOException {
    String name = vector.get("name").asText();
    VariantType type = VariantType.valueOf(vector.get("type").asText());
    byte[] bytes = HexFormat.of().parseHex(vector.get("hex").asText());
    Variant wire = Variant.of(type, bytes);
    if (type == VariantType.JSON) {
      checkJson(name, vector, wire, bytes);
      return;
    }

    Object value = javaValue(vector.get("value"), type);

    // Encode: exactly the bytes Python writes.
    Variant encoded = converter.encode(value);
    assertThat(encoded.type()).as("type of encode(%s)", value).isEqualTo(type);
    assertThat(encoded.toByteArray()).as("bytes of encode(%s)", value).containsExactly(bytes);
    assertThat(encoded).isEqualTo(wire);

    // Decode into the natural form.
    Object natural = converter.decode(wire);
    switch (type) {
      case NONE -> assertThat(natural).isNull();
      case DOUBLE -> {
        assertThat(natural).isInstanceOf(Double.class);
        double expected = (Double) value;
        double actual = (Double) natural;
        assertThat(Double.compare(actual, expected))
            .as("decoded %s vs %s", actual, expected)
            .isZero();
        assertThat(Double.doubleToRawLongBits(actual))
            .as("bits of decoded %s", actual)
            .isEqualTo(Double.doubleToRawLongBits(expected));
        assertThat(Double.compare(converter.decode(wire, double.class), expected)).isZero();
        assertThat(Double.compare(wire.asDouble(), expected)).isZero();
      }
      case INT -> {
        assertThat(natural).isExactlyInstanceOf(Long.class);
        if (value instanceof Boolean bool) {
          assertThat(natural).isEqualTo(bool ? 1L : 0L);
          assertThat(converter.decode(wire, boolean.class)).isEqualTo(bool);
          assertThat(converter.decode(wire, Boolean.class)).isEqualTo(bool);
        } else {
          assertThat(natural).isEqualTo(value);
          assertThat(converter.decode(wire, long.class)).isEqualTo(value);
          assertThat(wire.asLong()).isEqualTo(value);
          assertThat(wire.asBigInteger()).isEqualTo(BigInteger.valueOf((Long) value));
        }
      }
      case STRING -> {
        assertThat(natural).isExactlyInstanceOf(String.class).isEqualTo(value);
        assertThat(converter.decode(wire, String.class)).isEqualTo(value);
        assertThat(wire.asString()).isEqualTo(value);
      }
      default -> fail("unexpected vector type %s in %s", type, name);
    }
  }

  /** Builds the Java value of a vector's "value". */
  private static Object javaValue(JsonNode value, VariantType type) {
    if (value == null || value.isNull()) {
      assertThat(type).as("only NONE vectors have a null value").isEqualTo(VariantType.NONE);
      return null;
    }
    if (value.isTextual()) {
      return value.asText();
    }
    if (value.has("float")) {
      String repr = value.get("float").asText();
      return switch (repr) {
        case "NaN", "nan" -> Double.NaN;
        case "Infinity", "inf" -> Double.POSITIVE_INFINITY;
        case "-Infinity", "-inf" -> Double.NEGATIVE_INFINITY;
        default -> Double.parseDouble(repr);
      };
    }
    if (value.has("int")) {
      return Long.parseLong(value.get("int").asText());
    }
    if (value.has("bool")) {
      assertThat(value.get("bool").isBoolean()).isTrue();
      return value.get("bool").booleanValue();
    }
    return fail("unknown vector value %s", value);
  }

  // ---------------------------------------------------------------------------------------------
  // JSON

  private static final Pattern QUOTED_NON_FINITE = Pattern.compile("\"(NaN|-?Infinity)\"");

  private void checkJson(String name, JsonNode vector, Variant wire, byte[] bytes)
      throws IOException {
    String text = vector.get("text").asText();
    assertThat(new String(bytes, StandardCharsets.UTF_8))
        .as("the vector's hex is its text")
        .isEqualTo(text);

    Object expected = natural(INDEPENDENT.readTree(text));
    Object decoded = converter.decode(wire);
    assertThat(canonical(decoded)).as("decode of %s", text).isEqualTo(canonical(expected));

    // Round trip: our encoding may differ in spacing but must decode to the same value.
    Variant reencoded = converter.encode(decoded);
    assertThat(reencoded.type()).isEqualTo(VariantType.JSON);
    Object again = converter.decode(reencoded);
    assertThat(canonical(again))
        .as("decode(encode(decode(%s)))", text)
        .isEqualTo(canonical(expected));
    String reencodedText = new String(reencoded.toByteArray(), StandardCharsets.UTF_8);

    switch (name) {
      case "json_bigint" -> {
        assertThat(decoded)
            .asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.LIST)
            .containsExactly(TWO_POW_70, TWO_POW_70.negate());
        assertThat((List<?>) decoded)
            .allSatisfy(e -> assertThat(e).isExactlyInstanceOf(BigInteger.class));
        assertThat(reencodedText.replace(" ", ""))
            .isEqualTo("[1180591620717411303424,-1180591620717411303424]");
      }
      case "json_non_finite" -> {
        assertThat(decoded).isInstanceOf(Map.class);
        Map<?, ?> map = (Map<?, ?>) decoded;
        assertThat(map.get("nan")).isInstanceOf(Double.class);
        assertThat((Double) map.get("nan")).isNaN();
        assertThat(map.get("inf")).isEqualTo(Double.POSITIVE_INFINITY);
        assertThat(map.get("ninf")).isEqualTo(Double.NEGATIVE_INFINITY);
        assertThat(reencodedText)
            .containsPattern(":\\s*NaN\\b")
            .containsPattern(":\\s*Infinity\\b")
            .containsPattern(":\\s*-Infinity\\b");
        assertThat(QUOTED_NON_FINITE.matcher(reencodedText).find())
            .as("non-finite numbers are bare tokens, not strings, in %s", reencodedText)
            .isFalse();
      }
      case "json_int_keys" -> {
        assertThat(decoded).isInstanceOf(Map.class);
        assertThat(List.<Object>copyOf(((Map<?, ?>) decoded).keySet()))
            .allSatisfy(k -> assertThat(k).isExactlyInstanceOf(String.class))
            .containsExactlyInAnyOrder("1", "2");
        assertThat(((Map<?, ?>) decoded).get("1")).isEqualTo("one");
      }
      case "json_flat" -> {
        Map<?, ?> map = (Map<?, ?>) decoded;
        assertThat(map.get("falcon_id")).isExactlyInstanceOf(Long.class).isEqualTo(1L);
        assertThat(map.get("time")).isExactlyInstanceOf(Double.class).isEqualTo(230.96231205799998);
      }
      case "json_nested" -> {
        List<?> a = (List<?>) ((Map<?, ?>) decoded).get("a");
        assertThat(a.get(0)).isExactlyInstanceOf(Long.class).isEqualTo(1L);
        assertThat(a.get(1)).isExactlyInstanceOf(Double.class).isEqualTo(2.0);
        assertThat(a.get(2)).isNull();
        assertThat(List.<Object>copyOf(a.subList(3, 6))).containsExactly(true, false, "x");
      }
      case "json_list_top" ->
          assertThat(decoded).isEqualTo(List.of(Map.of("x", 1L), Map.of("x", 2L)));
      case "json_unicode" -> assertThat(decoded).isEqualTo(Map.of("é", "ü", "emoji", "🚀"));
      default -> {
        // the generic checks above are enough
      }
    }
  }

  /**
   * Converts a Jackson tree into the natural Java form the converter promises: Map (String keys),
   * List, String, Long (BigInteger beyond 64 bits), Double, Boolean, null.
   */
  private static Object natural(JsonNode node) {
    if (node.isObject()) {
      Map<String, Object> map = new LinkedHashMap<>();
      for (Map.Entry<String, JsonNode> field : node.properties()) {
        map.put(field.getKey(), natural(field.getValue()));
      }
      return map;
    }
    if (node.isArray()) {
      List<Object> list = new ArrayList<>();
      node.forEach(element -> list.add(natural(element)));
      return list;
    }
    if (node.isNull()) {
      return null;
    }
    if (node.isBoolean()) {
      return node.booleanValue();
    }
    if (node.isTextual()) {
      return node.textValue();
    }
    if (node.isIntegralNumber()) {
      BigInteger big = node.bigIntegerValue();
      return big.bitLength() <= 63 ? (Object) big.longValue() : big;
    }
    if (node.isNumber()) {
      return node.doubleValue();
    }
    return fail("unexpected JSON node %s", node);
  }

  /**
   * A double compared by its (NaN-canonical) bits, so that NaN equals NaN and -0.0 differs from
   * 0.0.
   */
  private record CanonicalDouble(long bits) {
    @Override
    public String toString() {
      return Double.longBitsToDouble(bits) + "d";
    }
  }

  /**
   * Makes natural values comparable with equals: doubles by bits, the class of every number kept.
   */
  private static Object canonical(Object value) {
    if (value instanceof Map<?, ?> map) {
      Map<Object, Object> out = new LinkedHashMap<>();
      map.forEach((k, v) -> out.put(canonical(k), canonical(v)));
      return out;
    }
    if (value instanceof List<?> list) {
      List<Object> out = new ArrayList<>();
      list.forEach(e -> out.add(canonical(e)));
      return out;
    }
    if (value instanceof Double d) {
      return new CanonicalDouble(Double.doubleToLongBits(d));
    }
    if (value == null
        || value instanceof String
        || value instanceof Boolean
        || value instanceof Long
        || value instanceof BigInteger) {
      return value;
    }
    return fail("not a natural JSON value: %s (%s)", value, value.getClass().getName());
  }

  // ---------------------------------------------------------------------------------------------
  // "decode_only"

  private void checkDecodeOnly(JsonNode vector) {
    VariantType type = VariantType.valueOf(vector.get("type").asText());
    assertThat(type).isEqualTo(VariantType.INT);
    byte[] bytes = HexFormat.of().parseHex(vector.get("hex").asText());
    BigInteger expected = new BigInteger(vector.get("decoded").asText());
    Variant variant = Variant.of(type, bytes);

    Object natural = converter.decode(variant);
    if (expected.bitLength() <= 63) {
      assertThat(natural).isExactlyInstanceOf(Long.class).isEqualTo(expected.longValue());
      assertThat(variant.asLong()).isEqualTo(expected.longValue());
    } else {
      assertThat(natural).isExactlyInstanceOf(BigInteger.class).isEqualTo(expected);
    }
    assertThat(variant.asBigInteger()).isEqualTo(expected);
    assertThat(converter.decode(variant, BigInteger.class)).isEqualTo(expected);

    if ("int_nine_bytes_positive".equals(vector.get("name").asText())) {
      assertThat(natural).isEqualTo(new BigInteger("18446744073709551616"));
    }
  }
}
