package org.modelrunner.image;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.modelrunner.testsupport.JavaSources;

/**
 * What the image's end-to-end test and its class-archive training share: podman (on runc where it
 * is installed: crun refuses machines whose cgroups are in hybrid mode), the submission they run,
 * the options of a locked-down container, and loopback ports.
 */
final class Podman {
  private static final String PODMAN = "podman";

  /** The memory limit of the containers: the heap is 75% of it. */
  static final long MEMORY_LIMIT = 512L * 1024 * 1024;

  /** The base class of {@link #writeSubmission}'s model. */
  static final String BASE_CLASS = "com.example.imageapi.Base";

  /** What a command printed (standard output and error) and its exit code. */
  record Result(int exit, String output) {}

  private Podman() {}

  /** Returns whether podman is on the path. */
  static boolean available() {
    return onPath(PODMAN);
  }

  /** Runs podman with {@code args}; fails if it does not end within {@code timeout}. */
  static Result run(Duration timeout, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(PODMAN);
    if (onPath("runc")) {
      command.addAll(List.of("--runtime", "runc"));
    }
    command.addAll(Arrays.asList(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    process.getOutputStream().close();
    byte[] output = process.getInputStream().readAllBytes();
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      throw new AssertionError(command + " did not end within " + timeout);
    }
    return new Result(process.exitValue(), new String(output, StandardCharsets.UTF_8));
  }

  /**
   * The options of {@code podman run} for a runner locked down as the README recommends (read-only
   * root filesystem, a memory limit, no capabilities, no new privileges), sharing the host's
   * network (it listens on 127.0.0.1 only), with the submission of {@link #writeSubmission}
   * mounted.
   */
  static List<String> lockedDown(Path workspace) {
    return List.of(
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--cap-drop=all",
        "--security-opt",
        "no-new-privileges",
        "--memory",
        Long.toString(MEMORY_LIMIT),
        // Podman raises these limits for root, which a machine without CAP_SYS_RESOURCE refuses.
        "--ulimit",
        "nofile=4096:4096",
        "--ulimit",
        "nproc=4096:4096",
        "--network",
        "host",
        "--volume",
        workspace.resolve("code") + ":/workspace/submission/code:ro",
        "--volume",
        workspace.resolve("resources") + ":/workspace/resources:ro",
        "--env",
        "HOST_CLASS_PATH=/workspace/resources/api.jar");
  }

  /**
   * Writes a submission under {@code workspace}: {@code resources/api.jar} (the coordinator's base
   * class, {@link #BASE_CLASS}, whose {@code value()} the model answers with 7) and {@code
   * code/model.jar}, readable by the runner's user.
   */
  static void writeSubmission(Path workspace) throws IOException {
    Path api =
        JavaSources.create()
            .add(
                BASE_CLASS,
                """
                package com.example.imageapi;
                public abstract class Base { public abstract long value(); }
                """)
            .jarTo(workspace.resolve("resources/api.jar"));
    JavaSources.create()
        .classPath(api)
        .add(
            "com.example.image.Model",
            """
            package com.example.image;
            public class Model extends com.example.imageapi.Base {
              public long value() { return 7; }
            }
            """)
        .jarTo(workspace.resolve("code/model.jar"));
    readableByAll(workspace);
  }

  /** Returns a free port on 127.0.0.1. */
  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return socket.getLocalPort();
    }
  }

  private static boolean onPath(String program) {
    return Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
        .anyMatch(dir -> Files.isExecutable(Path.of(dir, program)));
  }

  /** The runner's user (65532) reads the mounted folders. */
  private static void readableByAll(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : (Iterable<Path>) paths::iterator) {
        Files.setPosixFilePermissions(
            path,
            PosixFilePermissions.fromString(Files.isDirectory(path) ? "rwxr-xr-x" : "rw-r--r--"));
      }
    }
  }
}
