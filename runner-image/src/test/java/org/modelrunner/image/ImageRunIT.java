package org.modelrunner.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.modelrunner.client.CallOutcome;
import org.modelrunner.client.CallStatus;
import org.modelrunner.client.FanOut;
import org.modelrunner.client.ModelFleet;
import org.modelrunner.client.StaticModelDirectory;
import org.modelrunner.testsupport.JavaSources;

/**
 * The built image, run by podman with the recommended isolation (read-only root filesystem, a
 * memory limit, every capability dropped, no new privileges) and called by the client: it serves
 * the mounted submission as the runner's user, sizes its heap by the memory limit, serves its
 * metrics, and drains on {@code SIGTERM}.
 *
 * <p>It runs unless {@code -Drunner.image.e2e=false} turns it off. It needs Debian's {@code podman}
 * (and {@code runc}: crun refuses machines whose cgroups are in hybrid mode), which {@code .ci/run}
 * installs; without podman it is skipped, unless the environment variable {@code CI} is set, when
 * it fails. The container shares the host's network namespace and listens on 127.0.0.1 only.
 */
@EnabledIfSystemProperty(
    named = "modelrunner.image.e2e",
    matches = "true",
    disabledReason = "the image's end-to-end run is off (-Drunner.image.e2e=false)")
class ImageRunIT {
  private static final String PODMAN = "podman";
  private static final String NAME = "model-runner-image-it-" + UUID.randomUUID();
  private static final long MEMORY_LIMIT = 512L * 1024 * 1024;

  @TempDir static Path workspace;
  static String image;
  static int grpcPort;
  static int metricsPort;
  static long servingMillis;

  @BeforeAll
  static void startTheImage() throws Exception {
    if (!onPath(PODMAN)) {
      if (System.getenv("CI") != null) {
        fail("podman is not installed: apt-get install -y podman runc (.ci/run installs them)");
      }
      assumeTrue(false, "podman is not installed (apt-get install -y podman runc)");
    }
    image = "localhost/" + System.getProperty("modelrunner.image.name");
    Path tarball = Path.of(System.getProperty("modelrunner.image.tar"));
    Result load = podman(Duration.ofMinutes(3), "load", "--quiet", "--input", tarball.toString());
    assertThat(load.exit()).as("podman load: %s", load.output()).isZero();

    Path api =
        JavaSources.create()
            .add(
                "com.example.imageapi.Base",
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

    grpcPort = freePort();
    metricsPort = freePort();
    List<String> run = new ArrayList<>(List.of("run", "--detach", "--name", NAME));
    run.addAll(
        List.of(
            "--read-only",
            "--tmpfs",
            "/tmp",
            "--cap-drop=all",
            "--security-opt",
            "no-new-privileges",
            "--memory",
            Long.toString(MEMORY_LIMIT),
            // Podman raises these limits for root, which a machine without CAP_SYS_RESOURCE
            // refuses.
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
            "HOST_CLASS_PATH=/workspace/resources/api.jar",
            "--env",
            "GRPC_ADDRESS=127.0.0.1:" + grpcPort,
            "--env",
            "METRICS_PORT=" + metricsPort,
            image));
    long start = System.nanoTime();
    Result started = podman(Duration.ofMinutes(1), run.toArray(String[]::new));
    assertThat(started.exit()).as("podman run: %s", started.output()).isZero();
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().build();
    try {
      Awaitility.await("the runner in the container serves")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(50))
          .ignoreExceptions()
          .until(
              () ->
                  HealthGrpc.newBlockingStub(channel)
                          .withDeadlineAfter(2, TimeUnit.SECONDS)
                          .check(HealthCheckRequest.getDefaultInstance())
                          .getStatus()
                      == ServingStatus.SERVING);
    } catch (RuntimeException e) {
      throw new AssertionError(
          "not serving; logs: " + podman(Duration.ofSeconds(20), "logs", NAME).output(), e);
    } finally {
      channel.shutdownNow();
    }
    servingMillis = (System.nanoTime() - start) / 1_000_000;
    System.out.println("Image: the runner served " + servingMillis + " ms after podman run");
  }

  @AfterAll
  static void removeTheContainer() throws Exception {
    if (image != null) {
      podman(Duration.ofMinutes(1), "rm", "--force", "--time", "0", NAME);
      podman(Duration.ofMinutes(1), "rmi", "--force", image);
    }
  }

  @Test
  void theClientCallsTheModelInTheContainerThenSigtermDrainsIt() throws Exception {
    assertThat(podman(Duration.ofSeconds(30), "top", NAME, "user", "pid", "args").output())
        .as("the JVM is process 1, as the runner's user")
        .containsPattern("runner\\s+1\\s+java ");

    try (ModelFleet fleet =
        ModelFleet.builder()
            .directory(StaticModelDirectory.of("grpc://127.0.0.1:" + grpcPort))
            .baseClass("com.example.imageapi.Base")
            .callTimeout(Duration.ofSeconds(10))
            .build()) {
      assertThat(fleet.awaitConnected(1, Duration.ofSeconds(30))).isTrue();
      List<CallOutcome> outcomes = fleet.callAndWait(FanOut.of("value")).outcomes();
      assertThat(outcomes).hasSize(1);
      assertThat(outcomes.get(0).status()).isEqualTo(CallStatus.SUCCESS);
      assertThat(outcomes.get(0).as(Long.class)).isEqualTo(7L);
    }

    // Netty's native epoll is loaded from the image's library folder (nothing is unpacked into the
    // read-only container's /tmp); the JVM's memory map shows it, where the host may read it.
    String pid =
        podman(Duration.ofSeconds(30), "inspect", "--format", "{{.State.Pid}}", NAME)
            .output()
            .strip();
    Path maps = Path.of("/proc", pid, "maps");
    if (Files.isReadable(maps)) {
      assertThat(Files.readString(maps))
          .contains(
              "/opt/model-runner/native/libio_grpc_netty_shaded_netty_transport_native_epoll_");
    }

    String metrics = metrics();
    assertThat(metrics)
        .contains("modelrunner_runner_requests_total{request=\"setup\",status=\"SUCCESS\"} 1.0")
        .contains("modelrunner_runner_requests_total{request=\"call\",status=\"SUCCESS\"} 1.0");
    double heap =
        metrics
            .lines()
            .filter(line -> line.startsWith("jvm_memory_max_bytes{area=\"heap\""))
            .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
            .filter(value -> value > 0)
            .sum();
    assertThat(heap)
        .as("the heap is sized by the container's memory limit (MaxRAMPercentage=75)")
        .isBetween(0.5 * MEMORY_LIMIT, 0.76 * MEMORY_LIMIT);

    Result stop = podman(Duration.ofMinutes(1), "stop", "--time", "20", NAME);
    assertThat(stop.exit()).as("podman stop: %s", stop.output()).isZero();
    assertThat(podman(Duration.ofSeconds(30), "inspect", "--format", "{{.State.ExitCode}}", NAME))
        .extracting(Result::output)
        .asString()
        .as("ended by SIGTERM, not killed after the stop timeout")
        .isEqualToIgnoringWhitespace("143");
    assertThat(podman(Duration.ofSeconds(30), "logs", NAME).output())
        .contains("Stop requested (SIGTERM")
        .contains("Stopped 127.0.0.1:" + grpcPort);
  }

  private static String metrics() throws IOException, InterruptedException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/metrics"))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    return response.body();
  }

  /** What a command printed (standard output and error) and its exit code. */
  record Result(int exit, String output) {}

  private static Result podman(Duration timeout, String... args)
      throws IOException, InterruptedException {
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

  private static boolean onPath(String program) {
    return Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
        .anyMatch(dir -> Files.isExecutable(Path.of(dir, program)));
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return socket.getLocalPort();
    }
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
