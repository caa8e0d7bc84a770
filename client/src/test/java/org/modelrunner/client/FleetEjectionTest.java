package org.modelrunner.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.modelrunner.client.FakeTransportProvider.answering;
import static org.modelrunner.client.FakeTransportProvider.define;
import static org.modelrunner.client.FleetTesting.assertNoMoreEvents;
import static org.modelrunner.client.FleetTesting.nextEvent;
import static org.modelrunner.client.RecordingDirectory.fake;

import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.ModelState;
import org.modelrunner.spi.StatusCode;

/**
 * Ejection with re-admission, on fake time: a model the failure policy takes out for its failures
 * comes back after an ejection time that grows with each ejection, unless its directory acts on
 * reports.
 */
class FleetEjectionTest {
  private final List<ModelFleet> fleets = new ArrayList<>();
  private final BlockingQueue<FleetEvent> events = new LinkedBlockingQueue<>();
  private final ManualTime time = new ManualTime();
  private final RecordingDirectory directory = new RecordingDirectory();

  @AfterEach
  void closeFleets() {
    fleets.forEach(ModelFleet::close);
    FakeTransportProvider.MODELS.clear();
  }

  /** A fleet on fake time that disconnects a model after its second failure in a row. */
  private ModelFleet fleet(UnaryOperator<ModelFleet.Builder> settings) throws Exception {
    ModelFleet fleet =
        settings
            .apply(
                FleetTesting.fleetBuilder(directory, events)
                    .scheduler(time)
                    .maxConsecutiveFailures(1))
            .build();
    fleets.add(fleet);
    directory.snapshot(fake("m"));
    assertThat(nextEvent(events, FleetEvent.Kind.CONNECTED).modelId()).isEqualTo("m");
    return fleet;
  }

  private static FakeTransportProvider.FakeModel failing() {
    return define("m", FakeTransportProvider.status(StatusCode.MODEL_FAILED, "boom"));
  }

  /** Two failed calls: the second is over the limit of one. */
  private static FleetEvent failTwice(ModelFleet fleet, BlockingQueue<FleetEvent> events)
      throws Exception {
    for (int i = 0; i < 2; i++) {
      assertThat(fleet.callAndWait(FanOut.of("predict")).outcomes().get(0).status())
          .isEqualTo(CallStatus.FAILURE);
    }
    return nextEvent(events, FleetEvent.Kind.DISCONNECTED);
  }

  private static ModelStatus status(ModelFleet fleet) {
    return fleet.models().get(0);
  }

  @Test
  void anEjectedModelComesBackAfterAnEjectionTimeThatGrowsWithEachEjection() throws Exception {
    FakeTransportProvider.FakeModel model = failing();
    ModelFleet fleet = fleet(builder -> builder);

    Instant before = Instant.now();
    FleetEvent ejected = failTwice(fleet, events);
    Instant after = Instant.now();
    assertThat(ejected.code()).isEqualTo("MULTIPLE_FAILED");
    assertThat(ejected.reason())
        .startsWith("2 consecutive failures")
        .endsWith("; ejected for 30 s (ejection 1), then re-admitted if healthy");
    assertThat(directory.reports)
        .extracting(RecordingDirectory.Report::code)
        .containsExactly("MULTIPLE_FAILED");
    ModelStatus out = status(fleet);
    assertThat(out.state()).isEqualTo(ModelStatus.State.DISCONNECTED);
    assertThat(out.isEjected()).isTrue();
    assertThat(out.ejections()).isEqualTo(1);
    assertThat(out.ejectedUntil().orElseThrow())
        .isBetween(before.plusSeconds(30), after.plusSeconds(30));
    assertThat(fleet.connectedModelIds()).isEmpty();
    assertThat(fleet.callAndWait(FanOut.of("predict")).size()).as("not targeted").isZero();

    time.advance(Duration.ofSeconds(30).minusMillis(1));
    assertNoMoreEvents(fleet, events, "nothing before the ejection time is over");
    assertThat(model.setups.get()).isEqualTo(1);
    int checks = model.healthChecks.get();
    model.call = answering(1.0, Duration.ZERO);
    time.advance(Duration.ofMillis(1));
    FleetEvent back = nextEvent(events, FleetEvent.Kind.RESTARTED);
    assertThat(back.code()).isEqualTo(FleetEvent.READMITTED);
    assertThat(back.reason()).isEqualTo("re-admitted after ejection 1 (MULTIPLE_FAILED)");
    assertThat(model.healthChecks.get()).as("checked first").isGreaterThan(checks);
    assertThat(model.setups.get()).isEqualTo(2);
    ModelStatus readmitted = status(fleet);
    assertThat(readmitted.state()).isEqualTo(ModelStatus.State.CONNECTED);
    assertThat(readmitted.isEjected()).isFalse();
    assertThat(readmitted.consecutiveFailures()).as("counters reset").isZero();
    assertThat(readmitted.ejections()).isEqualTo(1);
    assertThat(fleet.callAndWait(FanOut.of("predict")).outcomes().get(0).status())
        .isEqualTo(CallStatus.SUCCESS);

    model.call = FakeTransportProvider.status(StatusCode.MODEL_FAILED, "boom");
    FleetEvent again = failTwice(fleet, events);
    assertThat(again.reason())
        .endsWith("; ejected for 60 s (ejection 2), then re-admitted if healthy");
    assertThat(directory.reports).hasSize(2);
    time.advance(Duration.ofSeconds(60).minusMillis(1));
    assertNoMoreEvents(fleet, events, "the second ejection lasts twice as long");
    model.call = answering(1.0, Duration.ZERO);
    time.advance(Duration.ofMillis(1));
    assertThat(nextEvent(events, FleetEvent.Kind.RESTARTED).code())
        .isEqualTo(FleetEvent.READMITTED);
    assertThat(status(fleet).ejections()).isEqualTo(2);

    time.advance(Duration.ofMinutes(10));
    FleetTesting.quiesce(fleet);
    assertThat(status(fleet).ejections()).as("ten minutes served: one ejection less").isEqualTo(1);
    time.advance(Duration.ofMinutes(10));
    FleetTesting.quiesce(fleet);
    assertThat(status(fleet).ejections()).isZero();
    model.call = FakeTransportProvider.status(StatusCode.MODEL_FAILED, "boom");
    assertThat(failTwice(fleet, events).reason()).contains("ejected for 30 s (ejection 1)");
  }

  @Test
  void aModelThatIsNotHealthyWhenItsEjectionEndsIsEjectedAgainForLongerWithoutANewReport()
      throws Exception {
    FakeTransportProvider.FakeModel model = failing();
    ModelFleet fleet =
        fleet(builder -> builder.ejection(Duration.ofSeconds(10), 3, Duration.ofMinutes(1)));
    assertThat(failTwice(fleet, events).reason()).contains("ejected for 10 s (ejection 1)");
    model.health = timeout -> CompletableFuture.completedFuture(HealthStatus.NOT_SERVING);

    time.advance(Duration.ofSeconds(10));
    FleetEvent stillOut = nextEvent(events, FleetEvent.Kind.DISCONNECTED);
    assertThat(stillOut.code()).isEqualTo("MULTIPLE_FAILED");
    assertThat(stillOut.reason())
        .isEqualTo(
            "re-admission check failed: health check: NOT_SERVING; ejected for 30 s (ejection 2),"
                + " then re-admitted if healthy");
    assertThat(model.setups.get()).as("not set up").isEqualTo(1);
    assertThat(directory.reports).as("reported once").hasSize(1);
    assertThat(status(fleet).isEjected()).isTrue();
    assertThat(status(fleet).ejections()).isEqualTo(2);

    time.advance(Duration.ofSeconds(30));
    assertThat(nextEvent(events, FleetEvent.Kind.DISCONNECTED).reason())
        .contains("ejected for 60 s (ejection 3)");

    model.health = timeout -> CompletableFuture.completedFuture(HealthStatus.SERVING);
    model.call = answering(1.0, Duration.ZERO);
    time.advance(Duration.ofMinutes(1));
    assertThat(nextEvent(events, FleetEvent.Kind.RESTARTED).code())
        .isEqualTo(FleetEvent.READMITTED);
    assertThat(fleet.callAndWait(FanOut.of("predict")).outcomes().get(0).status())
        .isEqualTo(CallStatus.SUCCESS);
  }

  @Test
  void withADirectoryThatActsOnReportsTheModelIsReportedAndLeftToIt() throws Exception {
    directory.actsOnReports = true; // the Model Orchestrator stops a reported model
    FakeTransportProvider.FakeModel model = failing();
    ModelFleet fleet = fleet(builder -> builder);
    FleetEvent disconnected = failTwice(fleet, events);
    assertThat(disconnected.code()).isEqualTo("MULTIPLE_FAILED");
    assertThat(disconnected.reason()).doesNotContain("ejected");
    assertThat(directory.reports).hasSize(1);
    assertThat(status(fleet).isEjected()).isFalse();

    time.advance(Duration.ofHours(1));
    assertNoMoreEvents(fleet, events, "never taken back");
    assertThat(model.setups.get()).isEqualTo(1);
    assertThat(status(fleet).state()).isEqualTo(ModelStatus.State.DISCONNECTED);
  }

  @Test
  void readmissionIsTheBuildersChoiceWhateverTheDirectory() throws Exception {
    failing();
    ModelFleet off = fleet(builder -> builder.readmission(false));
    assertThat(failTwice(off, events).reason()).doesNotContain("ejected");
    time.advance(Duration.ofHours(1));
    assertNoMoreEvents(off, events, "never taken back");
    off.close();

    RecordingDirectory orchestrated = new RecordingDirectory();
    orchestrated.actsOnReports = true;
    ModelFleet on =
        FleetTesting.fleetBuilder(orchestrated, events)
            .scheduler(time)
            .maxConsecutiveFailures(1)
            .readmission(true)
            .build();
    fleets.add(on);
    orchestrated.snapshot(fake("m"));
    nextEvent(events, FleetEvent.Kind.CONNECTED);
    assertThat(failTwice(on, events).reason()).contains("ejected for 30 s (ejection 1)");
  }

  @Test
  void aModelDisconnectedOrGoneWhileEjectedIsNotTakenBack() throws Exception {
    FakeTransportProvider.FakeModel model = failing();
    ModelFleet fleet = fleet(builder -> builder);
    failTwice(fleet, events);
    assertThat(fleet.disconnect("m", "enough")).as("ends the ejection").isTrue();
    assertThat(nextEvent(events, FleetEvent.Kind.DISCONNECTED).code()).isEqualTo(FleetEvent.LOCAL);
    assertThat(status(fleet).isEjected()).isFalse();
    time.advance(Duration.ofMinutes(1));
    assertNoMoreEvents(fleet, events, "disconnected for good");
    assertThat(model.setups.get()).isEqualTo(1);

    FakeTransportProvider.FakeModel other =
        define("n", FakeTransportProvider.status(StatusCode.MODEL_FAILED, "boom"));
    directory.update(fake("n"), ModelState.RUNNING);
    nextEvent(events, FleetEvent.Kind.CONNECTED);
    for (int i = 0; i < 2; i++) {
      fleet.callAndWait(FanOut.builder("predict").only(List.of("n")).build());
    }
    assertThat(nextEvent(events, FleetEvent.Kind.DISCONNECTED).reason())
        .contains("ejected for 30 s");
    directory.update(fake("n"), ModelState.STOPPED);
    assertThat(nextEvent(events, FleetEvent.Kind.LEFT).modelId()).isEqualTo("n");
    time.advance(Duration.ofMinutes(1));
    assertNoMoreEvents(fleet, events, "gone: never taken back");
    assertThat(other.setups.get()).isEqualTo(1);
  }

  @Test
  void onlyTheModelOrchestratorActsOnReports() {
    assertThat(StaticModelDirectory.of("fake://m").actsOnReports()).isFalse();
    assertThat(new RecordingDirectory().actsOnReports()).isFalse();
    try (OrchestratorDirectory orchestrator =
        OrchestratorDirectory.builder(URI.create("ws://127.0.0.1:9"), "crunch").build()) {
      assertThat(orchestrator.actsOnReports()).isTrue();
    }
  }
}
