package org.modelrunner.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.modelrunner.client.FakeTransportProvider.answering;
import static org.modelrunner.client.FakeTransportProvider.define;
import static org.modelrunner.client.FleetTesting.eventually;
import static org.modelrunner.client.FleetTesting.nextEvent;
import static org.modelrunner.client.RecordingDirectory.fake;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportException;

/**
 * Connection attempts, on fake time: the runner must be reachable within the connect timeout before
 * its setup gets the long setup deadline, so that a runner that refuses connections (its process is
 * gone) is reported {@code CONNECTION_FAILED} within the setup backoff, not after five setup
 * timeouts.
 */
class FleetConnectionTest {
  private final List<ModelFleet> fleets = new ArrayList<>();
  private final BlockingQueue<FleetEvent> events = new LinkedBlockingQueue<>();
  private final ManualTime time = new ManualTime();
  private final RecordingDirectory directory = new RecordingDirectory();

  @AfterEach
  void closeFleets() {
    fleets.forEach(ModelFleet::close);
    FakeTransportProvider.MODELS.clear();
  }

  /** A fleet on fake time with the builder's defaults (5 attempts, 2 s backoff, 5 s, 60 s). */
  private ModelFleet fleet(UnaryOperator<ModelFleet.Builder> settings) {
    ModelFleet fleet =
        settings
            .apply(
                ModelFleet.builder()
                    .directory(directory)
                    .baseClass(FleetTesting.BASE)
                    .scheduler(time)
                    .listener(events::add))
            .build();
    fleets.add(fleet);
    return fleet;
  }

  /**
   * A setup as gRPC sends it (wait for ready): to a runner that cannot be reached, it fails only at
   * its deadline.
   */
  private static FakeTransportProvider.Behaviour waitingForReady() {
    return (m, a, timeout) -> {
      CompletableFuture<Reply> reply = new CompletableFuture<>();
      FakeTransportProvider.THREADS.schedule(
          () ->
              reply.completeExceptionally(
                  new TransportException(
                      TransportException.Kind.DEADLINE_EXCEEDED,
                      "no connection within " + timeout)),
          timeout.toNanos(),
          TimeUnit.NANOSECONDS);
      return reply;
    };
  }

  @Test
  void aRunnerThatRefusesConnectionsIsReportedAfterTheBackoffWithoutWaitingForSetups()
      throws Exception {
    FakeTransportProvider.FakeModel dead = define("dead", answering(1, Duration.ZERO));
    dead.health =
        timeout ->
            CompletableFuture.failedFuture(
                new TransportException(
                    TransportException.Kind.UNAVAILABLE,
                    "health check on fake://dead: UNAVAILABLE: Connection refused"));
    dead.setup = waitingForReady();
    ModelFleet fleet = fleet(builder -> builder);
    directory.snapshot(fake("dead"));

    long[] backoff = {2, 4, 8, 16}; // 30 s in all
    for (int i = 0; i < backoff.length; i++) {
      int attempts = i + 1;
      eventually(() -> assertThat(dead.healthChecks.get()).isEqualTo(attempts));
      eventually(() -> assertThat(time.pending()).as("the next attempt").isEqualTo(1));
      assertThat(fleet.models().get(0).state()).isEqualTo(ModelStatus.State.CONNECTING);
      time.advance(Duration.ofSeconds(backoff[i]));
    }
    FleetEvent failed = nextEvent(events, FleetEvent.Kind.CONNECTION_FAILED);
    assertThat(failed.code()).isEqualTo("CONNECTION_FAILED");
    assertThat(failed.reason())
        .startsWith("setup failed 5 time(s), the last: the runner is not reachable: health check:")
        .contains("Connection refused");
    assertThat(dead.healthChecks.get()).isEqualTo(5);
    assertThat(dead.setups.get()).as("no setup sent to a runner that is not there").isZero();
    assertThat(directory.reports)
        .extracting(RecordingDirectory.Report::code)
        .containsExactly("CONNECTION_FAILED");
    assertThat(fleet.models().get(0).state()).isEqualTo(ModelStatus.State.DISCONNECTED);
  }

  @Test
  void aConnectedRunnerThatDiesIsRetriedEverySecondOrSoAndReportedSooner() throws Exception {
    FakeTransportProvider.FakeModel dying = define("dying", answering(1, Duration.ZERO));
    ModelFleet fleet = fleet(builder -> builder);
    directory.snapshot(fake("dying"));
    assertThat(fleet.awaitConnected(1, FleetTesting.WAIT)).isTrue();
    int checksWhileConnected = dying.healthChecks.get();

    // The process is killed: calls and health checks are refused.
    TransportException refused =
        new TransportException(
            TransportException.Kind.UNAVAILABLE, "fake://dying: UNAVAILABLE: Connection refused");
    dying.health = timeout -> CompletableFuture.failedFuture(refused);
    dying.call = (m, a, t) -> CompletableFuture.failedFuture(refused);
    fleet.callAndWait(FanOut.of("predict"));

    // The health check after the refused call, then the reconnection's first attempt.
    // From a quarter of the setup backoff, doubled up to half of it, for as long as 0.5, 1, 2 and
    // 4 s would last: 7.5 s in all, not 30, and a restarted runner would be found within 1 s.
    long[] backoffMillis = {500, 1000, 1000, 1000, 1000, 1000, 1000, 1000};
    for (int i = 0; i < backoffMillis.length; i++) {
      int checks = checksWhileConnected + 2 + i;
      eventually(() -> assertThat(dying.healthChecks.get()).isEqualTo(checks));
      eventually(() -> assertThat(time.pending()).as("the next attempt").isEqualTo(1));
      time.advance(Duration.ofMillis(backoffMillis[i] - 1));
      FleetTesting.quiesce(fleet);
      assertThat(dying.healthChecks.get()).as("not before its backoff").isEqualTo(checks);
      time.advance(Duration.ofMillis(1));
    }
    FleetEvent failed = nextEvent(events, FleetEvent.Kind.CONNECTION_FAILED);
    assertThat(failed.reason())
        .startsWith("setup failed 9 time(s)")
        .endsWith("ejected for 1 s (ejection 1), then re-admitted if healthy");
    assertThat(directory.reports)
        .extracting(RecordingDirectory.Report::code)
        .containsExactly("CONNECTION_FAILED");

    // Still down at the first probe, 1 s later: the next comes 2 s after that.
    eventually(() -> assertThat(time.pending()).as("the probe").isEqualTo(1));
    int checksBeforeProbes = dying.healthChecks.get();
    time.advance(Duration.ofMillis(999));
    FleetTesting.quiesce(fleet);
    assertThat(dying.healthChecks.get()).as("not before 1 s").isEqualTo(checksBeforeProbes);
    time.advance(Duration.ofMillis(1));
    eventually(() -> assertThat(dying.healthChecks.get()).isEqualTo(checksBeforeProbes + 1));

    // Restarted on its address: probed 2 s later, and taken back.
    dying.health = timeout -> CompletableFuture.completedFuture(HealthStatus.SERVING);
    dying.call = answering(1, Duration.ZERO);
    eventually(() -> assertThat(time.pending()).as("the second probe").isEqualTo(1));
    time.advance(Duration.ofMillis(1999));
    FleetTesting.quiesce(fleet);
    assertThat(fleet.connectedModelIds()).as("not before 2 s").isEmpty();
    time.advance(Duration.ofMillis(1));
    FleetEvent back = nextEvent(events, FleetEvent.Kind.RESTARTED);
    assertThat(back.code()).isEqualTo(FleetEvent.READMITTED);
    assertThat(fleet.connectedModelIds()).containsExactly("dying");
    assertThat(directory.reports).as("reported once, not at each probe").hasSize(1);
  }

  @Test
  void aRunnerThatDoesNotAnswerFailsEachAttemptAtTheConnectTimeout() throws Exception {
    FakeTransportProvider.FakeModel mute = define("mute", answering(1, Duration.ZERO));
    mute.health = timeout -> new CompletableFuture<>(); // never, whatever its deadline
    ModelFleet fleet =
        fleet(
            builder ->
                builder
                    .connectTimeout(Duration.ofSeconds(1))
                    .setupRetries(2, Duration.ofSeconds(2)));
    directory.snapshot(fake("mute"));

    eventually(() -> assertThat(time.pending()).as("the connect deadline").isEqualTo(1));
    time.advance(Duration.ofMillis(999));
    FleetTesting.quiesce(fleet);
    assertThat(time.pending()).as("still waiting for the answer").isEqualTo(1);
    time.advance(Duration.ofMillis(1));
    eventually(
        () ->
            assertThat(fleet.models().get(0).lastError())
                .hasValueSatisfying(error -> assertThat(error).contains("no answer within 1 s")));
    eventually(() -> assertThat(time.pending()).as("the retry").isEqualTo(1));
    time.advance(Duration.ofSeconds(2));
    eventually(() -> assertThat(mute.healthChecks.get()).isEqualTo(2));
    eventually(() -> assertThat(time.pending()).as("the connect deadline").isEqualTo(1));
    time.advance(Duration.ofSeconds(1));

    FleetEvent failed = nextEvent(events, FleetEvent.Kind.CONNECTION_FAILED);
    assertThat(failed.reason())
        .isEqualTo(
            "setup failed 2 time(s), the last: the runner is not reachable: health check: no"
                + " answer within 1 s");
    assertThat(mute.setups.get()).isZero();
  }

  @Test
  void aReachableRunnerGetsTheLongSetupDeadlineAndASlowSetupIsNotCutShort() throws Exception {
    FakeTransportProvider.FakeModel slow = define("slow", answering(1, Duration.ZERO));
    AtomicReference<Duration> healthDeadline = new AtomicReference<>();
    AtomicReference<Duration> setupDeadline = new AtomicReference<>();
    slow.health =
        timeout -> {
          healthDeadline.set(timeout);
          return CompletableFuture.completedFuture(HealthStatus.SERVING);
        };
    CompletableFuture<Reply> held = new CompletableFuture<>();
    slow.setup =
        (m, a, timeout) -> {
          setupDeadline.set(timeout);
          return held;
        };
    ModelFleet fleet = fleet(builder -> builder);
    directory.snapshot(fake("slow"));

    eventually(() -> assertThat(slow.setups.get()).isEqualTo(1));
    assertThat(healthDeadline.get()).isEqualTo(Duration.ofSeconds(5));
    assertThat(setupDeadline.get()).isEqualTo(Duration.ofSeconds(60));
    time.advance(Duration.ofSeconds(30));
    FleetTesting.assertNoMoreEvents(fleet, events, "a setup under way is not cut short");
    held.complete(FakeTransportProvider.CREATED);
    assertThat(nextEvent(events, FleetEvent.Kind.CONNECTED).modelId()).isEqualTo("slow");
  }

  @Test
  void aRunnerThatAnswersTheHealthCheckInAnyWayIsSetUp() throws Exception {
    FakeTransportProvider.FakeModel unknown = define("unknown", answering(1, Duration.ZERO));
    unknown.health = timeout -> CompletableFuture.completedFuture(HealthStatus.SERVICE_UNKNOWN);
    FakeTransportProvider.FakeModel without = define("without", answering(1, Duration.ZERO));
    without.health =
        timeout ->
            CompletableFuture.failedFuture(
                new TransportException(
                    TransportException.Kind.INTERNAL, "UNIMPLEMENTED: no health service"));
    ModelFleet fleet = fleet(builder -> builder);
    directory.snapshot(fake("unknown"), fake("without"));
    assertThat(fleet.awaitConnected(2, FleetTesting.WAIT)).isTrue();
  }
}
