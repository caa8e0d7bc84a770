package org.modelrunner.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.ModelBusyException;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.Variant;
import org.modelrunner.spi.VariantType;
import org.modelrunner.testsupport.Gate;

/**
 * One test per row of PROTOCOL §1.4: the exact {@code Status.code} and message of every outcome of
 * setup, call and reset, and the {@code Server busy} rejection.
 */
class HostedModelStatusTest {
  static final String BASE = "org.modelrunner.loader.fixtures.TrackerBase";
  static final String PREFIX = "The model raised an exception: ";

  @TempDir static Path shared;

  /** A model with many methods; constructors {@code Model()} and {@code Model(String name)}. */
  static Path basic;

  /** {@code Model(int horizon)}, which throws for a horizon that is not positive. */
  static Path horizon;

  /** A model whose static initialiser throws. */
  static Path staticInit;

  @BeforeAll
  static void compileSubmissions() throws IOException {
    Path classes =
        Sources.create()
            .add(
                "com.example.st.basic.Model",
                """
                package com.example.st.basic;
                import org.modelrunner.testsupport.Gate;
                public class Model extends org.modelrunner.loader.fixtures.TrackerBase {
                  private final String name;
                  public Model() { this("default"); }
                  public Model(String name) { this.name = name; }
                  public void tick(Object data) {}
                  public Object predict() { return name; }
                  public String name() { return name; }
                  public long answer() { return 42; }
                  public void nothing() {}
                  public String nothingToo() { return null; }
                  public static String helper() { return "static"; }
                  public String fail() { throw new IllegalStateException("boom"); }
                  public double position(Obs obs) { return obs.x(); }
                  public long count(long n) { return n; }
                  public Object empty() { return new Empty(); }
                  public Object object() { return new Object(); }
                  public String error() { throw new AssertionError("inner"); }
                  public Object faultyGetter() { return new Faulty(false); }
                  public Object erroneousGetter() { return new Faulty(true); }
                  public String hold() throws InterruptedException { Gate.pass(); return "held"; }
                  public String unprintable() { throw new Unprintable(); }
                  public String text(String text) { return "text:" + text; }
                  public String none(Object value) { return "none:" + value; }
                  @Override public String toString() { return "overridden"; }
                  @Override public Model clone() { return new Model(name); }
                  @SuppressWarnings("deprecation") @Override public void finalize() {}
                }
                """)
            .add(
                "com.example.st.basic.Unprintable",
                """
                package com.example.st.basic;
                /** An exception that cannot be described: its toString() throws. */
                public final class Unprintable extends RuntimeException {
                  @Override public String toString() { throw new IllegalStateException("no words"); }
                  @Override public String getMessage() { throw new IllegalStateException("no words"); }
                }
                """)
            .add(
                "com.example.st.basic.Obs",
                """
                package com.example.st.basic;
                public record Obs(double x, long id) {}
                """)
            .add(
                "com.example.st.basic.Empty",
                """
                package com.example.st.basic;
                public final class Empty {}
                """)
            .add(
                "com.example.st.basic.Faulty",
                """
                package com.example.st.basic;
                public final class Faulty {
                  private final boolean error;
                  public Faulty(boolean error) { this.error = error; }
                  public int getValue() {
                    if (error) {
                      throw new AssertionError("getter error");
                    }
                    throw new IllegalStateException("getter failure");
                  }
                }
                """)
            .add(
                "com.example.st.horizon.Model",
                """
                package com.example.st.horizon;
                public class Model extends org.modelrunner.loader.fixtures.TrackerBase {
                  private final int horizon;
                  public Model(int horizon) {
                    if (horizon == -1) {
                      throw new com.example.st.horizon.Unprintable();
                    }
                    if (horizon <= 0) {
                      throw new IllegalArgumentException("horizon must be positive");
                    }
                    this.horizon = horizon;
                  }
                  public void tick(Object data) {}
                  public Object predict() { return horizon; }
                  public int horizon() { return horizon; }
                }
                """)
            .add(
                "com.example.st.horizon.Unprintable",
                """
                package com.example.st.horizon;
                public final class Unprintable extends RuntimeException {
                  @Override public String toString() { throw new IllegalStateException("no words"); }
                }
                """)
            .add(
                "com.example.st.staticinit.Model",
                """
                package com.example.st.staticinit;
                public class Model extends org.modelrunner.loader.fixtures.TrackerBase {
                  static final int LIMIT = limit();
                  private static int limit() { throw new IllegalStateException("no config"); }
                  public Model() {}
                  public void tick(Object data) {}
                  public Object predict() { return LIMIT; }
                }
                """)
            .compileTo(shared.resolve("classes"));
    basic = extract(classes, "com.example.st.basic", shared.resolve("subs/basic"));
    horizon = extract(classes, "com.example.st.horizon", shared.resolve("subs/horizon"));
    staticInit = extract(classes, "com.example.st.staticinit", shared.resolve("subs/staticinit"));
  }

  /**
   * Moves one package of a compiled folder into a submission folder of its own, and returns that.
   */
  static Path extract(Path classes, String pkg, Path submission) throws IOException {
    Path to = submission.resolve(pkg.replace('.', '/'));
    Files.createDirectories(to.getParent());
    Files.move(classes.resolve(pkg.replace('.', '/')), to);
    return submission;
  }

  private static Reply setUp(HostedModel model) {
    Reply reply = model.setup(BASE, Arguments.none());
    assertThat(reply.status().code()).as("%s", reply).isEqualTo("SUCCESS");
    return reply;
  }

  private static Variant json(String text) {
    return Variant.of(VariantType.JSON, text.getBytes(StandardCharsets.UTF_8));
  }

  // --- SUCCESS ---------------------------------------------------------------------------------

  @Test
  void setupCreatesTheInstance() {
    try (HostedModel model = HostedModel.open(basic)) {
      Reply reply = model.setup(BASE, Arguments.none());
      assertThat(reply.status().code()).isEqualTo("SUCCESS");
      assertThat(reply.status().message()).isEqualTo("Instance created successfully");
      assertThat(reply.value()).isEmpty();
      assertThat(model.isSetUp()).isTrue();
    }
  }

  @Test
  void setupAgainSucceedsAndIgnoresTheNewArguments() {
    try (HostedModel model = HostedModel.open(basic)) {
      Reply first = model.setup(BASE, Arguments.builder().add(Variant.ofString("first")).build());
      assertThat(first.status().code()).isEqualTo("SUCCESS");
      assertThat(first.status().message()).isEqualTo("Instance created successfully");

      Reply second = model.setup(BASE, Arguments.builder().add(Variant.ofString("second")).build());
      assertThat(second.status().code()).isEqualTo("SUCCESS");
      assertThat(second.status().message()).isEqualTo("Instance already exists");

      Reply third = model.setup(BASE, Arguments.none());
      assertThat(third.status().code()).isEqualTo("SUCCESS");
      assertThat(third.status().message()).isEqualTo("Instance already exists");

      Reply name = model.call("name", Arguments.none());
      assertThat(name.status().code()).isEqualTo("SUCCESS");
      assertThat(name.value().orElseThrow().asString()).isEqualTo("first");
    }
  }

  @Test
  void callReturnsTheValueWithAnEmptyMessage() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      Reply reply = model.call("answer", Arguments.none());
      assertThat(reply.status().code()).isEqualTo("SUCCESS");
      assertThat(reply.status().message()).isEqualTo("");
      assertThat(reply.value()).contains(Variant.ofLong(42));
    }
  }

  @Test
  void voidMethodGivesSuccessWithoutValue() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      Reply reply = model.call("nothing", Arguments.none());
      assertThat(reply.status().code()).isEqualTo("SUCCESS");
      assertThat(reply.status().message()).isEqualTo("");
      assertThat(reply.value()).isEmpty();
    }
  }

  @Test
  void nullResultGivesSuccessWithoutValue() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      Reply reply = model.call("nothingToo", Arguments.none());
      assertThat(reply.status().code()).isEqualTo("SUCCESS");
      assertThat(reply.status().message()).isEqualTo("");
      assertThat(reply.value()).isEmpty();
    }
  }

  @Test
  void resetWithAnInstance() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      Reply reply = model.reset();
      assertThat(reply.status().code()).isEqualTo("SUCCESS");
      assertThat(reply.status().message()).isEqualTo("Instance successfully reset");
      assertThat(reply.value()).isEmpty();
      assertThat(model.isSetUp()).isFalse();
    }
  }

  @Test
  void resetWithoutAnInstance() {
    try (HostedModel model = HostedModel.open(basic)) {
      Reply reply = model.reset();
      assertThat(reply.status().code()).isEqualTo("SUCCESS");
      assertThat(reply.status().message()).isEqualTo("No instance exists to reset");

      setUp(model);
      model.reset();
      Reply again = model.reset();
      assertThat(again.status().code()).isEqualTo("SUCCESS");
      assertThat(again.status().message()).isEqualTo("No instance exists to reset");
    }
  }

  // --- INVALID_ARGUMENT ------------------------------------------------------------------------

  @Test
  void setupWithEmptyClassName() {
    try (HostedModel model = HostedModel.open(basic)) {
      for (String name : new String[] {"", "   ", "\t\n"}) {
        Reply reply = model.setup(name, Arguments.none());
        assertThat(reply.status().code()).as("'%s'", name).isEqualTo("INVALID_ARGUMENT");
        assertThat(reply.status().message())
            .as("'%s'", name)
            .isEqualTo("class_name cannot be empty");
      }
      assertThat(model.isSetUp()).isFalse();
    }
  }

  @Test
  void callWithEmptyMethodName() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      Reply reply = model.call("", Arguments.none());
      assertThat(reply.status().code()).isEqualTo("INVALID_ARGUMENT");
      assertThat(reply.status().message()).isEqualTo("methodName cannot be empty");
    }
  }

  // --- FAILED_PRECONDITION ---------------------------------------------------------------------

  @Test
  void callBeforeSetup() {
    try (HostedModel model = HostedModel.open(basic)) {
      Reply reply = model.call("answer", Arguments.none());
      assertThat(reply.status().code()).isEqualTo("FAILED_PRECONDITION");
      assertThat(reply.status().message()).isEqualTo("Setup has not been called yet");
      assertThat(reply.value()).isEmpty();
    }
  }

  @Test
  void callBeforeSetupIsCheckedBeforeTheMethodName() {
    try (HostedModel model = HostedModel.open(basic)) {
      Reply reply = model.call("", Arguments.none());
      assertThat(reply.status().code()).isEqualTo("FAILED_PRECONDITION");
      assertThat(reply.status().message()).isEqualTo("Setup has not been called yet");

      Reply unknown = model.call("nope", Arguments.none());
      assertThat(unknown.status().code()).isEqualTo("FAILED_PRECONDITION");
      assertThat(unknown.status().message()).isEqualTo("Setup has not been called yet");
    }
  }

  @Test
  void callAfterReset() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      assertThat(model.call("answer", Arguments.none()).status().code()).isEqualTo("SUCCESS");
      model.reset();
      Reply reply = model.call("answer", Arguments.none());
      assertThat(reply.status().code()).isEqualTo("FAILED_PRECONDITION");
      assertThat(reply.status().message()).isEqualTo("Setup has not been called yet");
    }
  }

  // --- BAD_IMPLEMENTATION ----------------------------------------------------------------------

  @Test
  void setupWithABaseClassThatExistsNowhere() {
    try (HostedModel model = HostedModel.open(basic)) {
      Reply reply = model.setup("com.nowhere.Base", Arguments.none());
      assertThat(reply.status().code()).isEqualTo("BAD_IMPLEMENTATION");
      assertThat(reply.status().message())
          .startsWith("No Inherited class found from <class 'com.nowhere.Base'>.")
          .isEqualTo(
              "No Inherited class found from <class 'com.nowhere.Base'>. The base class cannot be loaded"
                  + " from the submission or the host: java.lang.ClassNotFoundException: com.nowhere.Base");
      assertThat(model.isSetUp()).isFalse();
    }
  }

  @Test
  void callOfAnUnknownMethod() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      Reply reply = model.call("nope", Arguments.none());
      assertThat(reply.status().code()).isEqualTo("BAD_IMPLEMENTATION");
      assertThat(reply.status().message())
          .isEqualTo("Method \"nope\" not found in class \"Model\"");
      assertThat(reply.value()).isEmpty();
    }
  }

  @Test
  void staticMethodsAndMethodsOfObjectAreNotFound() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      for (String name :
          new String[] {
            "helper",
            "toString",
            "hashCode",
            "getClass",
            "wait",
            "notify",
            "notifyAll",
            "equals",
            // Protected in Object, made public by the model: still Object's.
            "clone",
            "finalize"
          }) {
        Reply reply = model.call(name, Arguments.none());
        assertThat(reply.status().code()).as(name).isEqualTo("BAD_IMPLEMENTATION");
        assertThat(reply.status().message())
            .as(name)
            .isEqualTo("Method \"" + name + "\" not found in class \"Model\"");
      }
    }
  }

  // --- SETUP_FAILED ----------------------------------------------------------------------------

  @Test
  void setupWithAClassNameWithoutADot() {
    try (HostedModel model = HostedModel.open(basic)) {
      Reply reply = model.setup("TrackerBase", Arguments.none());
      assertThat(reply.status().code()).isEqualTo("SETUP_FAILED");
      assertThat(reply.status().message())
          .contains("'TrackerBase'")
          .isEqualTo(
              "class_name must be the fully qualified name of the base class (package.ClassName), got"
                  + " 'TrackerBase'");
      assertThat(model.isSetUp()).isFalse();
    }
  }

  @Test
  void setupWhoseConstructorThrows() {
    try (HostedModel model = HostedModel.open(horizon)) {
      Reply reply = model.setup(BASE, Arguments.builder().add(Variant.ofLong(0)).build());
      assertThat(reply.status().code()).isEqualTo("SETUP_FAILED");
      assertThat(reply.status().message())
          .isEqualTo("java.lang.IllegalArgumentException: horizon must be positive");
      assertThat(model.isSetUp()).isFalse();

      // A failed setup leaves no instance behind: a later one with good arguments creates it.
      Reply fixed = model.setup(BASE, Arguments.builder().add(Variant.ofLong(5)).build());
      assertThat(fixed.status().code()).isEqualTo("SUCCESS");
      assertThat(fixed.status().message()).isEqualTo("Instance created successfully");
      assertThat(model.call("horizon", Arguments.none()).value()).contains(Variant.ofLong(5));
    }
  }

  @Test
  void setupWhoseConstructorThrowsAnExceptionThatCannotBeDescribed() {
    try (HostedModel model = HostedModel.open(horizon)) {
      Reply reply = model.setup(BASE, Arguments.builder().add(Variant.ofLong(-1)).build());
      assertThat(reply.status().code()).isEqualTo("SETUP_FAILED");
      assertThat(reply.status().message())
          .isEqualTo(
              "com.example.st.horizon.Unprintable (its description cannot be given: toString() threw"
                  + " java.lang.IllegalStateException)");
      assertThat(model.isSetUp()).isFalse();
    }
  }

  @Test
  void setupArgumentThatIsNotUtf8IsMalformed() {
    try (HostedModel model = HostedModel.open(basic)) {
      Reply reply =
          model.setup(
              BASE,
              Arguments.builder()
                  .add(Variant.of(VariantType.STRING, new byte[] {'a', (byte) 0xff}))
                  .build());
      assertThat(reply.status().code()).isEqualTo("SETUP_FAILED");
      assertThat(reply.status().message())
          .isEqualTo(
              "Malformed argument: the argument at position 1: a STRING value must be UTF-8, this"
                  + " one is not: byte 1 of 2 (0xff) is not valid UTF-8");
      assertThat(model.isSetUp()).isFalse();
    }
  }

  @Test
  void setupWhoseStaticInitialiserThrows() {
    try (HostedModel model = HostedModel.open(staticInit)) {
      Reply reply = model.setup(BASE, Arguments.none());
      assertThat(reply.status().code()).isEqualTo("SETUP_FAILED");
      assertThat(reply.status().message())
          .isEqualTo(
              "the static initialiser of com.example.st.staticinit.Model threw"
                  + " java.lang.IllegalStateException: no config");
      assertThat(model.isSetUp()).isFalse();

      // The class is now unusable; a second setup still answers SETUP_FAILED, naming the class.
      Reply again = model.setup(BASE, Arguments.none());
      assertThat(again.status().code()).isEqualTo("SETUP_FAILED");
      assertThat(again.status().message()).contains("com.example.st.staticinit.Model");
    }
  }

  @Test
  void setupArgumentOfTheWrongType() {
    try (HostedModel model = HostedModel.open(horizon)) {
      Reply reply = model.setup(BASE, Arguments.builder().add(Variant.ofString("ten")).build());
      assertThat(reply.status().code()).isEqualTo("SETUP_FAILED");
      assertThat(reply.status().message())
          .isEqualTo(
              "argument for parameter 'horizon' (position 1) is invalid: a STRING value cannot be converted"
                  + " to int");
      assertThat(model.isSetUp()).isFalse();
    }
  }

  @Test
  void setupArgumentOutOfRange() {
    try (HostedModel model = HostedModel.open(horizon)) {
      Reply reply =
          model.setup(
              BASE, Arguments.builder().add("horizon", Variant.ofLong(3_000_000_000L)).build());
      assertThat(reply.status().code()).isEqualTo("SETUP_FAILED");
      assertThat(reply.status().message())
          .isEqualTo(
              "argument for parameter 'horizon' (position 1) is invalid: the INT value 3000000000 is out of"
                  + " range for int [-2147483648, 2147483647]");
    }
  }

  @Test
  void setupWithAKeywordNoConstructorTakesNamesIt() {
    try (HostedModel model = HostedModel.open(basic)) {
      Reply reply = model.setup(BASE, Arguments.builder().add("speed", Variant.ofLong(1)).build());
      assertThat(reply.status().code()).isEqualTo("SETUP_FAILED");
      assertThat(reply.status().message())
          .startsWith(
              "no overload takes 0 positional and 1 keyword argument(s) [speed]; declared: ");
    }
  }

  @Test
  void setupWithAnUnknownKeyword() {
    try (HostedModel model = HostedModel.open(horizon)) {
      Reply reply =
          model.setup(
              BASE,
              Arguments.builder().add(Variant.ofLong(5)).add("speed", Variant.ofLong(1)).build());
      assertThat(reply.status().code()).isEqualTo("SETUP_FAILED");
      assertThat(reply.status().message())
          .isEqualTo(
              "Model(int horizon) cannot take the keyword argument 'speed': it has no parameter of that name");
      assertThat(model.isSetUp()).isFalse();
    }
  }

  @Test
  void setupWithAMissingPrimitiveArgument() {
    try (HostedModel model = HostedModel.open(horizon)) {
      Reply reply = model.setup(BASE, Arguments.none());
      assertThat(reply.status().code()).isEqualTo("SETUP_FAILED");
      assertThat(reply.status().message())
          .isEqualTo("missing argument for parameter 'horizon' (position 1) of primitive type int");
    }
  }

  // --- MODEL_FAILED ----------------------------------------------------------------------------

  @Test
  void modelThrows() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      Reply reply = model.call("fail", Arguments.none());
      assertThat(reply.status().code()).isEqualTo("MODEL_FAILED");
      assertThat(reply.status().message())
          .isEqualTo("The model raised an exception: java.lang.IllegalStateException: boom");
      assertThat(reply.value()).isEmpty();

      // The instance survives a failed call.
      assertThat(model.call("answer", Arguments.none()).value()).contains(Variant.ofLong(42));
    }
  }

  @Test
  void modelThrowsAnExceptionThatCannotBeDescribed() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      Reply reply = model.call("unprintable", Arguments.none());
      assertThat(reply.status().code()).isEqualTo("MODEL_FAILED");
      assertThat(reply.status().message())
          .isEqualTo(
              PREFIX
                  + "com.example.st.basic.Unprintable (its description cannot be given: toString()"
                  + " threw java.lang.IllegalStateException)");
      assertThat(model.call("answer", Arguments.none()).value()).contains(Variant.ofLong(42));
    }
  }

  @Test
  void callArgumentThatIsNotUtf8IsMalformedNotReplaced() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      // "é" cut after its first byte: Python's decode('utf-8') raises; nothing reaches the model.
      Variant cut = Variant.of(VariantType.STRING, new byte[] {'c', 'a', 'f', (byte) 0xc3});
      Reply positional = model.call("text", Arguments.builder().add(cut).build());
      assertThat(positional.status().code()).isEqualTo("MODEL_FAILED");
      assertThat(positional.status().message())
          .isEqualTo(
              PREFIX
                  + "Malformed argument: the argument at position 1: a STRING value must be UTF-8,"
                  + " this one is not: byte 3 of 4 (0xc3) is not valid UTF-8");
      Reply keyword = model.call("text", Arguments.builder().add("text", cut).build());
      assertThat(keyword.status().code()).isEqualTo("MODEL_FAILED");
      assertThat(keyword.status().message())
          .startsWith(PREFIX + "Malformed argument: the keyword argument 'text': a STRING value");
      // The method is looked up first, as in the Python runner: an unknown one whatever the
      // arguments.
      Reply unknown = model.call("nope", Arguments.builder().add(cut).build());
      assertThat(unknown.status().code()).isEqualTo("BAD_IMPLEMENTATION");
      assertThat(unknown.status().message())
          .isEqualTo("Method \"nope\" not found in class \"Model\"");
      assertThat(
              model
                  .call("text", Arguments.builder().add(Variant.ofString("caf\u00e9")).build())
                  .value())
          .contains(Variant.ofString("text:caf\u00e9"));
    }
  }

  @Test
  void callArgumentNoneCarryingBytesIsMalformed() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      Variant noneWithBytes = Variant.of(VariantType.NONE, new byte[] {0});
      Reply reply = model.call("none", Arguments.builder().add(noneWithBytes).build());
      assertThat(reply.status().code()).isEqualTo("MODEL_FAILED");
      assertThat(reply.status().message())
          .isEqualTo(
              PREFIX
                  + "Malformed argument: the argument at position 1: a NONE value must be empty, this"
                  + " one has 1 bytes");
      assertThat(model.call("none", Arguments.builder().add(Variant.NONE).build()).value())
          .contains(Variant.ofString("none:null"));
    }
  }

  @Test
  void callArgumentOfJsonFollowedByMoreTextIsRefused() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      Reply reply = model.call("none", Arguments.builder().add(json("{\"a\":1} xyz")).build());
      assertThat(reply.status().code()).isEqualTo("MODEL_FAILED");
      assertThat(reply.status().message())
          .startsWith(
              PREFIX
                  + "argument for parameter 'value' (position 1) is invalid: the JSON value cannot be"
                  + " read as java.lang.Object: ");
      assertThat(model.call("none", Arguments.builder().add(json("{\"a\":1} ")).build()).value())
          .contains(Variant.ofString("none:{a=1}"));
    }
  }

  @Test
  void callArgumentThatCannotBecomeARecord() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      Reply reply = model.call("position", Arguments.builder().add(Variant.ofString("x")).build());
      assertThat(reply.status().code()).isEqualTo("MODEL_FAILED");
      assertThat(reply.status().message())
          .startsWith(PREFIX)
          .isEqualTo(
              PREFIX
                  + "argument for parameter 'obs' (position 1) is invalid: a STRING value cannot be"
                  + " converted to com.example.st.basic.Obs");
    }
  }

  @Test
  void callArgumentThatCannotBecomeALong() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      Reply reply = model.call("count", Arguments.builder().add(json("{\"a\": 1}")).build());
      assertThat(reply.status().code()).isEqualTo("MODEL_FAILED");
      assertThat(reply.status().message())
          .startsWith(
              PREFIX
                  + "argument for parameter 'n' (position 1) is invalid: the JSON value cannot be read as"
                  + " long: ");
    }
  }

  @Test
  void resultWithoutPropertiesCannotBeEncoded() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      Reply reply = model.call("empty", Arguments.none());
      assertThat(reply.status().code()).isEqualTo("MODEL_FAILED");
      assertThat(reply.status().message())
          .startsWith(
              PREFIX
                  + "the result of empty cannot be encoded: a com.example.st.basic.Empty cannot be written"
                  + " as JSON: ");
      assertThat(reply.value()).isEmpty();
    }
  }

  @Test
  void plainObjectResultCannotBeEncoded() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      Reply reply = model.call("object", Arguments.none());
      assertThat(reply.status().code()).isEqualTo("MODEL_FAILED");
      assertThat(reply.status().message())
          .startsWith(
              PREFIX
                  + "the result of object cannot be encoded: a java.lang.Object cannot be written as JSON: ");
    }
  }

  @Test
  void modelThrowsAnError() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      Reply reply = model.call("error", Arguments.none());
      assertThat(reply.status().code()).isEqualTo("MODEL_FAILED");
      assertThat(reply.status().message())
          .isEqualTo("The model raised an exception: java.lang.AssertionError: inner");
    }
  }

  @Test
  void resultWhoseGetterThrowsCannotBeEncoded() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      Reply reply = model.call("faultyGetter", Arguments.none());
      assertThat(reply.status().code()).isEqualTo("MODEL_FAILED");
      assertThat(reply.status().message())
          .isEqualTo(
              PREFIX
                  + "the result of faultyGetter cannot be encoded: a com.example.st.basic.Faulty cannot be"
                  + " written as JSON: getter failure");
    }
  }

  @Test
  void resultWhoseGetterThrowsAnErrorIsModelFailed() {
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      Reply reply = model.call("erroneousGetter", Arguments.none());
      assertThat(reply.status().code()).isEqualTo("MODEL_FAILED");
      assertThat(reply.status().message()).startsWith(PREFIX).contains("getter error");
      // The model stays usable.
      assertThat(model.call("answer", Arguments.none()).value()).contains(Variant.ofLong(42));
    }
  }

  // --- Server busy -----------------------------------------------------------------------------

  @Test
  void requestsWhileACallRunsAreRejectedAtOnce() throws Exception {
    Gate.arm();
    ExecutorService executor = Executors.newSingleThreadExecutor();
    try (HostedModel model = HostedModel.open(basic)) {
      setUp(model);
      Future<Reply> held = executor.submit(() -> model.call("hold", Arguments.none()));
      try {
        assertThat(Gate.awaitEntered()).as("the model call entered the gate").isTrue();

        assertTimeoutPreemptively(
            Duration.ofSeconds(10),
            () -> {
              assertThatThrownBy(() -> model.call("answer", Arguments.none()))
                  .isExactlyInstanceOf(ModelBusyException.class)
                  .hasMessage("Server busy");
              assertThatThrownBy(() -> model.setup(BASE, Arguments.none()))
                  .isExactlyInstanceOf(ModelBusyException.class)
                  .hasMessage("Server busy");
              assertThatThrownBy(model::reset)
                  .isExactlyInstanceOf(ModelBusyException.class)
                  .hasMessage("Server busy");
            });
        assertThat(held).isNotDone();
      } finally {
        Gate.open();
      }

      Reply reply = held.get(30, TimeUnit.SECONDS);
      assertThat(reply.status().code()).isEqualTo("SUCCESS");
      assertThat(reply.status().message()).isEqualTo("");
      assertThat(reply.value().orElseThrow().asString()).isEqualTo("held");

      Reply next = model.call("answer", Arguments.none());
      assertThat(next.status().code()).isEqualTo("SUCCESS");
      assertThat(next.value()).contains(Variant.ofLong(42));
      // The instance was not reset by the rejected reset.
      assertThat(model.isSetUp()).isTrue();
    } finally {
      executor.shutdownNow();
      assertThat(executor.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    }
  }

  // --- close -----------------------------------------------------------------------------------

  @Test
  void closedModelRejectsEverything() {
    HostedModel model = HostedModel.open(basic);
    setUp(model);
    model.close();
    assertThat(model.isSetUp()).isFalse();
    assertThatThrownBy(() -> model.call("answer", Arguments.none()))
        .isExactlyInstanceOf(IllegalStateException.class)
        .hasMessage("This model is closed");
    assertThatThrownBy(() -> model.setup(BASE, Arguments.none()))
        .isExactlyInstanceOf(IllegalStateException.class)
        .hasMessage("This model is closed");
    assertThatThrownBy(model::reset)
        .isExactlyInstanceOf(IllegalStateException.class)
        .hasMessage("This model is closed");
    model.close();
    assertThatThrownBy(() -> model.call("answer", Arguments.none()))
        .isExactlyInstanceOf(IllegalStateException.class)
        .hasMessage("This model is closed");
  }

  @Test
  void closeWhileACallRunsReleasesTheClassLoaderWhenTheCallReturns() throws Exception {
    Gate.arm();
    ExecutorService executor = Executors.newSingleThreadExecutor();
    HostedModel model = HostedModel.open(basic);
    String ownClass = "com/example/st/basic/Model.class";
    try {
      setUp(model);
      Future<Reply> held = executor.submit(() -> model.call("hold", Arguments.none()));
      assertThat(Gate.awaitEntered()).isTrue();
      model.close();
      // The call in flight still runs with an open class loader.
      assertThat(model.submission().classLoader().getResource(ownClass)).isNotNull();
      assertThat(model.isSetUp()).isTrue();
      Gate.open();
      assertThat(held.get(30, TimeUnit.SECONDS).value().orElseThrow().asString()).isEqualTo("held");
      assertThat(model.isSetUp()).isFalse();
      assertThat(model.submission().classLoader().getResource(ownClass)).isNull();
      assertThatThrownBy(() -> model.call("answer", Arguments.none()))
          .isExactlyInstanceOf(IllegalStateException.class);
    } finally {
      Gate.open();
      executor.shutdownNow();
      assertThat(executor.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void closeWithoutSetupTwiceIsFine() {
    HostedModel model = HostedModel.open(basic);
    model.close();
    model.close();
    assertThat(model.isSetUp()).isFalse();
    assertThat(model.implementationClass()).isEmpty();
  }
}
