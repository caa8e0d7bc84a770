package org.modelrunner.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
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
import org.modelrunner.image.Podman.Result;

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
  private static final String NAME = "model-runner-image-it-" + UUID.randomUUID();

  @TempDir static Path workspace;
  static String image;
  static int grpcPort;
  static int metricsPort;
  static long servingMillis;

  @BeforeAll
  static void startTheImage() throws Exception {
    if (!Podman.available()) {
      if (System.getenv("CI") != null) {
        fail("podman is not installed: apt-get install -y podman runc (.ci/run installs them)");
      }
      assumeTrue(false, "podman is not installed (apt-get install -y podman runc)");
    }
    image = "localhost/" + System.getProperty("modelrunner.image.name");
    Path tarball = Path.of(System.getProperty("modelrunner.image.tar"));
    Result load = podman(Duration.ofMinutes(3), "load", "--quiet", "--input", tarball.toString());
    assertThat(load.exit()).as("podman load: %s", load.output()).isZero();
    Podman.writeSubmission(workspace);

    grpcPort = Podman.freePort();
    metricsPort = Podman.freePort();
    List<String> run = new ArrayList<>(List.of("run", "--detach", "--name", NAME));
    run.addAll(Podman.lockedDown(workspace));
    run.addAll(
        List.of(
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
            .baseClass(Podman.BASE_CLASS)
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
      String mapped = Files.readString(maps);
      assertThat(mapped)
          .contains(
              "/opt/model-runner/native/libio_grpc_netty_shaded_netty_transport_native_epoll_");
      if (!Boolean.getBoolean("modelrunner.image.cds.skip")) {
        assertThat(mapped)
            .as("the JVM mapped the class-data archive made with the image")
            .contains("/opt/model-runner/cds/runner.jsa");
      }
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
        .isBetween(0.5 * Podman.MEMORY_LIMIT, 0.76 * Podman.MEMORY_LIMIT);

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

  private static Result podman(Duration timeout, String... args)
      throws IOException, InterruptedException {
    return Podman.run(timeout, args);
  }
}
