package org.modelrunner.loader;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.StatusCode;
import org.modelrunner.spi.Variant;

/** How setup finds the implementation of the base class in a submission (PROTOCOL §1.6). */
class DiscoveryTest {
  static final String BASE = "org.modelrunner.loader.fixtures.TrackerBase";

  @TempDir Path dir;

  static String tracker(String pkg, String name, String prediction) {
    return """
        package %s;
        public class %s extends org.modelrunner.loader.fixtures.TrackerBase {
          public void tick(Object data) {}
          public Object predict() { return "%s"; }
        }
        """
        .formatted(pkg, name, prediction);
  }

  private Reply setup(HostedModel model) {
    return model.setup(BASE, Arguments.none());
  }

  private static Object predict(HostedModel model) {
    Reply reply = model.call("predict", Arguments.none());
    assertThat(reply.status().isSuccess()).as("%s", reply).isTrue();
    return reply.value().orElseThrow().asString();
  }

  @Test
  void oneImplementationIsFoundAndCreated() {
    Path jar =
        Sources.create()
            .add("com.example.Good", tracker("com.example", "Good", "good"))
            .jarTo(dir.resolve("sub/model.jar"));
    try (HostedModel model = HostedModel.open(dir.resolve("sub"))) {
      Reply reply = setup(model);
      assertThat(reply.status().code()).isEqualTo("SUCCESS");
      assertThat(reply.status().message()).isEqualTo("Instance created successfully");
      assertThat(model.implementationClass().orElseThrow().getName()).isEqualTo("com.example.Good");
      assertThat(predict(model)).isEqualTo("good");
    }
    assertThat(jar).exists();
  }

  @Test
  void noImplementationIsBadImplementation() {
    Sources.create()
        .add("com.example.Other", "package com.example; public class Other {}")
        .jarTo(dir.resolve("sub/model.jar"));
    try (HostedModel model = HostedModel.open(dir.resolve("sub"))) {
      Reply reply = setup(model);
      assertThat(reply.status().code()).isEqualTo("BAD_IMPLEMENTATION");
      assertThat(reply.status().message())
          .isEqualTo("No Inherited class found from <class '" + BASE + "'>.");
    }
  }

  @Test
  void twoImplementationsAreBadImplementationNamingBoth() {
    Sources.create()
        .add("com.example.A", tracker("com.example", "A", "a"))
        .add("com.example.B", tracker("com.example", "B", "b"))
        .compileTo(dir.resolve("sub"));
    try (HostedModel model = HostedModel.open(dir.resolve("sub"))) {
      Reply reply = setup(model);
      assertThat(reply.status().is(StatusCode.BAD_IMPLEMENTATION)).isTrue();
      assertThat(reply.status().message())
          .startsWith(
              "Several classes inherit from <class '" + BASE + "'>: com.example.A, com.example.B.");
      assertThat(model.isSetUp()).isFalse();
    }
  }

  @Test
  void classFolderSubmissionWorks() throws Exception {
    Sources.create()
        .add("com.example.Good", tracker("com.example", "Good", "folder"))
        .compileTo(dir.resolve("sub"));
    assertThat(Files.exists(dir.resolve("sub/com/example/Good.class"))).isTrue();
    try (HostedModel model = HostedModel.open(dir.resolve("sub"))) {
      assertThat(setup(model).status().isSuccess()).isTrue();
      assertThat(predict(model)).isEqualTo("folder");
    }
  }

  @Test
  void onlyAnAbstractImplementationIsBadImplementation() {
    Sources.create()
        .add(
            "com.example.Abstract",
            """
            package com.example;
            public abstract class Abstract extends org.modelrunner.loader.fixtures.TrackerBase {}
            """)
        .jarTo(dir.resolve("sub/model.jar"));
    try (HostedModel model = HostedModel.open(dir.resolve("sub"))) {
      Reply reply = setup(model);
      assertThat(reply.status().code()).isEqualTo("BAD_IMPLEMENTATION");
      assertThat(reply.status().message())
          .startsWith("No Inherited class found from <class '" + BASE + "'>.")
          .contains("com.example.Abstract is abstract");
    }
  }

  @Test
  void nonPublicAndInnerClassesAreNotImplementations() {
    Sources.create()
        .add(
            "com.example.Outer",
            """
            package com.example;
            public class Outer {
              public class Inner extends org.modelrunner.loader.fixtures.TrackerBase {
                public void tick(Object data) {}
                public Object predict() { return null; }
              }
            }
            class Hidden extends org.modelrunner.loader.fixtures.TrackerBase {
              public void tick(Object data) {}
              public Object predict() { return null; }
            }
            """)
        .jarTo(dir.resolve("sub/model.jar"));
    try (HostedModel model = HostedModel.open(dir.resolve("sub"))) {
      Reply reply = setup(model);
      assertThat(reply.status().code()).isEqualTo("BAD_IMPLEMENTATION");
      assertThat(reply.status().message())
          .contains("com.example.Hidden is not public")
          .contains("com.example.Outer$Inner is an inner class");
    }
  }

  /**
   * Writes the coordinator's API jar: a base class and a benchmark implementation shipped with it.
   */
  private Path apiJar(Path jar) {
    return Sources.create()
        .add(
            "com.api.Base",
            """
            package com.api;
            public abstract class Base {
              public abstract String name();
            }
            """)
        .add(
            "com.api.BenchmarkModel",
            """
            package com.api;
            public class BenchmarkModel extends Base {
              public String name() { return "benchmark"; }
            }
            """)
        .jarTo(jar);
  }

  @Test
  void baseClassInsideTheSubmissionAndItsBenchmarkIsNeverPicked() {
    Path api = apiJar(dir.resolve("sub/lib/api.jar"));
    Sources.create()
        .classPath(api)
        .add(
            "com.example.Mine",
            """
            package com.example;
            public class Mine extends com.api.Base {
              public String name() { return "mine"; }
            }
            """)
        .jarTo(dir.resolve("sub/model.jar"));
    try (HostedModel model = HostedModel.open(dir.resolve("sub"))) {
      Reply reply = model.setup("com.api.Base", Arguments.none());
      assertThat(reply.status().message()).isEqualTo("Instance created successfully");
      assertThat(model.implementationClass().orElseThrow().getName()).isEqualTo("com.example.Mine");
      assertThat(model.call("name", Arguments.none()).value().orElseThrow().asString())
          .isEqualTo("mine");
    }
  }

  @Test
  void aSubmissionWithOnlyTheBenchmarkHasNoImplementation() {
    apiJar(dir.resolve("sub/api.jar"));
    try (HostedModel model = HostedModel.open(dir.resolve("sub"))) {
      Reply reply = model.setup("com.api.Base", Arguments.none());
      assertThat(reply.status().code()).isEqualTo("BAD_IMPLEMENTATION");
      assertThat(reply.status().message())
          .startsWith("No Inherited class found from <class 'com.api.Base'>.")
          .contains("com.api.BenchmarkModel ships in the same jar or folder as the base class");
    }
  }

  @Test
  void aClassThatThrowsInItsStaticInitialiserDoesNotBreakTheScan() {
    Sources.create()
        .add("com.example.Good", tracker("com.example", "Good", "good"))
        .add(
            "com.example.Loud",
            """
            package com.example;
            public class Loud extends org.modelrunner.loader.fixtures.TrackerBase {
              static { if (true) throw new IllegalStateException("static boom"); }
              public void tick(Object data) {}
              public Object predict() { return null; }
            }
            """)
        .add(
            "com.example.Helper",
            """
            package com.example;
            public class Helper {
              static { if (true) throw new IllegalStateException("helper boom"); }
            }
            """)
        .resource("META-INF/services/" + BASE, "com.example.Loud\n")
        .compileTo(dir.resolve("with-services"));
    // Scanning loads classes without initialising them: both Good and Loud are candidates.
    Sources.create()
        .add("com.example.Good", tracker("com.example", "Good", "good"))
        .add(
            "com.example.Helper",
            """
            package com.example;
            public class Helper {
              static { if (true) throw new IllegalStateException("helper boom"); }
            }
            """)
        .compileTo(dir.resolve("scan"));
    try (HostedModel model = HostedModel.open(dir.resolve("scan"))) {
      assertThat(setup(model).status().message()).isEqualTo("Instance created successfully");
      assertThat(predict(model)).isEqualTo("good");
    }
    // The implementation itself throws while initialising: setup fails with the cause.
    try (HostedModel model = HostedModel.open(dir.resolve("with-services"))) {
      Reply reply = setup(model);
      assertThat(reply.status().code()).isEqualTo("SETUP_FAILED");
      assertThat(reply.status().message())
          .isEqualTo(
              "the static initialiser of com.example.Loud threw "
                  + "java.lang.IllegalStateException: static boom");
      assertThat(model.isSetUp()).isFalse();
    }
  }

  @Test
  void aClassThatNeedsAMissingDependencyIsSkipped() {
    Path lib =
        Sources.create()
            .add(
                "com.lib.Missing",
                """
            package com.lib;
            public abstract class Missing extends org.modelrunner.loader.fixtures.TrackerBase {}
            """)
            .compileTo(dir.resolve("lib"));
    org.modelrunner.testsupport.JavaSources broken =
        Sources.create()
            .classPath(lib)
            .add(
                "com.example.Broken",
                """
            package com.example;
            public class Broken extends com.lib.Missing {
              public void tick(Object data) {}
              public Object predict() { return "broken"; }
            }
            """);
    broken.jarTo(dir.resolve("only-broken/model.jar"));
    broken
        .add("com.example.Good", tracker("com.example", "Good", "good"))
        .jarTo(dir.resolve("both/model.jar"));
    try (HostedModel model = HostedModel.open(dir.resolve("both"))) {
      assertThat(setup(model).status().isSuccess()).isTrue();
      assertThat(predict(model)).isEqualTo("good");
    }
    try (HostedModel model = HostedModel.open(dir.resolve("only-broken"))) {
      Reply reply = setup(model);
      assertThat(reply.status().code()).isEqualTo("BAD_IMPLEMENTATION");
      assertThat(reply.status().message())
          .contains("com.example.Broken cannot be loaded")
          .contains("com/lib/Missing");
    }
  }

  @Test
  void twoSubmissionsWithClashingClassNamesDoNotSeeEachOther() {
    Sources.create()
        .add("com.example.Model", tracker("com.example", "Model", "one"))
        .jarTo(dir.resolve("one/m.jar"));
    Sources.create()
        .add("com.example.Model", tracker("com.example", "Model", "two"))
        .jarTo(dir.resolve("two/m.jar"));
    try (HostedModel one = HostedModel.open(dir.resolve("one"));
        HostedModel two = HostedModel.open(dir.resolve("two"))) {
      assertThat(setup(one).status().isSuccess()).isTrue();
      assertThat(setup(two).status().isSuccess()).isTrue();
      assertThat(predict(one)).isEqualTo("one");
      assertThat(predict(two)).isEqualTo("two");
      Class<?> first = one.implementationClass().orElseThrow();
      Class<?> second = two.implementationClass().orElseThrow();
      assertThat(first.getName()).isEqualTo(second.getName());
      assertThat(first).isNotSameAs(second);
      // The shared base class is the host's in both.
      assertThat(first.getSuperclass()).isSameAs(second.getSuperclass());
    }
  }

  @Test
  void aSubmissionThatBundlesACopyOfTheApiUsesTheHostsApi() throws Exception {
    Path spi = Sources.locationOf(Variant.class);
    Path copy = dir.resolve("sub/lib/model-runner-spi-copy.jar");
    if (Files.isDirectory(spi)) {
      Sources.pack(spi, copy);
    } else {
      Files.createDirectories(copy.getParent());
      Files.copy(spi, copy, StandardCopyOption.REPLACE_EXISTING);
    }
    Sources.create()
        .add(
            "com.example.Typed",
            """
            package com.example;
            import org.modelrunner.spi.Variant;
            public class Typed extends org.modelrunner.loader.fixtures.TrackerBase {
              public void tick(Object data) {}
              public Object predict() { return Variant.ofString("raw"); }
            }
            """)
        .jarTo(dir.resolve("sub/model.jar"));
    try (HostedModel model = HostedModel.open(dir.resolve("sub"))) {
      assertThat(model.submission().classNames()).contains("org.modelrunner.spi.Variant");
      assertThat(model.submission().classLoader().loadClass("org.modelrunner.spi.Variant"))
          .isSameAs(Variant.class);
      assertThat(setup(model).status().isSuccess()).isTrue();
      // The model's Variant is the host's, so it passes through unchanged instead of becoming JSON.
      Reply reply = model.call("predict", Arguments.none());
      assertThat(reply.value()).contains(Variant.ofString("raw"));
    }
  }

  @Test
  void aServicesEntryWinsOverTheScan() {
    Sources.create()
        .add("com.example.A", tracker("com.example", "A", "a"))
        .add("com.example.B", tracker("com.example", "B", "b"))
        .resource("META-INF/services/" + BASE, "# the one to use\ncom.example.B\n")
        .jarTo(dir.resolve("sub/model.jar"));
    try (HostedModel model = HostedModel.open(dir.resolve("sub"))) {
      assertThat(setup(model).status().isSuccess()).isTrue();
      assertThat(predict(model)).isEqualTo("b");
    }
  }

  @Test
  void aServicesEntryNamingAMissingClassIsBadImplementation() {
    Sources.create()
        .add("com.example.A", tracker("com.example", "A", "a"))
        .resource("META-INF/services/" + BASE, "com.example.Gone\n")
        .jarTo(dir.resolve("sub/model.jar"));
    try (HostedModel model = HostedModel.open(dir.resolve("sub"))) {
      Reply reply = setup(model);
      assertThat(reply.status().code()).isEqualTo("BAD_IMPLEMENTATION");
      assertThat(reply.status().message())
          .contains("com.example.Gone (listed in META-INF/services) cannot be loaded");
    }
  }

  @Test
  void aMissingOrEmptySubmissionIsAClearError() throws Exception {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Submission.open(dir.resolve("absent")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("does not exist");
    Files.createDirectories(dir.resolve("empty"));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Submission.open(dir.resolve("empty")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("contains no jar and no class file");
  }

  @Test
  void aJarThatIsNotAZipIsAClearErrorThatNamesIt() throws Exception {
    Path submission = dir.resolve("corrupt");
    Files.createDirectories(submission.resolve("lib"));
    Files.writeString(submission.resolve("lib/model.jar"), "not a zip file");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Submission.open(submission))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "The jar lib/model.jar in the submission "
                + submission
                + " cannot be read as a jar: zip END header not found (ZipException)");
    Path jar = dir.resolve("alone.jar");
    Files.write(jar, new byte[] {'P', 'K', 3, 4, 0});
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Submission.open(jar))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("The submission " + jar + " cannot be read as a jar: ");
  }

  @Test
  void anImplementationOnTheClassPathCanBeHostedWithoutDiscovery() {
    try (HostedModel model =
        HostedModel.forImplementation(org.modelrunner.loader.fixtures.ClassPathTracker.class)) {
      Reply wrongBase = model.setup("java.lang.Runnable", Arguments.none());
      assertThat(wrongBase.status().code()).isEqualTo("BAD_IMPLEMENTATION");
      assertThat(wrongBase.status().message())
          .isEqualTo(
              "No Inherited class found from <class 'java.lang.Runnable'>. "
                  + "org.modelrunner.loader.fixtures.ClassPathTracker does not extend or implement it.");
      assertThat(setup(model).status().message()).isEqualTo("Instance created successfully");
      model.call("tick", Arguments.builder().add(Variant.NONE).build());
      assertThat(model.call("predict", Arguments.none()).value()).contains(Variant.ofLong(1));
    }
  }

  @Test
  void theScanLoadsOnlyClassesThatMayExtendTheBaseClass() {
    Sources.create()
        .add("com.example.Good", tracker("com.example", "Good", "good"))
        .add(
            "com.example.Unrelated",
            "package com.example; public class Unrelated extends java.util.ArrayList<String> {}")
        .add(
            "com.example.Middle",
            """
            package com.example;
            public abstract class Middle extends org.modelrunner.loader.fixtures.TrackerBase {}
            """)
        .add(
            "com.example.Deep",
            """
            package com.example;
            public class Deep extends Middle {
              public void tick(Object data) {}
              public Object predict() { return "deep"; }
            }
            """)
        .jarTo(dir.resolve("sub/model.jar"));
    try (HostedModel model = HostedModel.open(dir.resolve("sub"))) {
      Reply reply = setup(model);
      // Deep reaches the base class through Middle, a class of the submission: both are candidates.
      assertThat(reply.status().message()).contains("com.example.Deep, com.example.Good");
      SubmissionClassLoader loader = (SubmissionClassLoader) model.submission().classLoader();
      assertThat(loader.hasLoaded("com.example.Unrelated")).isFalse();
      assertThat(loader.hasLoaded("com.example.Deep")).isTrue();
    }
  }

  @Test
  void aBaseClassOfTheJdkIsFoundThroughTheJdksOwnSupertypes() {
    Sources.create()
        .add(
            "com.example.Listy",
            "package com.example; public class Listy extends java.util.AbstractList<String> {"
                + " public String get(int i) { return null; } public int size() { return 0; } }")
        .jarTo(dir.resolve("sub/model.jar"));
    try (HostedModel model = HostedModel.open(dir.resolve("sub"))) {
      assertThat(model.setup("java.util.List", Arguments.none()).status().message())
          .isEqualTo("Instance created successfully");
      assertThat(model.implementationClass().orElseThrow().getName())
          .isEqualTo("com.example.Listy");
    }
  }
}
