package org.modelrunner.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.modelrunner.client.CallStatus;
import org.modelrunner.client.FanOut;
import org.modelrunner.client.FanOutResult;
import org.modelrunner.client.ModelFleet;
import org.modelrunner.client.StaticModelDirectory;
import org.modelrunner.image.Podman.Result;

/**
 * Makes the image's class-data sharing archive, a step of the image's build (the module's pom runs
 * it between the image without the archive and the image with it): it runs the image in podman with
 * {@code -XX:ArchiveClassesAtExit}, serves a coordinator's first minute with it (health checks, a
 * Setup, calls), stops it with {@code SIGTERM} (the JVM writes the archive as it exits), and leaves
 * in the output folder {@code runner.jsa} and the launcher argument file {@code jvm-options} that
 * points the image's JVM at it. The JVM then maps the classes a runner loads on its way to serving
 * instead of loading them from the jars: it serves in about half the time.
 *
 * <p>The archive holds only if the JVM and the class path are those it was made with: the same
 * runtime (the image's base) and the same jars at the same paths with the same times and sizes,
 * which Jib's reproducible layers keep from one build of the image to the next. Where they differ
 * the JVM starts without it (silently: {@code -Xshare:auto}).
 *
 * <p>Without podman it writes nothing and says so (the image is then built without the archive),
 * unless the environment variable {@code CI} is set, when it fails.
 *
 * <p>Usage: {@code ClassArchiveTraining IMAGE_TARBALL IMAGE_NAME OUTPUT_DIRECTORY}.
 */
public final class ClassArchiveTraining {
  /** Where the image holds the archive and its argument file. */
  static final String IN_IMAGE = "/opt/model-runner/cds";

  private static final int CALLS = 2_000;

  private ClassArchiveTraining() {}

  /** Trains; see the class description. */
  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      throw new IllegalArgumentException(
          "usage: ClassArchiveTraining IMAGE_TARBALL IMAGE_NAME OUTPUT_DIRECTORY");
    }
    Path tarball = Path.of(args[0]);
    String image = "localhost/" + args[1];
    Path output = Path.of(args[2]);
    if (!Podman.available()) {
      if (System.getenv("CI") != null) {
        throw new IllegalStateException(
            "podman is not installed: apt-get install -y podman runc (.ci/run installs them)");
      }
      System.out.println(
          "Class-data archive: podman is not installed; the image is built without the archive");
      return;
    }
    Files.createDirectories(output);
    Path workspace = Files.createTempDirectory("model-runner-class-archive");
    String name = "model-runner-class-archive-" + UUID.randomUUID();
    try {
      Path archive = train(tarball, image, name, workspace);
      Files.copy(archive, output.resolve("runner.jsa"), StandardCopyOption.REPLACE_EXISTING);
      Files.writeString(
          output.resolve("jvm-options"),
          "# The runner's class-data sharing archive, made when the image was built.\n"
              + "-XX:SharedArchiveFile="
              + IN_IMAGE
              + "/runner.jsa\n",
          StandardCharsets.UTF_8);
      System.out.printf(
          "Class-data archive: %s (%,d bytes)%n",
          output.resolve("runner.jsa"), Files.size(archive));
    } finally {
      Podman.run(Duration.ofMinutes(1), "rm", "--force", "--time", "0", name);
      Podman.run(Duration.ofMinutes(1), "rmi", "--force", image);
      deleteTree(workspace);
    }
  }

  private static Path train(Path tarball, String image, String name, Path workspace)
      throws Exception {
    check(Podman.run(Duration.ofMinutes(3), "load", "--quiet", "--input", tarball.toString()));
    Podman.writeSubmission(workspace);
    Path dump = Files.createDirectories(workspace.resolve("archive"));
    // Written by the runner's user.
    Files.setPosixFilePermissions(dump, PosixFilePermissions.fromString("rwxrwxrwx"));
    int port = Podman.freePort();
    List<String> run = new ArrayList<>(List.of("run", "--detach", "--name", name));
    run.addAll(Podman.lockedDown(workspace));
    run.addAll(
        List.of(
            "--volume",
            dump + ":/archive",
            "--env",
            "GRPC_ADDRESS=127.0.0.1:" + port,
            "--env",
            "JAVA_TOOL_OPTIONS=-XX:ArchiveClassesAtExit=/archive/runner.jsa -Xlog:cds=error",
            image));
    check(Podman.run(Duration.ofMinutes(1), run.toArray(String[]::new)));
    try (ModelFleet fleet =
        ModelFleet.builder()
            .directory(StaticModelDirectory.of("grpc://127.0.0.1:" + port))
            .baseClass(Podman.BASE_CLASS)
            .callTimeout(Duration.ofSeconds(10))
            .build()) {
      if (!fleet.awaitConnected(1, Duration.ofMinutes(1))) {
        throw new IllegalStateException(
            "The runner did not serve: "
                + fleet.models()
                + "; its output: "
                + Podman.run(Duration.ofSeconds(20), "logs", name).output());
      }
      for (int i = 0; i < CALLS; i++) {
        FanOutResult result = fleet.callAndWait(FanOut.of("value"));
        if (result.outcomes().get(0).status() != CallStatus.SUCCESS) {
          throw new IllegalStateException("A training call failed: " + result.outcomes());
        }
      }
    }
    check(Podman.run(Duration.ofMinutes(1), "stop", "--time", "30", name));
    Path archive = dump.resolve("runner.jsa");
    if (!Files.isRegularFile(archive) || Files.size(archive) == 0) {
      throw new IllegalStateException(
          "The runner wrote no class-data archive; its output: "
              + Podman.run(Duration.ofSeconds(20), "logs", name).output());
    }
    return archive;
  }

  private static void check(Result result) {
    if (result.exit() != 0) {
      throw new IllegalStateException("podman failed: " + result.output());
    }
  }

  /**
   * Deletes the training's folder; what cannot be deleted is left with a note (under rootless
   * podman, the archive belongs to a user of the container's).
   */
  private static void deleteTree(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      System.out.println("Class-data archive: could not delete " + root + ": " + e);
    }
  }
}
