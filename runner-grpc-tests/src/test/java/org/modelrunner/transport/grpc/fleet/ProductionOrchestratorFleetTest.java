package org.modelrunner.transport.grpc.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.modelrunner.client.CallFailure;
import org.modelrunner.client.CallOutcome;
import org.modelrunner.client.CallStatus;
import org.modelrunner.client.FailureCode;
import org.modelrunner.client.FanOut;
import org.modelrunner.client.FanOutResult;
import org.modelrunner.client.FleetEvent;
import org.modelrunner.client.ModelFleet;
import org.modelrunner.client.ModelStatus;
import org.modelrunner.spi.DirectoryStatus;
import org.modelrunner.testsupport.FakeOrchestrator;
import org.modelrunner.transport.grpc.GrpcRunner;

/**
 * End to end against an orchestrator that behaves like the production one (a strict {@link
 * FakeOrchestrator}): real {@link GrpcRunner}s on 127.0.0.1, a fleet ticking every 100 ms with a
 * 300 ms deadline, and, while it ticks, a redeploy (the new deployment {@code RUNNING} and the old
 * one {@code STOPPED} in one pass, the old runner stopped at once), a restart ({@code RECOVERING}
 * with a null ip, then {@code RUNNING} on a new port), a {@code STOPPED} model, a failing model and
 * an orchestrator restart. Every tick has exactly one outcome per model the fleet lists; redeployed
 * and restarted models never leave; every report matches a model and ip the orchestrator announced.
 */
@Timeout(120)
class ProductionOrchestratorFleetTest {
  private static final String CRUNCH = "production";
  private static final String IP = "127.0.0.1";
  private static final Duration CALL_TIMEOUT = Duration.ofMillis(300);
  private static final Duration BOUND = Duration.ofSeconds(1);

  private final Closer closer = new Closer();

  @AfterEach
  void closeEverything() throws Exception {
    closer.close();
  }

  /** Where the script is. */
  private enum Phase {
    START,
    REDEPLOYING,
    RESTARTING,
    RUNNING_AGAIN,
    STOPPING,
    ORCHESTRATOR_RESTART,
    DONE
  }

  @Test
  void redeploysRestartsStopsAndAnOrchestratorRestartWhileTheFleetTicks() throws Exception {
    FleetSubmissions submissions = closer.open(new FleetSubmissions());
    Path doubler = submissions.compile("good", FleetSubmissions.GOOD);
    Path tripler = submissions.compile("tripler", OrchestratedGrpcFleetTest.TRIPLER);
    GrpcRunner a1 = closer.runner(doubler);
    GrpcRunner b1 = closer.runner(doubler);
    GrpcRunner c1 = closer.runner(doubler);
    GrpcRunner d1 = closer.runner(doubler);
    GrpcRunner f1 = closer.runner(submissions.compile("failing", FleetSubmissions.FAILING));

    FakeOrchestrator orchestrator = closer.open(new FakeOrchestrator().start());
    orchestrator.stopReportedModels(false);
    orchestrator.put(CRUNCH, FakeOrchestrator.entry("a", "a-1", "RUNNING", IP, a1.port()));
    orchestrator.put(CRUNCH, FakeOrchestrator.entry("b", "b-1", "RUNNING", IP, b1.port()));
    orchestrator.put(CRUNCH, FakeOrchestrator.entry("c", "c-1", "RUNNING", IP, c1.port()));
    orchestrator.put(CRUNCH, FakeOrchestrator.entry("d", "d-1", "RUNNING", IP, d1.port()));
    orchestrator.put(CRUNCH, FakeOrchestrator.entry("f", "f-1", "RUNNING", IP, f1.port()));

    List<FleetEvent> events = new CopyOnWriteArrayList<>();
    ModelFleet fleet =
        closer.open(
            Closer.orchestratedFleet(orchestrator.uri(), CRUNCH, CALL_TIMEOUT, events).build());
    assertThat(fleet.awaitSettled(Duration.ofSeconds(30))).isTrue();
    assertThat(fleet.connectedModelIds()).containsExactly("a", "b", "c", "d", "f");
    assertThat(orchestrator.refusedHandshakes()).as("our handshake has no body header").isEmpty();

    Phase phase = Phase.START;
    int phaseTick = 0;
    int connectionsBeforeRestart = 0;
    Map<String, Map<CallStatus, Integer>> counts = new HashMap<>();
    List<String> skippedCodes = new ArrayList<>();
    TickClock tickClock = closer.open(new TickClock(Duration.ofMillis(100)));
    int tick = 0;
    while (phase != Phase.DONE) {
      tick++;
      phaseTick++;
      assertThat(tick)
          .as("the script finished within 150 ticks, stuck in " + phase)
          .isLessThan(150);
      List<String> listed = listedIds(fleet);
      FanOutResult result = fleet.callAndWait(FanOut.of("predict", (double) tick));
      assertThat(result.elapsed())
          .as("tick %d", tick)
          .isLessThanOrEqualTo(CALL_TIMEOUT.plus(BOUND));
      List<String> answered = result.outcomes().stream().map(CallOutcome::modelId).toList();
      assertThat(answered).as("tick %d: one outcome per model", tick).doesNotHaveDuplicates();
      assertThat(answered)
          .as("tick %d: redeployed and restarted models stay", tick)
          .contains("a", "b", "d");
      assertThat(answered)
          .as("tick %d: the models the fleet listed before it (%s)", tick, listed)
          .containsAll(listed.stream().filter(id -> !id.equals("f") && !id.equals("c")).toList());
      for (CallOutcome outcome : result.outcomes()) {
        counts
            .computeIfAbsent(outcome.modelId(), id -> new EnumMap<>(CallStatus.class))
            .merge(outcome.status(), 1, Integer::sum);
        if (outcome.status() == CallStatus.SKIPPED) {
          skippedCodes.add(outcome.modelId() + " " + outcome.failure().orElseThrow().code());
        }
      }
      assertThat(result.outcome("d").orElseThrow().status())
          .as("tick %d: d", tick)
          .isEqualTo(CallStatus.SUCCESS);

      switch (phase) {
        case START -> {
          if (phaseTick == 3) {
            GrpcRunner a2 = closer.runner(tripler);
            orchestrator.redeploy(CRUNCH, "a-1", "a-2", IP, a2.port());
            a1.close(); // the orchestrator stops the old process at once
            phase = Phase.REDEPLOYING;
            phaseTick = 0;
          }
        }
        case REDEPLOYING -> {
          if (has(events, "a", FleetEvent.Kind.REPLACED)) {
            b1.close(); // b's process dies; the orchestrator has no task for it: a null ip
            orchestrator.recovering(CRUNCH, "b-1");
            phase = Phase.RESTARTING;
            phaseTick = 0;
          }
        }
        case RESTARTING -> {
          if (phaseTick == 1) {
            // The coordinator reports b while it has no address: the report carries the null ip.
            assertThat(waitFor(() -> status(fleet, "b").state() == ModelStatus.State.RECOVERING))
                .isTrue();
            fleet.report("b", FailureCode.LOW_PERFORMANCE, "slow to restart");
          }
          if (phaseTick == 3) {
            GrpcRunner b2 = closer.runner(doubler);
            orchestrator.running(CRUNCH, "b-1", IP, b2.port());
            phase = Phase.RUNNING_AGAIN;
            phaseTick = 0;
          }
        }
        case RUNNING_AGAIN -> {
          if (has(events, "b", FleetEvent.Kind.RESTARTED)) {
            orchestrator.stopped(CRUNCH, "c-1");
            c1.close();
            phase = Phase.STOPPING;
            phaseTick = 0;
          }
        }
        case STOPPING -> {
          if (has(events, "c", FleetEvent.Kind.LEFT)) {
            orchestrator.stopped(CRUNCH, "c-1"); // a later state pass: placeholders
            connectionsBeforeRestart = orchestrator.connectionCount();
            orchestrator.restart();
            phase = Phase.ORCHESTRATOR_RESTART;
            phaseTick = 0;
          }
        }
        case ORCHESTRATOR_RESTART -> {
          if (orchestrator.connectionCount() > connectionsBeforeRestart
              && fleet.directoryStatus().orElseThrow().state() == DirectoryStatus.State.CONNECTED
              && phaseTick >= 5) {
            phase = Phase.DONE;
          }
        }
        default -> throw new AssertionError(phase);
      }
      tickClock.next(); // the tick rate: every 100 ms
    }

    // Redeployed and restarted models never left; they sat calls out meanwhile.
    assertThat(kinds(events, "a"))
        .containsExactly(FleetEvent.Kind.CONNECTED, FleetEvent.Kind.REPLACED);
    assertThat(kinds(events, "b"))
        .containsExactly(
            FleetEvent.Kind.CONNECTED, FleetEvent.Kind.RECOVERING, FleetEvent.Kind.RESTARTED);
    assertThat(kinds(events, "c")).containsExactly(FleetEvent.Kind.CONNECTED, FleetEvent.Kind.LEFT);
    assertThat(kinds(events, "d")).containsExactly(FleetEvent.Kind.CONNECTED);
    assertThat(kinds(events, "f"))
        .containsExactly(FleetEvent.Kind.CONNECTED, FleetEvent.Kind.DISCONNECTED);
    assertThat(skippedCodes).contains("b " + CallFailure.RECOVERING);
    assertThat(skippedCodes)
        .allSatisfy(
            code ->
                assertThat(code)
                    .isIn("a " + CallFailure.REDEPLOYING, "b " + CallFailure.RECOVERING));
    // At most the one tick that may reach a runner just stopped, before the fleet applied the
    // orchestrator's
    // message, fails (UNAVAILABLE); nothing ever times out.
    for (String id : List.of("a", "b")) {
      assertThat(counts.get(id).getOrDefault(CallStatus.TIMEOUT, 0))
          .as(id + "'s timeouts")
          .isZero();
      assertThat(counts.get(id).getOrDefault(CallStatus.FAILURE, 0))
          .as(id + "'s failures")
          .isLessThanOrEqualTo(1);
      assertThat(counts.get(id).get(CallStatus.SUCCESS)).as(id + "'s successes").isGreaterThan(5);
    }

    ModelStatus a = status(fleet, "a");
    assertThat(a.deploymentId()).isEqualTo("a-2");
    assertThat(a.state()).isEqualTo(ModelStatus.State.CONNECTED);
    assertThat(status(fleet, "b").model().address().getPort()).isNotEqualTo(b1.port());
    assertThat(fleet.models()).extracting(ModelStatus::modelId).containsExactly("a", "b", "d", "f");

    // Every report matched a model and ip that the orchestrator announced.
    Map<String, JsonNode> reports = new HashMap<>();
    JsonNode report;
    while ((report = orchestrator.reports().poll(200, TimeUnit.MILLISECONDS)) != null) {
      assertThat(reports.put(report.get("model_id").asText(), report))
          .as("once: %s", report)
          .isNull();
    }
    assertThat(orchestrator.unmatchedReports()).isEmpty();
    assertThat(orchestrator.malformedReports()).isEmpty();
    assertThat(reports.keySet()).containsExactlyInAnyOrder("b", "f");
    assertThat(reports.get("f").get("failure_code").asText()).isEqualTo("MULTIPLE_FAILED");
    assertThat(reports.get("f").get("ip").asText()).isEqualTo(IP);
    assertThat(reports.get("b").get("failure_code").asText()).isEqualTo("LOW_PERFORMANCE");
    assertThat(reports.get("b").get("ip").isNull())
        .as("b had no address when it was reported")
        .isTrue();
  }

  /** The models the fleet lists and calls or sits out: all but those disconnected. */
  private static List<String> listedIds(ModelFleet fleet) {
    return fleet.models().stream()
        .filter(
            model ->
                model.state() != ModelStatus.State.DISCONNECTED
                    && model.state() != ModelStatus.State.CONNECTING)
        .map(ModelStatus::modelId)
        .toList();
  }

  private static ModelStatus status(ModelFleet fleet, String id) {
    return fleet.models().stream().filter(m -> m.modelId().equals(id)).findFirst().orElseThrow();
  }

  private static boolean has(List<FleetEvent> events, String model, FleetEvent.Kind kind) {
    return events.stream().anyMatch(e -> e.modelId().equals(model) && e.kind() == kind);
  }

  private static List<FleetEvent.Kind> kinds(List<FleetEvent> events, String model) {
    return events.stream().filter(e -> e.modelId().equals(model)).map(FleetEvent::kind).toList();
  }

  private static boolean waitFor(java.util.function.BooleanSupplier condition) {
    try {
      org.awaitility.Awaitility.await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(10))
          .until(condition::getAsBoolean);
      return true;
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      return false;
    }
  }
}
