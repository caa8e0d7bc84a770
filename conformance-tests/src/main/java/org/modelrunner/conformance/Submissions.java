package org.modelrunner.conformance;

import java.io.File;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.modelrunner.conformance.models.ConformanceBase;
import org.modelrunner.spi.Variant;

/**
 * The submissions the suite deploys, compiled from the Java sources below with {@code javax.tools}
 * (class path: the suite's jar and the spi; {@code -parameters}, so that keyword arguments find
 * their parameters) once per JVM into a temporary folder, one class folder per submission. The
 * folder is deleted when the JVM exits.
 */
final class Submissions {
  /** The submissions, by what they are for. */
  enum Kind {
    /** {@code conformance.main.MainModel}: every method the rules call. */
    MAIN("conformance.main"),
    /** {@code conformance.failing.FailingModel}: its constructor throws. */
    FAILING_CONSTRUCTOR("conformance.failing"),
    /** {@code conformance.unrelated.Unrelated}: no class extends the base class. */
    NO_IMPLEMENTATION("conformance.unrelated");

    final String packageName;

    Kind(String packageName) {
      this.packageName = packageName;
    }
  }

  /**
   * The simple name of the main model's class, as {@code Method "x" not found in class "…"} names
   * it.
   */
  static final String MAIN_CLASS = "MainModel";

  /** The message of the exception the failing model's constructor throws. */
  static final String CONSTRUCTOR_FAILURE = "refusing to start for the conformance suite";

  private static final String MAIN_SOURCE =
      """
      package conformance.main;

      import java.util.concurrent.atomic.AtomicInteger;
      import org.modelrunner.conformance.models.ConformanceBase;
      import org.modelrunner.spi.Variant;

      /** The model of most rules. Static state lives as long as the runner's class loader. */
      public class MainModel extends ConformanceBase {
        private static final AtomicInteger CREATED = new AtomicInteger();
        private static final AtomicInteger ACTIVE = new AtomicInteger();
        private static final AtomicInteger MAX_ACTIVE = new AtomicInteger();

        private final int number = CREATED.incrementAndGet();
        private final String name;
        private long ticks;

        public MainModel() { this("default"); }
        public MainModel(String name) { this.name = name; }

        public String name() { return name; }
        public int instanceNumber() { return number; }
        public long tick() { return ++ticks; }

        /** Returns exactly the value it received: declared as Variant, so nothing is decoded. */
        public Variant echo(Variant value) { return value; }

        public String join(String x, String y, String z) { return x + y + z; }
        public String pair(String a, String b) { return a + "|" + b; }
        public void nothing() {}
        public String nothingToo() { return null; }
        public String fail(String message) { throw new IllegalStateException(message); }
        public String text(int length) { return "x".repeat(length); }
        public int length(String text) { return text.length(); }

        /** Holds the call for the given time, counting how many calls are inside at once. */
        public long work(long millis) throws InterruptedException {
          int active = ACTIVE.incrementAndGet();
          MAX_ACTIVE.accumulateAndGet(active, Math::max);
          try {
            if (millis > 0) {
              Thread.sleep(millis);
            }
            return millis;
          } finally {
            ACTIVE.decrementAndGet();
          }
        }

        /** The most calls ever seen inside work at once by this runner. */
        public int maxConcurrent() { return MAX_ACTIVE.get(); }
      }
      """;

  private static final String FAILING_SOURCE =
      """
      package conformance.failing;

      import org.modelrunner.conformance.models.ConformanceBase;

      public class FailingModel extends ConformanceBase {
        public FailingModel() {
          throw new IllegalStateException("%s");
        }
      }
      """
          .formatted(CONSTRUCTOR_FAILURE);

  private static final String UNRELATED_SOURCE =
      """
      package conformance.unrelated;

      /** Extends nothing the coordinator asks for. */
      public class Unrelated {
        public String name() { return "unrelated"; }
      }
      """;

  private static volatile Submissions compiled;

  private final Path root;
  private final Map<Kind, Path> folders;

  private Submissions(Path root, Map<Kind, Path> folders) {
    this.root = root;
    this.folders = folders;
  }

  /**
   * Returns the submissions, compiling them on first use.
   *
   * @throws IllegalStateException if there is no Java compiler (the suite needs a JDK, not a JRE)
   */
  static Submissions get() {
    Submissions result = compiled;
    if (result == null) {
      synchronized (Submissions.class) {
        result = compiled;
        if (result == null) {
          result = compile();
          compiled = result;
        }
      }
    }
    return result;
  }

  /** Returns the class folder of a submission. */
  Path folder(Kind kind) {
    return folders.get(kind);
  }

  /** Returns what a runner needs on its host class path: where {@link ConformanceBase} lives. */
  static List<Path> hostClassPath() {
    return List.of(locationOf(ConformanceBase.class));
  }

  private static Submissions compile() {
    JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
    if (compiler == null) {
      throw new IllegalStateException(
          "The conformance suite compiles its test submissions at run time and needs a JDK"
              + " (javax.tools found no system Java compiler in "
              + System.getProperty("java.home")
              + ")");
    }
    try {
      Path root = Files.createTempDirectory("modelrunner-conformance-");
      Runtime.getRuntime()
          .addShutdownHook(new Thread(() -> deleteQuietly(root), "conformance-cleanup"));
      Path sources = Files.createDirectories(root.resolve("sources"));
      Path classes = Files.createDirectories(root.resolve("classes"));
      List<Path> files = new ArrayList<>();
      files.add(write(sources, "conformance/main/MainModel.java", MAIN_SOURCE));
      files.add(write(sources, "conformance/failing/FailingModel.java", FAILING_SOURCE));
      files.add(write(sources, "conformance/unrelated/Unrelated.java", UNRELATED_SOURCE));

      String classPath =
          Stream.of(locationOf(ConformanceBase.class), locationOf(Variant.class))
              .map(Path::toString)
              .distinct()
              .collect(Collectors.joining(File.pathSeparator));
      List<String> options =
          List.of(
              "--release",
              "17",
              "-parameters",
              "-proc:none",
              "-nowarn",
              "-encoding",
              "UTF-8",
              "-d",
              classes.toString(),
              "-classpath",
              classPath);
      StringWriter errors = new StringWriter();
      try (StandardJavaFileManager fileManager =
          compiler.getStandardFileManager(null, null, StandardCharsets.UTF_8)) {
        Iterable<? extends JavaFileObject> units = fileManager.getJavaFileObjectsFromPaths(files);
        Boolean ok = compiler.getTask(errors, fileManager, null, options, null, units).call();
        if (!Boolean.TRUE.equals(ok)) {
          throw new IllegalStateException(
              "Cannot compile the conformance suite's submissions (class path "
                  + classPath
                  + "):\n"
                  + errors);
        }
      }
      Map<Kind, Path> folders = new EnumMap<>(Kind.class);
      for (Kind kind : Kind.values()) {
        Path folder =
            root.resolve("submissions").resolve(kind.name().toLowerCase(java.util.Locale.ROOT));
        Path target = folder.resolve(kind.packageName.replace('.', '/'));
        Files.createDirectories(target.getParent());
        Files.move(classes.resolve(kind.packageName.replace('.', '/')), target);
        folders.put(kind, folder);
      }
      return new Submissions(root, folders);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write the conformance suite's submissions", e);
    }
  }

  private static Path write(Path dir, String relative, String content) throws IOException {
    Path file = dir.resolve(relative);
    Files.createDirectories(file.getParent());
    Files.writeString(file, content, StandardCharsets.UTF_8);
    return file;
  }

  static Path locationOf(Class<?> type) {
    CodeSource source = type.getProtectionDomain().getCodeSource();
    if (source == null || source.getLocation() == null) {
      throw new IllegalStateException("Cannot tell where " + type.getName() + " was loaded from");
    }
    try {
      return Path.of(source.getLocation().toURI()).toAbsolutePath().normalize();
    } catch (URISyntaxException e) {
      throw new IllegalStateException(
          "Cannot tell where " + type.getName() + " was loaded from", e);
    }
  }

  private static void deleteQuietly(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      // best effort: a temporary folder
    }
  }

  @Override
  public String toString() {
    return "Submissions{" + root + "}";
  }
}
