package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.modelrunner.transport.grpc.RunnerClient.assertStatus;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The executable's {@code --metrics-port}: after known requests, the Prometheus text it serves
 * holds their counts and durations, and the endpoint stops with the runner.
 */
class RunnerMainMetricsTest {
  @TempDir static Path shared;
  static Path code;
  static Path apiJar;

  private final ExecutorService background = Executors.newCachedThreadPool();
  private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
  private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);
  private final PrintStream out =
      new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  @BeforeAll
  static void compile() {
    apiJar = RunnerSources.baseApiJar("com.example.metricsapi", shared.resolve("api.jar"));
    code =
        RunnerSources.create()
            .classPath(apiJar)
            .add(
                "com.example.metrics.Model",
                """
                package com.example.metrics;
                public class Model extends com.example.metricsapi.Base {
                  public long value() { return 7; }
                  public long fail() { throw new IllegalStateException("no"); }
                }
                """)
            .compileTo(shared.resolve("code"));
  }

  @AfterEach
  void stop() {
    background.shutdownNow();
    System.clearProperty(RunnerMain.RESOURCE_DIRECTORY_PROPERTY);
    System.clearProperty(RunnerMain.HAS_GPU_PROPERTY);
  }

  @Test
  void noMetricsUnlessAPortIsGivenAndTheyListenOnTheRunnersHostByDefault() throws Exception {
    String dir = code.toString();
    assertThat(RunnerMainTest.parse(Map.of(), "--code-directory", dir).servesMetrics()).isFalse();
    RunnerMain.Options inContainer =
        RunnerMainTest.parse(Map.of("METRICS_PORT", "9100"), "--code-directory", dir);
    assertThat(inContainer.servesMetrics()).isTrue();
    assertThat(inContainer.metricsPort()).isEqualTo(9100);
    assertThat(inContainer.metricsHost()).as("the runner's [::]:50051").isEqualTo("::");
    RunnerMain.Options local =
        RunnerMainTest.parse(
            Map.of("GRPC_ADDRESS", "127.0.0.1:50051"), "--code-directory", dir, "--metrics-port=0");
    assertThat(local.metricsHost()).isEqualTo("127.0.0.1");
    assertThat(local.metricsPort()).isZero();
    RunnerMain.Options chosen =
        RunnerMainTest.parse(
            Map.of("METRICS_PORT", "9100", "METRICS_HOST", "127.0.0.1"),
            "--code-directory",
            dir,
            "--address",
            "[::1]:50051");
    assertThat(chosen.metricsHost()).isEqualTo("127.0.0.1");
    assertThat(
            RunnerMainTest.parse(Map.of(), "--code-directory", dir, "--address", "[::1]:5")
                .metricsHost())
        .isEqualTo("::1");
  }

  @Test
  void theRunnersRequestsAreServedAsPrometheusTextUntilItStops() throws Exception {
    Recording process = new Recording();
    Future<Integer> exit =
        background.submit(
            () ->
                RunnerMain.execute(
                    new String[] {"--address", "127.0.0.1:0", "--log-level", "WARNING"},
                    Map.of(
                        "CODE_DIRECTORY",
                        code.toString(),
                        "HOST_CLASS_PATH",
                        apiJar.toString(),
                        "METRICS_PORT",
                        "0"),
                    out,
                    err,
                    process));
    URI metrics = process.metrics.get(20, TimeUnit.SECONDS);
    GrpcRunner runner = process.runner.get(20, TimeUnit.SECONDS);
    assertThat(metrics.getHost()).isEqualTo("127.0.0.1");
    assertThat(metrics.getPath()).isEqualTo("/metrics");

    try (RunnerClient client = new RunnerClient(runner)) {
      assertStatus(
          client.setup("com.example.metricsapi.Base").getStatus(),
          "SUCCESS",
          "Instance created successfully");
      assertThat(client.call("value").getStatus().getCode()).isEqualTo("SUCCESS");
      assertThat(client.call("value").getStatus().getCode()).isEqualTo("SUCCESS");
      assertThat(client.call("fail").getStatus().getCode()).isEqualTo("MODEL_FAILED");
    }

    HttpResponse<String> response = get(metrics);
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValue("text/plain; version=0.0.4; charset=utf-8");
    String text = response.body();
    assertThat(
            sample(
                text,
                "modelrunner_runner_requests_total",
                "request=\"setup\"",
                "status=\"SUCCESS\""))
        .isEqualTo(1.0);
    assertThat(
            sample(
                text,
                "modelrunner_runner_requests_total",
                "request=\"call\"",
                "status=\"SUCCESS\""))
        .isEqualTo(2.0);
    assertThat(
            sample(
                text,
                "modelrunner_runner_requests_total",
                "request=\"call\"",
                "status=\"MODEL_FAILED\""))
        .isEqualTo(1.0);
    assertThat(
            sample(text, "modelrunner_runner_request_duration_seconds_count", "request=\"call\""))
        .isEqualTo(3.0);
    assertThat(
            sample(text, "modelrunner_runner_request_duration_seconds_count", "request=\"setup\""))
        .isEqualTo(1.0);
    assertThat(sample(text, "modelrunner_runner_request_duration_seconds_sum", "request=\"call\""))
        .isPositive();
    assertThat(text)
        .as("the JVM's meters come along")
        .contains("jvm_memory_used_bytes{")
        .contains("jvm_threads_live_threads ")
        .contains("process_uptime_seconds ");

    assertThat(get(metrics.resolve("/")).statusCode()).as("/ answers the same").isEqualTo(200);
    assertThat(get(metrics.resolve("/other")).statusCode()).isEqualTo(404);
    HttpResponse<String> post =
        http.send(
            HttpRequest.newBuilder(metrics)
                .timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(post.statusCode()).isEqualTo(405);

    runner.shutdown(Duration.ofSeconds(3));
    assertThat(exit.get(20, TimeUnit.SECONDS)).isZero();
    assertThat(errBytes.toString(StandardCharsets.UTF_8)).isEmpty();
    assertThatThrownBy(() -> get(metrics))
        .as("the endpoint stops with the runner")
        .isInstanceOf(ConnectException.class);
  }

  @Test
  void aMetricsPortInUseExitsWithOneBeforeTheRunnerStarts() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
      Recording process = new Recording();
      int exit =
          RunnerMain.execute(
              new String[] {
                "--code-directory",
                code.toString(),
                "--address",
                "127.0.0.1:0",
                "--metrics-port",
                Integer.toString(taken.getLocalPort())
              },
              Map.of(),
              out,
              err,
              process);
      assertThat(exit).isEqualTo(1);
      String message = errBytes.toString(StandardCharsets.UTF_8);
      assertThat(message)
          .startsWith(
              "model-runner-grpc: cannot serve the metrics on 127.0.0.1 port "
                  + taken.getLocalPort()
                  + ": ");
      assertThat(message.lines()).hasSize(1);
      assertThat(process.runner).isNotDone();
    }
  }

  private HttpResponse<String> get(URI uri) throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** The value of the one sample of {@code name} that has every label given. */
  private static double sample(String text, String name, String... labels) {
    return text.lines()
        .filter(line -> line.startsWith(name + "{"))
        .filter(line -> Arrays.stream(labels).allMatch(line::contains))
        .map(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
        .reduce(
            (a, b) -> {
              throw new AssertionError("several samples of " + name + " " + List.of(labels));
            })
        .orElseThrow(() -> new AssertionError("no sample of " + name + " " + List.of(labels)));
  }

  /** Records what {@link RunnerMain#execute} does to its process. */
  static final class Recording implements RunnerMain.RunnerProcess {
    final CompletableFuture<GrpcRunner> runner = new CompletableFuture<>();
    final CompletableFuture<URI> metrics = new CompletableFuture<>();

    @Override
    public void configureLogging(Level level) {}

    @Override
    public void started(GrpcRunner runner, Duration shutdownGrace) {
      this.runner.complete(runner);
    }

    @Override
    public void metricsServed(URI uri) {
      metrics.complete(uri);
    }
  }
}
