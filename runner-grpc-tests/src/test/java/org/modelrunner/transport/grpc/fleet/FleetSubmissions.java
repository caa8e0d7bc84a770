package org.modelrunner.transport.grpc.fleet;

import java.io.File;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

/**
 * The fleet test's submissions, compiled from source into class folders of their own (a submission
 * must define its implementation itself; {@link PredictorBase} comes from the host class path).
 */
final class FleetSubmissions implements AutoCloseable {
  static final String GOOD =
      """
      package fleet.good;
      public class Doubler extends org.modelrunner.transport.grpc.fleet.PredictorBase {
        public double predict(double x) { return 2 * x; }
      }
      """;

  /** Sleeps {@code SLOW_MILLIS} in every call. */
  static final String SLOW =
      """
      package fleet.slow;
      public class Sleeper extends org.modelrunner.transport.grpc.fleet.PredictorBase {
        public double predict(double x) throws InterruptedException { Thread.sleep(%d); return x; }
      }
      """;

  static final String FAILING =
      """
      package fleet.failing;
      public class Thrower extends org.modelrunner.transport.grpc.fleet.PredictorBase {
        public double predict(double x) { throw new IllegalStateException("no prediction for " + x); }
      }
      """;

  private final Path root;

  FleetSubmissions() throws IOException {
    root = Files.createTempDirectory("modelrunner-grpc-fleet-");
  }

  /** Returns where {@link PredictorBase} was loaded from: the runners' host class path. */
  static Path hostClassPath() {
    try {
      return Path.of(
          PredictorBase.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Compiles one source file (a public class, fully qualified) into a class folder of its own. */
  Path compile(String name, String source) throws IOException {
    String packageName =
        source.lines().findFirst().orElseThrow().replace("package", "").replace(";", "").strip();
    String className =
        source
            .lines()
            .filter(line -> line.startsWith("public class "))
            .findFirst()
            .orElseThrow()
            .split(" ")[2];
    Path sources = Files.createDirectories(root.resolve("sources").resolve(name));
    Path file = sources.resolve(className + ".java");
    Files.writeString(file, source, StandardCharsets.UTF_8);
    Path classes = Files.createDirectories(root.resolve("submissions").resolve(name));
    JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
    StringWriter errors = new StringWriter();
    try (StandardJavaFileManager files =
        compiler.getStandardFileManager(null, null, StandardCharsets.UTF_8)) {
      List<String> options =
          List.of(
              "--release",
              "17",
              "-parameters",
              "-proc:none",
              "-d",
              classes.toString(),
              "-classpath",
              hostClassPath().toString());
      if (!compiler
          .getTask(errors, files, null, options, null, files.getJavaFileObjects(file))
          .call()) {
        throw new IllegalStateException(
            "Cannot compile " + packageName + "." + className + ":\n" + errors);
      }
    }
    return classes;
  }

  @Override
  public void close() {
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
    } catch (IOException | UncheckedIOException e) {
      // a temporary folder: best effort
    }
  }
}
