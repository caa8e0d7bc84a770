package org.modelrunner.transport.grpc.crosslang;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The Python side of the cross-language tests: Debian's {@code /usr/bin/python3} with its {@code
 * python3-grpcio} and {@code python3-protobuf}, and the scripts of {@code src/test/python}, which
 * use stubs generated here from our own protos by Debian's {@code protoc} and {@code
 * grpc_python_plugin} (the generated code matches the Debian Python runtime's version; a newer
 * protoc on the PATH might not).
 *
 * <p>When those are missing the tests fail if the environment variable {@code CI} is set ({@code
 * .ci/run} installs them, so their absence there is a broken build) and are skipped otherwise,
 * naming the packages.
 */
final class PythonPeer {
  static final Path PYTHON = Path.of("/usr/bin/python3");
  static final Path PROTOC = Path.of("/usr/bin/protoc");
  static final Path GRPC_PYTHON_PLUGIN = Path.of("/usr/bin/grpc_python_plugin");
  static final String PACKAGES =
      "python3-grpcio python3-protobuf python3-cryptography protobuf-compiler protobuf-compiler-grpc";

  /** The bound of every wait on a Python process: its start, its port, its run to the end. */
  static final Duration TIMEOUT = Duration.ofSeconds(90);

  private static final AtomicInteger RUNS = new AtomicInteger();

  /** What is missing ("" when nothing is), checked once per JVM. */
  private static String missing;

  private static Path stubs;

  private PythonPeer() {}

  /**
   * Makes sure the Python side can run and its stubs are generated (once per JVM); fails in CI and
   * skips elsewhere when it cannot. Call it before each test, so that every skipped test is
   * reported as such.
   */
  static synchronized void require() {
    if (missing == null) {
      missing = findMissing();
    }
    if (!missing.isEmpty()) {
      String message =
          "The cross-language tests need "
              + missing
              + ". Install Debian's packages: apt-get install -y "
              + PACKAGES
              + " (.ci/run installs them in CI)";
      if (System.getenv("CI") != null) {
        fail(
            message
                + ". The environment variable CI is set: the packages should be there, so this fails.");
      }
      assumeTrue(false, message + ". Skipped (the environment variable CI is not set).");
    }
    if (stubs == null) {
      stubs = generateStubs();
    }
  }

  /** What is missing, or "" when nothing is. */
  private static String findMissing() {
    List<String> missing = new ArrayList<>();
    for (Path tool : List.of(PYTHON, PROTOC, GRPC_PYTHON_PLUGIN)) {
      if (!Files.isExecutable(tool)) {
        missing.add(tool.toString());
      }
    }
    if (!missing.isEmpty()) {
      return String.join(", ", missing);
    }
    Finished check =
        run(
            "python3-check",
            List.of(PYTHON.toString(), "-c", "import grpc, google.protobuf, cryptography"),
            Map.of(),
            TIMEOUT);
    return check.exitCode() == 0
        ? ""
        : PYTHON
            + " with the modules grpc, google.protobuf and cryptography ("
            + check.stderr().strip()
            + ")";
  }

  /** The module's folder (Surefire sets {@code basedir}). */
  static Path moduleDir() {
    return Path.of(System.getProperty("basedir", "")).toAbsolutePath();
  }

  static Path scripts() {
    return moduleDir().resolve("src/test/python");
  }

  /** Generates the Python stubs of our protos (and of the standard health service) into target/. */
  private static Path generateStubs() {
    Path target = moduleDir().resolve("target");
    // One folder per test JVM: the module's tests run in two at once.
    String fork = System.getProperty("modelrunner.fork", "1");
    Path out = target.resolve("python-stubs-" + fork);
    Path include = target.resolve("python-stubs-include-" + fork);
    try {
      Files.createDirectories(out);
      // google/protobuf/empty.proto, from protobuf-java: Debian ships it in libprotobuf-dev, which
      // a
      // protoc installed without recommended packages lacks.
      Path empty = include.resolve("google/protobuf/empty.proto");
      Files.createDirectories(empty.getParent());
      try (InputStream in =
          com.google.protobuf.Empty.class.getResourceAsStream("/google/protobuf/empty.proto")) {
        assertThat(in).as("google/protobuf/empty.proto on the class path").isNotNull();
        Files.copy(in, empty, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Finished protoc =
        run(
            "protoc",
            List.of(
                PROTOC.toString(),
                "-I",
                moduleDir().resolve("../transport-grpc/src/main/protobuf").normalize().toString(),
                "-I",
                scripts().toString(),
                "-I",
                include.toString(),
                "--python_out=" + out,
                "--grpc_python_out=" + out,
                "--plugin=protoc-gen-grpc_python=" + GRPC_PYTHON_PLUGIN,
                "commons.proto",
                "dynamic_subclass.proto",
                "health.proto"),
            Map.of(),
            TIMEOUT);
    assertThat(protoc.exitCode()).as("protoc of the Python stubs: %s", protoc).isZero();
    return out;
  }

  /** Runs a script of src/test/python to its end (bounded by {@link #TIMEOUT}). */
  static Finished runScript(String script, String... arguments) {
    return run(script, command(script, arguments), environment(), TIMEOUT);
  }

  /**
   * Starts {@code serve_model.py} on a free port of 127.0.0.1 and waits until it prints that port.
   */
  static PythonServer serveModel() {
    return new PythonServer(command("serve_model.py", "0"), environment(), logs("serve_model.py"));
  }

  /**
   * Starts a server script of src/test/python that prints its port first, and waits for the port.
   */
  static PythonServer serve(String script, String... arguments) {
    return new PythonServer(command(script, arguments), environment(), logs(script));
  }

  private static List<String> command(String script, String... arguments) {
    List<String> command =
        new ArrayList<>(List.of(PYTHON.toString(), scripts().resolve(script).toString()));
    command.addAll(List.of(arguments));
    return command;
  }

  private static Map<String, String> environment() {
    return Map.of(
        "MODELRUNNER_PYTHON_STUBS", stubs.toString(),
        "PYTHONDONTWRITEBYTECODE", "1",
        "PYTHONIOENCODING", "utf-8",
        "PYTHONUNBUFFERED", "1");
  }

  /**
   * The files that receive a process's output (files, not pipes: nothing to drain, nothing blocks).
   */
  private static Path[] logs(String name) {
    try {
      Path dir = Files.createDirectories(moduleDir().resolve("target/crosslang-logs"));
      String base = name + "-" + ProcessHandle.current().pid() + "-" + RUNS.incrementAndGet();
      return new Path[] {dir.resolve(base + ".out"), dir.resolve(base + ".err")};
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Process start(List<String> command, Map<String, String> environment, Path[] logs) {
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectOutput(logs[0].toFile())
            .redirectError(logs[1].toFile());
    builder.environment().putAll(environment);
    try {
      return builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot start " + command, e);
    }
  }

  private static Finished run(
      String name, List<String> command, Map<String, String> environment, Duration timeout) {
    Path[] logs = logs(name);
    Process process = start(command, environment, logs);
    try {
      boolean done = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (!done) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        return new Finished(
            command, -1, read(logs[0]), read(logs[1]) + "\n(killed after " + timeout + ")");
      }
      return new Finished(command, process.exitValue(), read(logs[0]), read(logs[1]));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while running " + command, e);
    } finally {
      process.destroyForcibly();
    }
  }

  static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A process that ran to its end (or was killed after the timeout, exit code -1). */
  record Finished(List<String> command, int exitCode, String stdout, String stderr) {
    /** The last line of standard output, parsed as JSON. */
    JsonNode json() {
      String[] lines = stdout.strip().split("\n");
      try {
        return new ObjectMapper().readTree(lines[lines.length - 1]);
      } catch (IOException e) {
        throw new AssertionError("The last line of " + command + " is not JSON: " + this, e);
      }
    }

    @Override
    public String toString() {
      return String.join(" ", command)
          + " exited with "
          + exitCode
          + "\nstdout:\n"
          + stdout
          + "\nstderr:\n"
          + stderr;
    }
  }

  /** {@code serve_model.py} running; {@link #close()} kills it. */
  static final class PythonServer implements AutoCloseable {
    private final Process process;
    private final Path[] logs;
    private final int port;

    private PythonServer(List<String> command, Map<String, String> environment, Path[] logs) {
      this.logs = logs;
      this.process = start(command, environment, logs);
      try {
        this.port = awaitPort();
      } catch (RuntimeException | Error e) {
        close();
        throw e;
      }
    }

    private int awaitPort() {
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (System.nanoTime() < deadline) {
        String out = read(logs[0]);
        int end = out.indexOf('\n');
        if (end >= 0) {
          String line = out.substring(0, end).strip();
          assertThat(line)
              .as("the first line of serve_model.py (its port); %s", this)
              .matches("[1-9][0-9]*");
          return Integer.parseInt(line);
        }
        if (!process.isAlive()) {
          fail(
              "serve_model.py exited with "
                  + process.exitValue()
                  + " before printing its port; "
                  + this);
        }
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
      }
      fail("serve_model.py printed no port within " + TIMEOUT + "; " + this);
      return 0;
    }

    int port() {
      return port;
    }

    /** What the process printed so far. */
    String output() {
      return read(logs[0]);
    }

    /** Kills the process (forcibly) and waits, bounded, for it to end. */
    @Override
    public void close() {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public String toString() {
      return "stdout:\n" + read(logs[0]) + "\nstderr:\n" + read(logs[1]);
    }
  }
}
