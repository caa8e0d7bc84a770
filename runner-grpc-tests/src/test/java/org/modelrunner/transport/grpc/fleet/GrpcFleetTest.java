package org.modelrunner.transport.grpc.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.modelrunner.client.CallFailure;
import org.modelrunner.client.CallOutcome;
import org.modelrunner.client.CallStatus;
import org.modelrunner.client.FanOut;
import org.modelrunner.client.FanOutResult;
import org.modelrunner.client.FleetEvent;
import org.modelrunner.client.ModelFleet;
import org.modelrunner.client.StaticModelDirectory;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.transport.grpc.GrpcRunner;

/**
 * A {@link ModelFleet} (which finds the gRPC transport through ServiceLoader) calling real {@link
 * GrpcRunner}s on 127.0.0.1: a good model, a slow one, a failing one, and an endpoint where nothing
 * listens.
 */
@Timeout(120)
class GrpcFleetTest {
  private static final Duration CALL_TIMEOUT = Duration.ofMillis(500);
  private static final Duration BOUND = Duration.ofSeconds(1);
  private static final long SLOW_MILLIS = 2000;

  private final Closer closer = new Closer();

  @AfterEach
  void closeEverything() throws Exception {
    closer.close();
  }

  @Test
  void aFanOutOverGrpcRunnersGetsEveryOutcomeWithinItsDeadline() throws Exception {
    FleetSubmissions submissions = closer.open(new FleetSubmissions());
    GrpcRunner good = closer.runner(submissions.compile("good", FleetSubmissions.GOOD));
    GrpcRunner slow =
        closer.runner(submissions.compile("slow", FleetSubmissions.SLOW.formatted(SLOW_MILLIS)));
    GrpcRunner failing = closer.runner(submissions.compile("failing", FleetSubmissions.FAILING));
    URI nowhere = URI.create("grpc://127.0.0.1:" + freePort());

    CompletableFuture<FleetEvent> unreachable = new CompletableFuture<>();
    ModelFleet fleet =
        closer.open(
            ModelFleet.builder()
                .directory(
                    StaticModelDirectory.of(
                        List.of(
                            ModelEndpoint.of("good", good.endpoint()),
                            ModelEndpoint.of("slow", slow.endpoint()),
                            ModelEndpoint.of("failing", failing.endpoint()),
                            ModelEndpoint.of("nowhere", nowhere))))
                .baseClass(PredictorBase.class.getName())
                .callTimeout(CALL_TIMEOUT)
                .setupTimeout(Duration.ofSeconds(1))
                .setupRetries(1, Duration.ofMillis(100))
                .maxConsecutiveTimeouts(0)
                .maxConsecutiveFailures(0)
                .timeoutCooldown(
                    false) // so that the slow model's second call is sent, and answered BUSY
                .listener(
                    event -> {
                      if (event.kind() == FleetEvent.Kind.CONNECTION_FAILED) {
                        unreachable.complete(event);
                      }
                    })
                .build());
    assertThat(fleet.awaitConnected(3, Duration.ofSeconds(30)))
        .as("three models connected")
        .isTrue();

    FanOutResult first = fleet.callAndWait(FanOut.of("predict", 21.0));
    assertThat(first.elapsed()).isLessThanOrEqualTo(CALL_TIMEOUT.plus(BOUND));
    assertThat(first.size()).isEqualTo(3);
    CallOutcome doubled = first.outcome("good").orElseThrow();
    assertThat(doubled.status()).isEqualTo(CallStatus.SUCCESS);
    assertThat(doubled.as(Double.class)).isEqualTo(42.0);
    assertThat(first.outcome("slow").orElseThrow().status()).isEqualTo(CallStatus.TIMEOUT);
    CallOutcome thrown = first.outcome("failing").orElseThrow();
    assertThat(thrown.status()).isEqualTo(CallStatus.FAILURE);
    assertThat(thrown.failure().orElseThrow())
        .isEqualTo(
            new CallFailure(
                CallFailure.Source.MODEL,
                "MODEL_FAILED",
                "The model raised an exception: java.lang.IllegalStateException: no prediction for 21.0"));

    // the slow model still runs the first call: its runner answers BUSY at once
    FanOutResult second = fleet.callAndWait(FanOut.of("predict", 1.5));
    assertThat(second.elapsed()).isLessThanOrEqualTo(CALL_TIMEOUT.plus(BOUND));
    assertThat(second.outcome("good").orElseThrow().as(Double.class)).isEqualTo(3.0);
    CallOutcome busy = second.outcome("slow").orElseThrow();
    assertThat(busy.status()).isEqualTo(CallStatus.FAILURE);
    assertThat(busy.failure().orElseThrow().code()).isEqualTo("BUSY");
    assertThat(busy.failure().orElseThrow().message()).contains("Server busy");

    // nothing listens at the fourth endpoint: its setup failed with the connection error
    FleetEvent failed = unreachable.get(10, TimeUnit.SECONDS);
    assertThat(failed.modelId()).isEqualTo("nowhere");
    assertThat(failed.reason())
        .contains("UNAVAILABLE", "Connection refused", nowhere.getAuthority());
    assertThat(fleet.connectedModelIds()).containsExactlyInAnyOrder("good", "slow", "failing");
  }

  private static int freePort() throws java.io.IOException {
    try (java.net.ServerSocket socket =
        new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
