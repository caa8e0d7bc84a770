package org.modelrunner.loader;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.modelrunner.spi.Argument;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.ValueConverter;
import org.modelrunner.spi.Variant;
import org.modelrunner.spi.VariantType;

/**
 * How setup and call bind arguments, choose overloads, encode results and manage the instance
 * (PROTOCOL §1.5 and the rules on {@link HostedModel}).
 */
class CallRulesTest {
  static final String BASE = "org.modelrunner.loader.fixtures.TrackerBase";
  static final String PREFIX = "The model raised an exception: ";

  @TempDir static Path shared;

  /** The model with most methods, compiled with -parameters. */
  static Path rules;

  /** The same kind of methods compiled without -parameters. */
  static Path noNames;

  /** {@code Model(String name, int horizon)}. */
  static Path constructor;

  /** Overloaded constructors {@code Model()} and {@code Model(String name)}. */
  static Path constructors;

  /** An AutoCloseable model that writes a file into the folder it is given when closed. */
  static Path closeable;

  @BeforeAll
  static void compileSubmissions() throws IOException {
    Path classes =
        Sources.create()
            .add(
                "com.example.cr.rules.Model",
                """
                package com.example.cr.rules;
                import java.util.ArrayList;
                import java.util.LinkedHashMap;
                import java.util.List;
                import java.util.Map;
                import java.util.Optional;
                public class Model extends org.modelrunner.loader.fixtures.TrackerBase {
                  private final boolean constructedWithOwnLoader =
                      Thread.currentThread().getContextClassLoader() == Model.class.getClassLoader();
                  private int ticks;
                  public void tick(Object data) { ticks++; }
                  public Object predict() { return ticks; }
                  public int ticks() { return ticks; }

                  public String join(String x, String y, String z) { return x + y + z; }
                  public String pair(String a, String b) { return a + "|" + String.valueOf(b); }
                  public String opt(String a, Optional<String> b) { return a + "|" + b; }
                  public int sum(int a, int b) { return a + b; }

                  public String obs(Obs obs) { return obs.toString(); }
                  public String natural(Object value) {
                    StringBuilder out = new StringBuilder();
                    describe(value, out);
                    return out.toString();
                  }
                  private static void describe(Object value, StringBuilder out) {
                    if (value instanceof Map<?, ?> map) {
                      out.append("Map{");
                      String sep = "";
                      for (Map.Entry<?, ?> e : map.entrySet()) {
                        out.append(sep).append(e.getKey()).append('=');
                        describe(e.getValue(), out);
                        sep = ",";
                      }
                      out.append('}');
                    } else if (value instanceof List<?> list) {
                      out.append("List[");
                      String sep = "";
                      for (Object e : list) {
                        out.append(sep);
                        describe(e, out);
                        sep = ",";
                      }
                      out.append(']');
                    } else {
                      out.append(value == null ? "null" : value.getClass().getSimpleName());
                    }
                  }
                  public String many(List<Obs> list) {
                    StringBuilder out = new StringBuilder();
                    for (Obs o : list) { out.append(o.getClass().getSimpleName()).append(':').append(o).append(';'); }
                    return out.toString();
                  }

                  public long frameBytes(byte[] frame) { return frame.length; }
                  public org.modelrunner.spi.Variant frameBack(org.modelrunner.spi.Variant frame) { return frame; }
                  public String asInt(int v) { return "int:" + v; }
                  public String asLong(long v) { return "long:" + v; }
                  public String asDouble(double v) { return "double:" + v; }
                  public String asString(String v) { return "string:" + v; }
                  public String isNull(String v) { return "null:" + (v == null); }

                  public double half() { return 0.5; }
                  public int seven() { return 7; }
                  public boolean yes() { return true; }
                  public boolean no() { return false; }
                  public String text() { return "text"; }
                  public Map<String, Object> map() {
                    Map<String, Object> map = new LinkedHashMap<>();
                    map.put("a", 1);
                    map.put("b", List.of(1.5, "x"));
                    map.put("c", null);
                    return map;
                  }
                  public List<Object> list() {
                    List<Object> list = new ArrayList<>();
                    list.add(1);
                    list.add("two");
                    list.add(3.0);
                    list.add(Map.of("k", true));
                    return list;
                  }
                  public Obs record() { return new Obs(1.5, 7); }
                  public Map<String, Object> nonFinite() {
                    Map<String, Object> map = new LinkedHashMap<>();
                    map.put("x", Double.NaN);
                    map.put("inf", Double.POSITIVE_INFINITY);
                    map.put("neg", Double.NEGATIVE_INFINITY);
                    return map;
                  }

                  public String score(int a) { return "one:" + a; }
                  public String score(int a, int b) { return "two:" + a + "," + b; }
                  public String label(String s) { return "s:" + s; }
                  public String label(int i) { return "i:" + i; }

                  public boolean contextLoader() {
                    return Thread.currentThread().getContextClassLoader() == getClass().getClassLoader();
                  }
                  public boolean constructedWithOwnLoader() { return constructedWithOwnLoader; }
                  public String varargs(String... parts) { return String.join("+", parts); }
                }
                """)
            .add(
                "com.example.cr.rules.Obs",
                """
                package com.example.cr.rules;
                public record Obs(double x, long id) {}
                """)
            .add(
                "com.example.cr.ctor.Model",
                """
                package com.example.cr.ctor;
                public class Model extends org.modelrunner.loader.fixtures.TrackerBase {
                  private final String name;
                  private final int horizon;
                  public Model(String name, int horizon) { this.name = name; this.horizon = horizon; }
                  public void tick(Object data) {}
                  public Object predict() { return name; }
                  public String describe() { return name + ":" + horizon; }
                }
                """)
            .add(
                "com.example.cr.ctors.Model",
                """
                package com.example.cr.ctors;
                public class Model extends org.modelrunner.loader.fixtures.TrackerBase {
                  private final String name;
                  public Model() { this("default"); }
                  public Model(String name) { this.name = name; }
                  public void tick(Object data) {}
                  public Object predict() { return name; }
                  public String name() { return name; }
                }
                """)
            .add(
                "com.example.cr.closeable.Model",
                """
                package com.example.cr.closeable;
                import java.nio.file.Files;
                import java.nio.file.Path;
                import java.nio.file.StandardOpenOption;
                public class Model extends org.modelrunner.loader.fixtures.TrackerBase implements AutoCloseable {
                  private final Path dir;
                  private final String name;
                  public Model(String dir, String name) { this.dir = Path.of(dir); this.name = name; }
                  public void tick(Object data) {}
                  public Object predict() { return name; }
                  @Override public void close() throws Exception {
                    Files.writeString(dir.resolve("closed"), name + ";",
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                  }
                }
                """)
            .compileTo(shared.resolve("classes"));
    rules =
        HostedModelStatusTest.extract(
            classes, "com.example.cr.rules", shared.resolve("subs/rules"));
    constructor =
        HostedModelStatusTest.extract(classes, "com.example.cr.ctor", shared.resolve("subs/ctor"));
    constructors =
        HostedModelStatusTest.extract(
            classes, "com.example.cr.ctors", shared.resolve("subs/ctors"));
    closeable =
        HostedModelStatusTest.extract(
            classes, "com.example.cr.closeable", shared.resolve("subs/closeable"));

    noNames =
        Sources.create()
            .add(
                "com.example.cr.nonames.Model",
                """
                package com.example.cr.nonames;
                public class Model extends org.modelrunner.loader.fixtures.TrackerBase {
                  public void tick(Object data) {}
                  public Object predict() { return null; }
                  public String pair(String a, String b) { return a + "|" + String.valueOf(b); }
                  public int sum(int a, int b) { return a + b; }
                }
                """)
            .withoutParameterNames()
            .compileTo(shared.resolve("subs/nonames"));
  }

  // --- helpers ---------------------------------------------------------------------------------

  @Test
  void aDataFrameFromAPythonCoordinatorArrivesAsItsParquetBytes() {
    // The Python client sends a pandas DataFrame as PARQUET: the bytes of a Parquet file (its magic
    // "PAR1"
    // at both ends). A Java model takes them as byte[] (or as the Variant) and reads them with a
    // Parquet
    // library of its choice; a Variant it returns goes back as it is.
    byte[] parquet = "PAR1 a parquet file's bytes PAR1".getBytes(StandardCharsets.US_ASCII);
    Variant frame = Variant.of(VariantType.PARQUET, parquet);
    try (HostedModel model = open(rules)) {
      Variant size = success(model, "frameBytes", Arguments.builder().add(frame).build());
      assertThat(size.asLong()).isEqualTo(parquet.length);
      Variant back = success(model, "frameBack", Arguments.builder().add(frame).build());
      assertThat(back.type()).isEqualTo(VariantType.PARQUET);
      assertThat(back.toByteArray()).isEqualTo(parquet);
    }
  }

  @Test
  void malformedPendingArgumentsAreAnsweredInTheProtocolsOrder() {
    HostedModel.PendingArguments malformed =
        () -> {
          throw new IllegalArgumentException("unknown VariantType 99");
        };
    try (HostedModel model = HostedModel.open(rules)) {
      // Before setup: FAILED_PRECONDITION first, the arguments are not even decoded.
      assertThat(model.call("ticks", malformed).status().code()).isEqualTo("FAILED_PRECONDITION");
      Reply setup = model.setup(BASE, malformed);
      assertThat(setup.status().code()).isEqualTo("SETUP_FAILED");
      assertThat(setup.status().message()).isEqualTo("Malformed argument: unknown VariantType 99");
      assertThat(model.setup(" ", malformed).status().code()).isEqualTo("INVALID_ARGUMENT");
      model.setup(BASE, Arguments.none());
      assertThat(model.setup(BASE, malformed).status().message())
          .isEqualTo("Instance already exists");
      assertThat(model.call("", malformed).status().code()).isEqualTo("INVALID_ARGUMENT");
      // The method is looked up before the arguments are decoded, as the Python runner does.
      assertThat(model.call("no_such_method", malformed).status().code())
          .isEqualTo("BAD_IMPLEMENTATION");
      Reply call = model.call("ticks", malformed);
      assertThat(call.status().code()).isEqualTo("MODEL_FAILED");
      assertThat(call.status().message())
          .isEqualTo(PREFIX + "Malformed argument: unknown VariantType 99");
    }
  }

  private static HostedModel open(Path submission) {
    HostedModel model = HostedModel.open(submission);
    Reply reply = model.setup(BASE, Arguments.none());
    assertThat(reply.status().code()).as("%s", reply).isEqualTo("SUCCESS");
    assertThat(reply.status().message()).isEqualTo("Instance created successfully");
    return model;
  }

  private static Variant s(String value) {
    return Variant.ofString(value);
  }

  private static Variant json(String text) {
    return Variant.of(VariantType.JSON, text.getBytes(StandardCharsets.UTF_8));
  }

  /** Calls and asserts SUCCESS; returns the value. */
  private static Variant success(HostedModel model, String method, Arguments arguments) {
    Reply reply = model.call(method, arguments);
    assertThat(reply.status().code()).as("%s", reply).isEqualTo("SUCCESS");
    assertThat(reply.status().message()).isEqualTo("");
    return reply.value().orElseThrow();
  }

  private static String successString(HostedModel model, String method, Arguments arguments) {
    Variant value = success(model, method, arguments);
    assertThat(value.type()).isEqualTo(VariantType.STRING);
    return value.asString();
  }

  /** Calls and asserts MODEL_FAILED; returns the message. */
  private static String modelFailed(HostedModel model, String method, Arguments arguments) {
    Reply reply = model.call(method, arguments);
    assertThat(reply.status().code()).as("%s", reply).isEqualTo("MODEL_FAILED");
    assertThat(reply.value()).isEmpty();
    assertThat(reply.status().message()).startsWith(PREFIX);
    return reply.status().message();
  }

  // --- positional arguments --------------------------------------------------------------------

  @Test
  void positionalArgumentsAreSortedByPosition() {
    try (HostedModel model = open(rules)) {
      Arguments arguments =
          Arguments.of(
              List.of(new Argument(3, s("c")), new Argument(1, s("a")), new Argument(2, s("b"))),
              List.of());
      assertThat(successString(model, "join", arguments)).isEqualTo("abc");
    }
  }

  @Test
  void positionsMayHaveGaps() {
    try (HostedModel model = open(rules)) {
      Arguments arguments =
          Arguments.of(List.of(new Argument(20, s("y")), new Argument(10, s("x"))), List.of());
      assertThat(successString(model, "pair", arguments)).isEqualTo("x|y");
    }
  }

  @Test
  void tiesKeepTheirOrderAndPositionsAreUnsigned() {
    try (HostedModel model = open(rules)) {
      Arguments ties =
          Arguments.of(
              List.of(new Argument(1, s("a")), new Argument(1, s("b")), new Argument(0, s("z"))),
              List.of());
      assertThat(successString(model, "join", ties)).isEqualTo("zab");

      // uint32 on the wire: 0xFFFFFFFF is the largest position, not -1.
      Arguments unsigned =
          Arguments.of(
              List.of(new Argument(-1, s("z")), new Argument(1, s("a")), new Argument(2, s("b"))),
              List.of());
      assertThat(successString(model, "join", unsigned)).isEqualTo("abz");
    }
  }

  // --- keyword arguments -----------------------------------------------------------------------

  @Test
  void keywordArgumentsFillNamedParameters() {
    try (HostedModel model = open(rules)) {
      assertThat(
              successString(
                  model, "pair", Arguments.builder().add(s("a")).add("b", s("b")).build()))
          .isEqualTo("a|b");
      assertThat(
              successString(
                  model, "pair", Arguments.builder().add("b", s("B")).add("a", s("A")).build()))
          .isEqualTo("A|B");
    }
  }

  @Test
  void keywordArgumentsBindToTheParametersOfTheMethodCalledEachTime() {
    try (HostedModel model = open(rules)) {
      for (int i = 0; i < 3; i++) {
        assertThat(
                successString(
                    model, "pair", Arguments.builder().add("b", s("B")).add("a", s("A")).build()))
            .isEqualTo("A|B");
        assertThat(
                successString(
                    model,
                    "join",
                    Arguments.builder().add("z", s("3")).add("y", s("2")).add("x", s("1")).build()))
            .isEqualTo("123");
      }
    }
  }

  @Test
  void keywordForAParameterFilledByPositionIsDropped() {
    try (HostedModel model = open(rules)) {
      Arguments arguments =
          Arguments.builder().add(s("a")).add("a", s("ignored")).add("b", s("b")).build();
      assertThat(successString(model, "pair", arguments)).isEqualTo("a|b");

      Arguments both = Arguments.builder().add(s("a")).add(s("b")).add("b", s("ignored")).build();
      assertThat(successString(model, "pair", both)).isEqualTo("a|b");
    }
  }

  @Test
  void unknownKeywordIsDroppedInACall() {
    try (HostedModel model = open(rules)) {
      Arguments arguments =
          Arguments.builder().add(s("a")).add(s("b")).add("extra", Variant.ofLong(1)).build();
      assertThat(successString(model, "pair", arguments)).isEqualTo("a|b");
      // Dropped again (logged only once), still a success.
      assertThat(successString(model, "pair", arguments)).isEqualTo("a|b");
      assertThat(success(model, "ticks", Arguments.builder().add("extra", s("x")).build()))
          .isEqualTo(Variant.ofLong(0));
    }
  }

  @Test
  void withoutParameterNamesKeywordsAreDropped() {
    try (HostedModel model = open(noNames)) {
      assertThat(
              successString(
                  model, "pair", Arguments.builder().add(s("a")).add("b", s("b")).build()))
          .isEqualTo("a|null");
      assertThat(successString(model, "pair", Arguments.builder().add(s("a")).add(s("b")).build()))
          .isEqualTo("a|b");
      assertThat(
              modelFailed(
                  model,
                  "sum",
                  Arguments.builder().add(Variant.ofLong(1)).add("b", Variant.ofLong(2)).build()))
          .isEqualTo(PREFIX + "missing argument for parameter at position 2 of primitive type int");
    }
  }

  // --- missing arguments -----------------------------------------------------------------------

  @Test
  void missingReferenceParameterGetsNull() {
    try (HostedModel model = open(rules)) {
      assertThat(successString(model, "pair", Arguments.builder().add(s("a")).build()))
          .isEqualTo("a|null");
      assertThat(successString(model, "pair", Arguments.none())).isEqualTo("null|null");
    }
  }

  @Test
  void missingOptionalParameterGetsEmpty() {
    try (HostedModel model = open(rules)) {
      assertThat(successString(model, "opt", Arguments.builder().add(s("a")).build()))
          .isEqualTo("a|Optional.empty");
      assertThat(
              successString(
                  model, "opt", Arguments.builder().add(s("a")).add(Variant.NONE).build()))
          .isEqualTo("a|Optional.empty");
      assertThat(
              successString(model, "opt", Arguments.builder().add(s("a")).add("b", s("b")).build()))
          .isEqualTo("a|Optional[b]");
    }
  }

  @Test
  void missingPrimitiveParameterFailsTheCall() {
    try (HostedModel model = open(rules)) {
      assertThat(modelFailed(model, "sum", Arguments.builder().add(Variant.ofLong(1)).build()))
          .isEqualTo(
              PREFIX + "missing argument for parameter 'b' (position 2) of primitive type int");
      assertThat(
              success(
                  model,
                  "sum",
                  Arguments.builder().add(Variant.ofLong(1)).add("b", Variant.ofLong(2)).build()))
          .isEqualTo(Variant.ofLong(3));
    }
  }

  // --- argument decoding -----------------------------------------------------------------------

  @Test
  void jsonIntoARecordIgnoresExtraProperties() {
    try (HostedModel model = open(rules)) {
      Arguments arguments =
          Arguments.builder()
              .add(json("{\"x\": 1.5, \"id\": 7, \"extra\": [1, 2], \"more\": \"y\"}"))
              .build();
      assertThat(successString(model, "obs", arguments)).isEqualTo("Obs[x=1.5, id=7]");

      Arguments encoded =
          Arguments.builder()
              .add(ValueConverter.create().encode(Map.of("x", 2.5, "id", 9)))
              .build();
      assertThat(successString(model, "obs", encoded)).isEqualTo("Obs[x=2.5, id=9]");
    }
  }

  @Test
  void jsonIntoObjectGivesNaturalValues() {
    try (HostedModel model = open(rules)) {
      Arguments arguments =
          Arguments.builder()
              .add(json("{\"m\": {\"k\": 1}, \"l\": [2, 2.5, true, \"s\", null, []]}"))
              .build();
      assertThat(successString(model, "natural", arguments))
          .isEqualTo("Map{m=Map{k=Long},l=List[Long,Double,Boolean,String,null,List[]]}");

      assertThat(successString(model, "natural", Arguments.builder().add(json("[1, {}]")).build()))
          .isEqualTo("List[Long,Map{}]");
      assertThat(successString(model, "natural", Arguments.builder().add(json("\"s\"")).build()))
          .isEqualTo("String");
      assertThat(successString(model, "natural", Arguments.builder().add(json("3")).build()))
          .isEqualTo("Long");
      assertThat(successString(model, "natural", Arguments.builder().add(json("NaN")).build()))
          .isEqualTo("Double");
    }
  }

  @Test
  void jsonIntoAGenericListOfRecords() {
    try (HostedModel model = open(rules)) {
      Arguments arguments =
          Arguments.builder()
              .add(json("[{\"x\": 1, \"id\": 2}, {\"x\": 3.5, \"id\": 4, \"z\": 0}]"))
              .build();
      assertThat(successString(model, "many", arguments))
          .isEqualTo("Obs:Obs[x=1.0, id=2];Obs:Obs[x=3.5, id=4];");
    }
  }

  @Test
  void scalarsIntoPrimitiveAndStringParameters() {
    try (HostedModel model = open(rules)) {
      Arguments seven = Arguments.builder().add(Variant.ofLong(7)).build();
      assertThat(successString(model, "asInt", seven)).isEqualTo("int:7");
      assertThat(successString(model, "asLong", seven)).isEqualTo("long:7");
      assertThat(successString(model, "asDouble", seven)).isEqualTo("double:7.0");
      assertThat(
              successString(
                  model, "asDouble", Arguments.builder().add(Variant.ofDouble(2.5)).build()))
          .isEqualTo("double:2.5");
      assertThat(successString(model, "asString", Arguments.builder().add(s("héllo")).build()))
          .isEqualTo("string:héllo");
      assertThat(successString(model, "isNull", Arguments.builder().add(Variant.NONE).build()))
          .isEqualTo("null:true");
      assertThat(successString(model, "isNull", Arguments.builder().add(s("x")).build()))
          .isEqualTo("null:false");
    }
  }

  @Test
  void scalarsThatDoNotFitFailNamingTheParameter() {
    try (HostedModel model = open(rules)) {
      assertThat(
              modelFailed(model, "asInt", Arguments.builder().add(Variant.ofDouble(2.5)).build()))
          .isEqualTo(
              PREFIX
                  + "argument for parameter 'v' (position 1) is invalid: a DOUBLE value cannot be"
                  + " converted to int");
      assertThat(modelFailed(model, "asInt", Arguments.builder().add(Variant.NONE).build()))
          .isEqualTo(
              PREFIX
                  + "argument for parameter 'v' (position 1) is invalid: a NONE (null) value cannot"
                  + " be converted to the primitive int");
    }
  }

  // --- results ---------------------------------------------------------------------------------

  @Test
  void scalarResults() {
    try (HostedModel model = open(rules)) {
      Variant half = success(model, "half", Arguments.none());
      assertThat(half.type()).isEqualTo(VariantType.DOUBLE);
      assertThat(half.asDouble()).isEqualTo(0.5);

      Variant seven = success(model, "seven", Arguments.none());
      assertThat(seven.type()).isEqualTo(VariantType.INT);
      assertThat(seven.asLong()).isEqualTo(7);
      assertThat(seven.size()).isEqualTo(8);

      Variant yes = success(model, "yes", Arguments.none());
      assertThat(yes.type()).isEqualTo(VariantType.INT);
      assertThat(yes.asLong()).isEqualTo(1);
      Variant no = success(model, "no", Arguments.none());
      assertThat(no.type()).isEqualTo(VariantType.INT);
      assertThat(no.asLong()).isEqualTo(0);

      Variant text = success(model, "text", Arguments.none());
      assertThat(text.type()).isEqualTo(VariantType.STRING);
      assertThat(text.asString()).isEqualTo("text");
    }
  }

  @Test
  void structuredResultsAreJson() {
    ValueConverter converter = ValueConverter.create();
    try (HostedModel model = open(rules)) {
      Variant map = success(model, "map", Arguments.none());
      assertThat(map.type()).isEqualTo(VariantType.JSON);
      Map<String, Object> expected = new java.util.HashMap<>();
      expected.put("a", 1L);
      expected.put("b", List.of(1.5, "x"));
      expected.put("c", null);
      assertThat(converter.decode(map)).isEqualTo(expected);

      Variant list = success(model, "list", Arguments.none());
      assertThat(list.type()).isEqualTo(VariantType.JSON);
      assertThat(converter.decode(list)).isEqualTo(List.of(1L, "two", 3.0, Map.of("k", true)));

      Variant record = success(model, "record", Arguments.none());
      assertThat(record.type()).isEqualTo(VariantType.JSON);
      assertThat(converter.decode(record)).isEqualTo(Map.of("x", 1.5, "id", 7L));
    }
  }

  @Test
  void nonFiniteDoublesAreWrittenAsBareTokens() {
    try (HostedModel model = open(rules)) {
      Variant value = success(model, "nonFinite", Arguments.none());
      assertThat(value.type()).isEqualTo(VariantType.JSON);
      assertThat(new String(value.toByteArray(), StandardCharsets.UTF_8))
          .isEqualTo("{\"x\":NaN,\"inf\":Infinity,\"neg\":-Infinity}");
      assertThat(ValueConverter.create().decode(value))
          .isEqualTo(
              Map.of(
                  "x",
                  Double.NaN,
                  "inf",
                  Double.POSITIVE_INFINITY,
                  "neg",
                  Double.NEGATIVE_INFINITY));
    }
  }

  // --- overloads -------------------------------------------------------------------------------

  @Test
  void overloadsAreChosenByArity() {
    try (HostedModel model = open(rules)) {
      assertThat(successString(model, "score", Arguments.builder().add(Variant.ofLong(1)).build()))
          .isEqualTo("one:1");
      assertThat(
              successString(
                  model,
                  "score",
                  Arguments.builder().add(Variant.ofLong(1)).add(Variant.ofLong(2)).build()))
          .isEqualTo("two:1,2");
    }
  }

  @Test
  void theOverloadThatTakesTheKeywordWins() {
    try (HostedModel model = open(rules)) {
      assertThat(
              successString(
                  model,
                  "score",
                  Arguments.builder().add(Variant.ofLong(1)).add("b", Variant.ofLong(2)).build()))
          .isEqualTo("two:1,2");
      // A keyword that no overload declares is dropped: arity decides.
      assertThat(
              successString(
                  model,
                  "score",
                  Arguments.builder().add(Variant.ofLong(1)).add("zzz", Variant.ofLong(2)).build()))
          .isEqualTo("one:1");
    }
  }

  @Test
  void droppedKeywordsAreLoggedABoundedNumberOfTimesWithTheirNamesCut() {
    List<String> warnings = new CopyOnWriteArrayList<>();
    Logger logger = Logger.getLogger(HostedModel.class.getName());
    Handler capture =
        new Handler() {
          @Override
          public void publish(LogRecord record) {
            String text = new SimpleFormatter().formatMessage(record);
            if (text.contains("keyword")) {
              warnings.add(text);
            }
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    logger.addHandler(capture);
    try (HostedModel model = open(rules)) {
      Arguments same = Arguments.builder().add("same", Variant.ofLong(1)).build();
      assertThat(successString(model, "text", same)).isEqualTo("text");
      assertThat(successString(model, "text", same)).isEqualTo("text");
      assertThat(warnings)
          .containsExactly(
              "Dropping keyword argument 'same' of text(): it has no parameter of that name (logged"
                  + " once)");

      String huge = "k".repeat(1 << 20);
      successString(model, "text", Arguments.builder().add(huge, Variant.ofLong(1)).build());
      assertThat(warnings).hasSize(2);
      assertThat(warnings.get(1))
          .isEqualTo(
              "Dropping keyword argument '"
                  + "k".repeat(DroppedKeywords.MAX_SHOWN_LENGTH)
                  + "\u2026 (1048576 characters)' of text(): it has no parameter of that name"
                  + " (logged once)");

      // A new name on every call: the first ones are logged, then one line, then nothing.
      for (int i = 0; i < 1_000; i++) {
        successString(model, "text", Arguments.builder().add("k" + i, Variant.ofLong(i)).build());
      }
      assertThat(warnings).hasSize(DroppedKeywords.MAX_WARNINGS + 1);
      assertThat(warnings.get(DroppedKeywords.MAX_WARNINGS))
          .isEqualTo(
              "100 distinct dropped keyword arguments have been logged: further ones are not"
                  + " logged");
      successString(model, "text", Arguments.builder().add(huge + "2", Variant.ofLong(1)).build());
      assertThat(warnings).hasSize(DroppedKeywords.MAX_WARNINGS + 1);
    } finally {
      logger.removeHandler(capture);
    }
  }

  @Test
  void aSetupKeywordNoConstructorTakesIsNamedCut() {
    String huge = "n".repeat(10_000);
    try (HostedModel model = HostedModel.open(constructor)) {
      Reply reply =
          model.setup(
              BASE,
              Arguments.builder()
                  .add(s("x"))
                  .add(Variant.ofLong(1))
                  .add(huge, Variant.ofLong(1))
                  .build());
      assertThat(reply.status().code()).isEqualTo("SETUP_FAILED");
      assertThat(reply.status().message())
          .contains("n".repeat(DroppedKeywords.MAX_SHOWN_LENGTH) + "\u2026 (10000 characters)")
          .hasSizeLessThan(1_000);
    }
  }

  @Test
  void overloadsWithTheSameArityAreAmbiguous() {
    try (HostedModel model = open(rules)) {
      String message =
          modelFailed(model, "label", Arguments.builder().add(Variant.ofLong(1)).build());
      assertThat(message)
          .startsWith(
              PREFIX + "ambiguous call with 1 positional and 0 keyword argument(s): it fits ")
          .contains("label(String s)", "label(int i)")
          .endsWith(" (overloads are told apart by their number of parameters only)");
    }
  }

  @Test
  void noOverloadTakesThatManyArguments() {
    try (HostedModel model = open(rules)) {
      Arguments three =
          Arguments.builder()
              .add(Variant.ofLong(1))
              .add(Variant.ofLong(2))
              .add(Variant.ofLong(3))
              .build();
      assertThat(modelFailed(model, "score", three))
          .startsWith(
              PREFIX + "no overload takes 3 positional and 0 keyword argument(s); declared: ")
          .contains("score(int a)", "score(int a, int b)");
    }
  }

  @Test
  void tooManyPositionalArgumentsForASingleMethod() {
    try (HostedModel model = open(rules)) {
      Arguments four = Arguments.builder().add(s("a")).add(s("b")).add(s("c")).add(s("d")).build();
      assertThat(modelFailed(model, "join", four))
          .isEqualTo(
              PREFIX
                  + "join(String x, String y, String z) takes 3 positional arguments but 4 were given");
      assertThat(modelFailed(model, "ticks", Arguments.builder().add(s("a")).build()))
          .isEqualTo(PREFIX + "ticks() takes 0 positional arguments but 1 were given");
    }
  }

  // --- instance lifetime -----------------------------------------------------------------------

  @Test
  void resetGivesACleanNewInstance() {
    try (HostedModel model = open(rules)) {
      for (int i = 0; i < 3; i++) {
        assertThat(
                model
                    .call("tick", Arguments.builder().add(Variant.ofLong(i)).build())
                    .status()
                    .code())
            .isEqualTo("SUCCESS");
      }
      assertThat(success(model, "ticks", Arguments.none())).isEqualTo(Variant.ofLong(3));

      assertThat(model.reset().status().message()).isEqualTo("Instance successfully reset");
      Reply setup = model.setup(BASE, Arguments.none());
      assertThat(setup.status().code()).isEqualTo("SUCCESS");
      assertThat(setup.status().message()).isEqualTo("Instance created successfully");

      // The calls after the new setup reach the new instance, not the old one (Python runner bug).
      assertThat(success(model, "ticks", Arguments.none())).isEqualTo(Variant.ofLong(0));
      model.call("tick", Arguments.builder().add(Variant.NONE).build());
      assertThat(success(model, "ticks", Arguments.none())).isEqualTo(Variant.ofLong(1));
      assertThat(success(model, "predict", Arguments.none())).isEqualTo(Variant.ofLong(1));
    }
  }

  @Test
  void aSetupAfterAResetCallsTheMethodsOfTheClassItCreated(@TempDir Path dir) throws IOException {
    // Two implementations in one submission, of two base classes the host provides.
    Path twoModels =
        Sources.create()
            .add(
                "com.example.cr.two.FirstModel",
                """
                package com.example.cr.two;
                public class FirstModel implements java.util.function.Supplier<String> {
                  public String get() { return "first"; }
                  public String answer(String question) { return "first: " + question; }
                }
                """)
            .add(
                "com.example.cr.two.SecondModel",
                """
                package com.example.cr.two;
                public class SecondModel implements java.util.concurrent.Callable<String> {
                  public String call() { return "second"; }
                  public String answer(String question) { return "second: " + question; }
                }
                """)
            .compileTo(dir.resolve("two"));
    Arguments question = Arguments.builder().add(s("why")).build();
    try (HostedModel model = HostedModel.open(twoModels)) {
      Reply first = model.setup("java.util.function.Supplier", Arguments.none());
      assertThat(first.status().code()).as("%s", first).isEqualTo("SUCCESS");
      assertThat(successString(model, "answer", question)).isEqualTo("first: why");
      model.reset();
      // The same method name, now of another class: looked up again, not the first class's.
      Reply second = model.setup("java.util.concurrent.Callable", Arguments.none());
      assertThat(second.status().code()).as("%s", second).isEqualTo("SUCCESS");
      assertThat(successString(model, "answer", question)).isEqualTo("second: why");
    }
  }

  @Test
  void aVarargsMethodTakesItsArrayAsOneArgument() {
    try (HostedModel model = open(rules)) {
      assertThat(
              successString(
                  model, "varargs", Arguments.builder().add(json("[\"a\", \"b\"]")).build()))
          .isEqualTo("a+b");
    }
  }

  @Test
  void modelCodeRunsWithTheSubmissionAsContextClassLoader() throws Exception {
    Thread thread = Thread.currentThread();
    ClassLoader original = thread.getContextClassLoader();
    try (URLClassLoader marker = new URLClassLoader(new URL[0], original)) {
      thread.setContextClassLoader(marker);
      try (HostedModel model = open(rules)) {
        assertThat(thread.getContextClassLoader()).isSameAs(marker);

        assertThat(success(model, "contextLoader", Arguments.none())).isEqualTo(Variant.ofLong(1));
        assertThat(thread.getContextClassLoader()).isSameAs(marker);

        assertThat(success(model, "constructedWithOwnLoader", Arguments.none()))
            .isEqualTo(Variant.ofLong(1));

        // Also restored after a failed call.
        modelFailed(model, "sum", Arguments.none());
        assertThat(thread.getContextClassLoader()).isSameAs(marker);
        model.reset();
        assertThat(thread.getContextClassLoader()).isSameAs(marker);
      } finally {
        thread.setContextClassLoader(original);
      }
    }
  }

  @Test
  void autoCloseableModelIsClosedOnReset(@TempDir Path dir) throws IOException {
    Path closed = dir.resolve("closed");
    try (HostedModel model = HostedModel.open(closeable)) {
      Reply setup =
          model.setup(BASE, Arguments.builder().add(s(dir.toString())).add(s("first")).build());
      assertThat(setup.status().code()).as("%s", setup).isEqualTo("SUCCESS");
      assertThat(closed).doesNotExist();

      assertThat(model.reset().status().message()).isEqualTo("Instance successfully reset");
      assertThat(closed).hasContent("first;");

      assertThat(model.reset().status().message()).isEqualTo("No instance exists to reset");
      assertThat(closed).hasContent("first;");

      // Closing the hosted model closes the instance too.
      assertThat(
              model
                  .setup(BASE, Arguments.builder().add(s(dir.toString())).add(s("second")).build())
                  .status()
                  .code())
          .isEqualTo("SUCCESS");
    }
    assertThat(Files.readString(closed)).isEqualTo("first;second;");
  }

  // --- constructor arguments -------------------------------------------------------------------

  @Test
  void constructorTakesPositionalAndKeywordArguments() {
    try (HostedModel model = HostedModel.open(constructor)) {
      Reply setup =
          model.setup(
              BASE, Arguments.builder().add(s("n")).add("horizon", Variant.ofLong(3)).build());
      assertThat(setup.status().code()).as("%s", setup).isEqualTo("SUCCESS");
      assertThat(setup.status().message()).isEqualTo("Instance created successfully");
      assertThat(successString(model, "describe", Arguments.none())).isEqualTo("n:3");
    }
    try (HostedModel model = HostedModel.open(constructor)) {
      Reply setup =
          model.setup(
              BASE,
              Arguments.builder().add("horizon", Variant.ofLong(4)).add("name", s("kw")).build());
      assertThat(setup.status().code()).as("%s", setup).isEqualTo("SUCCESS");
      assertThat(successString(model, "describe", Arguments.none())).isEqualTo("kw:4");
    }
  }

  @Test
  void constructorKeywordAlreadyGivenByPositionFailsSetup() {
    try (HostedModel model = HostedModel.open(constructor)) {
      Reply setup =
          model.setup(
              BASE,
              Arguments.builder()
                  .add(s("n"))
                  .add(Variant.ofLong(3))
                  .add("name", s("again"))
                  .build());
      assertThat(setup.status().code()).isEqualTo("SETUP_FAILED");
      assertThat(setup.status().message())
          .isEqualTo(
              "Model(String name, int horizon) cannot take the keyword argument 'name': parameter 'name' is"
                  + " already given by position");
      assertThat(model.isSetUp()).isFalse();
    }
  }

  @Test
  void constructorOverloadsAreChosenByArity() {
    try (HostedModel model = HostedModel.open(constructors)) {
      assertThat(model.setup(BASE, Arguments.none()).status().message())
          .isEqualTo("Instance created successfully");
      assertThat(successString(model, "name", Arguments.none())).isEqualTo("default");
    }
    try (HostedModel model = HostedModel.open(constructors)) {
      assertThat(model.setup(BASE, Arguments.builder().add(s("pos")).build()).status().message())
          .isEqualTo("Instance created successfully");
      assertThat(successString(model, "name", Arguments.none())).isEqualTo("pos");
    }
  }

  @Test
  void constructorOverloadTakingTheKeywordIsChosen() {
    try (HostedModel model = HostedModel.open(constructors)) {
      Reply setup = model.setup(BASE, Arguments.builder().add("name", s("kw")).build());
      assertThat(setup.status().code()).as("%s", setup).isEqualTo("SUCCESS");
      assertThat(setup.status().message()).isEqualTo("Instance created successfully");
      assertThat(successString(model, "name", Arguments.none())).isEqualTo("kw");
    }
  }
}
