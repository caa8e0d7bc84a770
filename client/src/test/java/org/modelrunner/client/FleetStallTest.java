package org.modelrunner.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.modelrunner.client.FakeTransportProvider.answering;
import static org.modelrunner.client.FakeTransportProvider.define;
import static org.modelrunner.client.FakeTransportProvider.silent;
import static org.modelrunner.client.FleetTesting.WAIT;
import static org.modelrunner.client.FleetTesting.assertNoMoreEvents;
import static org.modelrunner.client.RecordingDirectory.fake;

import java.text.MessageFormat;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.modelrunner.spi.ModelEndpoint;

/**
 * The fleet never blames its models for its own stall: timeouts of most of a fan-out's models at
 * once, or after a deadline timer that ran late, are outcomes but not counted. Fan-out time is a
 * ticker the test moves by hand (it stands still unless moved, so that only the rule under test
 * applies).
 */
class FleetStallTest {
  private final List<ModelFleet> fleets = new ArrayList<>();
  private final BlockingQueue<FleetEvent> events = new LinkedBlockingQueue<>();
  private final RecordingDirectory directory = new RecordingDirectory();
  private final ManualTime time = new ManualTime();

  /** The fleet's warnings, as logged. */
  private final List<String> warnings = new CopyOnWriteArrayList<>();

  private final Logger fleetLogger = Logger.getLogger(Concurrency.FLEET_LOGGER);
  private final Handler warningsHandler =
      new Handler() {
        @Override
        public void publish(LogRecord record) {
          if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
            warnings.add(MessageFormat.format(record.getMessage(), record.getParameters()));
          }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
      };

  @BeforeEach
  void captureWarnings() {
    fleetLogger.addHandler(warningsHandler);
  }

  @AfterEach
  void closeFleets() {
    fleetLogger.removeHandler(warningsHandler);
    fleets.forEach(ModelFleet::close);
    FakeTransportProvider.MODELS.clear();
  }

  /**
   * A fleet of the named models that disconnects a model after its second timeout in a row, with a
   * 100 ms deadline measured on the test's ticker (the timer itself keeps real time).
   */
  private ModelFleet fleet(UnaryOperator<ModelFleet.Builder> settings, String... names)
      throws Exception {
    ModelFleet fleet =
        settings
            .apply(
                FleetTesting.fleetBuilder(directory, events)
                    .callTimeout(Duration.ofMillis(100))
                    .maxConsecutiveTimeouts(1)
                    .ticker(time))
            .build();
    fleets.add(fleet);
    List<ModelEndpoint> endpoints = new ArrayList<>();
    for (String name : names) {
      endpoints.add(fake(name));
    }
    directory.snapshot(endpoints.toArray(new ModelEndpoint[0]));
    assertThat(fleet.awaitConnected(names.length, WAIT)).isTrue();
    FleetTesting.quiesce(fleet);
    events.clear(); // the CONNECTED events
    return fleet;
  }

  private static ModelStatus status(ModelFleet fleet, String id) {
    return fleet.models().stream().filter(s -> s.modelId().equals(id)).findFirst().orElseThrow();
  }

  private List<String> notCounting() {
    return warnings.stream().filter(w -> w.startsWith("Not counting")).toList();
  }

  @Test
  void whenMostOfAFanOutsModelsTimeOutTogetherNoneIsCounted() throws Exception {
    String[] names = {"a", "b", "c", "d", "e", "f"};
    List<FakeTransportProvider.FakeModel> models = new ArrayList<>();
    for (String name : names) {
      models.add(define(name, silent())); // as seen from a coordinator that cannot get answers
    }
    ModelFleet fleet = fleet(builder -> builder, names);
    int[] checks = models.stream().mapToInt(model -> model.healthChecks.get()).toArray();

    for (int round = 1; round <= 2; round++) {
      FanOutResult result = fleet.callAndWait(FanOut.of("predict"));
      assertThat(result.outcomes())
          .as("the coordinator sees the timeouts")
          .hasSize(6)
          .allSatisfy(outcome -> assertThat(outcome.status()).isEqualTo(CallStatus.TIMEOUT));
    }

    assertNoMoreEvents(fleet, events, "no model is disconnected for the fleet's own stall");
    assertThat(directory.reports).isEmpty();
    assertThat(fleet.connectedModelIds()).containsExactly(names);
    for (String name : names) {
      ModelStatus status = status(fleet, name);
      assertThat(status.consecutiveTimeouts()).as(name).isZero();
      assertThat(status.cooldown()).as("no cooldown").isZero();
      assertThat(status.counts().timeouts()).as("still in the counts").isEqualTo(2);
      assertThat(status.lastError()).hasValueSatisfying(e -> assertThat(e).contains("not counted"));
    }
    assertThat(models.stream().mapToInt(model -> model.healthChecks.get()).toArray())
        .as("no health check")
        .isEqualTo(checks);
    assertOneWarningPerFanOut(
        "Not counting the 6 timeout(s) of the fan-out 'predict' against the models: 6 of the 6"
            + " models called timed out together (more than 50%): the coordinator's own stall, not"
            + " the models'");
  }

  @Test
  void aFanOutInWhichOnlyOneModelTimesOutCountsIt() throws Exception {
    String[] names = {"a", "b", "c", "d", "e", "slow"};
    for (String name : names) {
      define(name, name.equals("slow") ? silent() : answering(1.0, Duration.ZERO));
    }
    ModelFleet fleet = fleet(builder -> builder.timeoutCooldown(false), names);

    FanOutResult first = fleet.callAndWait(FanOut.of("predict"));
    assertThat(first.outcome("slow").orElseThrow().status()).isEqualTo(CallStatus.TIMEOUT);
    assertThat(status(fleet, "slow").consecutiveTimeouts()).isEqualTo(1);
    fleet.callAndWait(FanOut.of("predict"));

    FleetEvent ejected = FleetTesting.nextEvent(events, FleetEvent.Kind.DISCONNECTED);
    assertThat(ejected.modelId()).isEqualTo("slow");
    assertThat(ejected.code()).isEqualTo("MULTIPLE_TIMEOUT");
    assertThat(fleet.connectedModelIds()).containsExactly("a", "b", "c", "d", "e");
    assertThat(notCounting()).isEmpty();
  }

  /**
   * A request that waited in the coordinator's own process until its deadline (as the in-process
   * transport tells) never reached its model: its timeout is not counted, even when the fan-out's
   * other models answered; one the model was running is.
   */
  @Test
  void aTimeoutWhoseRequestNeverLeftTheCoordinatorIsNotCounted() throws Exception {
    String[] names = {"a", "b", "c", "d", "e", "waiting", "running"};
    for (String name : names) {
      define(
          name,
          switch (name) {
            case "waiting" -> FakeTransportProvider.progressing(true);
            case "running" -> FakeTransportProvider.progressing(false);
            default -> answering(1.0, Duration.ZERO);
          });
    }
    ModelFleet fleet = fleet(builder -> builder.timeoutCooldown(false), names);

    for (int round = 1; round <= 2; round++) {
      FanOutResult result = fleet.callAndWait(FanOut.of("predict"));
      assertThat(result.outcome("waiting").orElseThrow().status()).isEqualTo(CallStatus.TIMEOUT);
    }

    FleetEvent ejected = FleetTesting.nextEvent(events, FleetEvent.Kind.DISCONNECTED);
    assertThat(ejected.modelId()).isEqualTo("running");
    assertThat(ejected.code()).isEqualTo("MULTIPLE_TIMEOUT");
    assertThat(fleet.connectedModelIds()).contains("waiting").doesNotContain("running");
    ModelStatus waiting = status(fleet, "waiting");
    assertThat(waiting.consecutiveTimeouts()).isZero();
    assertThat(waiting.counts().timeouts()).as("still in the counts").isEqualTo(2);
    assertThat(waiting.lastError())
        .hasValueSatisfying(e -> assertThat(e).contains("not counted").contains("never reached"));
    assertOneWarningPerFanOut(
        "Not counting 1 of the 2 timeout(s) of the fan-out 'predict' against the models: the"
            + " request waited for one of the coordinator's own threads until its deadline and never"
            + " reached the model (the coordinator's overload, not the model's)");
  }

  @Test
  void aFanOutWhoseDeadlineTimerRanLateBlamesNoModel() throws Exception {
    define("quick", answering(1.0, Duration.ZERO));
    define("slow", silent());
    ModelFleet fleet = fleet(builder -> builder.timeoutCooldown(false), "quick", "slow");

    // The fleet's thread is held (say, a long pause of the coordinator) past the fan-out's
    // deadline: its timer fires 2 s late.
    CountDownLatch holding = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    fleet
        .parts()
        .membership
        .onFleetThread(
            () -> {
              holding.countDown();
              try {
                release.await();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    assertThat(holding.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
    CompletableFuture<FanOutResult> stalled = fleet.call(FanOut.of("predict"));
    time.advance(Duration.ofMillis(2_100));
    release.countDown();
    FanOutResult result = stalled.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);

    assertThat(result.outcome("quick").orElseThrow().status()).isEqualTo(CallStatus.SUCCESS);
    assertThat(result.outcome("slow").orElseThrow().status()).isEqualTo(CallStatus.TIMEOUT);
    assertThat(status(fleet, "slow").consecutiveTimeouts()).as("not counted").isZero();
    assertThat(notCounting())
        .containsExactly(
            "Not counting the 1 timeout(s) of the fan-out 'predict' against the models: the"
                + " fan-out's deadline timer ran 2 s late (more than 500 ms): the coordinator's own"
                + " threads were held up");

    // On time, the same timeout counts, and the second is over the limit.
    fleet.callAndWait(FanOut.of("predict"));
    assertThat(status(fleet, "slow").consecutiveTimeouts()).isEqualTo(1);
    fleet.callAndWait(FanOut.of("predict"));
    assertThat(FleetTesting.nextEvent(events, FleetEvent.Kind.DISCONNECTED).code())
        .isEqualTo("MULTIPLE_TIMEOUT");
    assertThat(notCounting()).hasSize(1);
  }

  /** Asserts that each of the two fan-outs warned once that it did not count its timeouts, so. */
  private void assertOneWarningPerFanOut(String warning) {
    assertThat(notCounting())
        .as("one warning per fan-out, saying why")
        .containsExactly(warning, warning);
  }
}
