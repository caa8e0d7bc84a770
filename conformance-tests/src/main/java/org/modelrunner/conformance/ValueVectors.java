package org.modelrunner.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.modelrunner.spi.Variant;
import org.modelrunner.spi.VariantType;

/**
 * The values the round-trip rule sends: every entry of the shared vectors file made with the Python
 * implementation ({@code variants} and {@code decode_only}), exactly as its bytes are given, plus a
 * few of the suite's own (opaque PARQUET and ARROW bytes, every byte value).
 *
 * <p>The file is found, in order: at the path of the system property {@value #PROPERTY}; in the
 * suite's jar (the build copies it there); in {@code shared/vectors/variants.json} in the working
 * folder or a folder above it.
 */
final class ValueVectors {
  static final String PROPERTY = "modelrunner.vectors";
  private static final String RESOURCE = "/org/modelrunner/conformance/vectors/variants.json";
  private static final String RELATIVE = "shared/vectors/variants.json";

  /** One value to send, with a name for failure messages. */
  record Vector(String name, Variant value) {}

  private ValueVectors() {}

  /** Returns every vector to send. */
  static List<Vector> load() {
    JsonNode root = read();
    List<Vector> vectors = new ArrayList<>();
    for (String section : List.of("variants", "decode_only")) {
      JsonNode entries = root.path(section);
      if (!entries.isArray() || entries.isEmpty()) {
        throw new IllegalStateException("The vectors file has no \"" + section + "\" entries");
      }
      for (JsonNode entry : entries) {
        VariantType type = VariantType.valueOf(entry.path("type").asText());
        byte[] bytes = HexFormat.of().parseHex(entry.path("hex").asText());
        vectors.add(
            new Vector(section + "/" + entry.path("name").asText(), Variant.of(type, bytes)));
      }
    }
    byte[] everyByte = new byte[256];
    for (int i = 0; i < everyByte.length; i++) {
      everyByte[i] = (byte) i;
    }
    vectors.add(
        new Vector("suite/parquet_opaque_every_byte", Variant.of(VariantType.PARQUET, everyByte)));
    vectors.add(
        new Vector(
            "suite/arrow_opaque", Variant.of(VariantType.ARROW, new byte[] {1, 0, -1, 127})));
    vectors.add(new Vector("suite/parquet_empty", Variant.of(VariantType.PARQUET, new byte[0])));
    vectors.add(
        new Vector(
            "suite/json_empty_string",
            Variant.of(
                VariantType.JSON, "\"\"".getBytes(java.nio.charset.StandardCharsets.UTF_8))));
    return vectors;
  }

  private static JsonNode read() {
    JsonMapper mapper = JsonMapper.builder().build();
    try {
      String property = System.getProperty(PROPERTY);
      if (property != null && !property.isBlank()) {
        Path path = Path.of(property);
        if (Files.isRegularFile(path)) {
          return mapper.readTree(path.toFile());
        }
      }
      try (InputStream in = ValueVectors.class.getResourceAsStream(RESOURCE)) {
        if (in != null) {
          return mapper.readTree(in);
        }
      }
      for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
        Path candidate = dir.resolve(RELATIVE);
        if (Files.isRegularFile(candidate)) {
          return mapper.readTree(candidate.toFile());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read the value vectors", e);
    }
    throw new IllegalStateException(
        "Cannot find the value vectors: set the system property "
            + PROPERTY
            + " to the path of variants.json, or put the suite's jar (which contains them) on the class path");
  }
}
