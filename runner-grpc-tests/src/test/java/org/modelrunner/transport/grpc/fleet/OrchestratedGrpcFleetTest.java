package org.modelrunner.transport.grpc.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.modelrunner.client.CallOutcome;
import org.modelrunner.client.CallStatus;
import org.modelrunner.client.FanOut;
import org.modelrunner.client.FanOutResult;
import org.modelrunner.client.FleetEvent;
import org.modelrunner.client.ModelFleet;
import org.modelrunner.client.ModelStatus;
import org.modelrunner.client.OrchestratorDirectory;
import org.modelrunner.testsupport.FakeOrchestrator;
import org.modelrunner.transport.grpc.GrpcRunner;

/**
 * End to end: a fake Model Orchestrator (a real WebSocket server on 127.0.0.1) announces real
 * {@link GrpcRunner}s, and a {@link ModelFleet} following it through an {@link
 * OrchestratorDirectory} ticks them: a good model (redeployed mid-run), a slow one, one that
 * throws, and one whose runner dies mid-run. The bad ones are reported to the orchestrator with the
 * right codes and leave; the good one answers every tick; no tick takes longer than its deadline
 * plus a small bound.
 */
@Timeout(120)
class OrchestratedGrpcFleetTest {
  private static final String CRUNCH = "e2e";
  private static final Duration CALL_TIMEOUT = Duration.ofMillis(500);
  private static final Duration BOUND = Duration.ofSeconds(1);
  private static final long SLOW_MILLIS = 1000;

  static final String TRIPLER =
      """
      package fleet.tripler;
      public class Tripler extends org.modelrunner.transport.grpc.fleet.PredictorBase {
        public double predict(double x) { return 3 * x; }
      }
      """;

  private final Closer closer = new Closer();

  @AfterEach
  void closeEverything() throws Exception {
    closer.close();
  }

  private static JsonNode running(String model, String deployment, GrpcRunner runner) {
    return FakeOrchestrator.entry(model, deployment, "RUNNING", "127.0.0.1", runner.port());
  }

  @Test
  void theFleetFollowsTheOrchestratorAndReportsTheBadModels() throws Exception {
    FleetSubmissions submissions = closer.open(new FleetSubmissions());
    GrpcRunner good = closer.runner(submissions.compile("good", FleetSubmissions.GOOD));
    GrpcRunner slow =
        closer.runner(submissions.compile("slow", FleetSubmissions.SLOW.formatted(SLOW_MILLIS)));
    GrpcRunner failing = closer.runner(submissions.compile("failing", FleetSubmissions.FAILING));
    GrpcRunner dying = closer.runner(submissions.compile("dying", FleetSubmissions.GOOD));
    Path tripler = submissions.compile("tripler", TRIPLER);

    FakeOrchestrator orchestrator = closer.open(new FakeOrchestrator().start());
    orchestrator.put(CRUNCH, running("good", "good-1", good));
    orchestrator.put(CRUNCH, running("slow", "slow-1", slow));
    orchestrator.put(CRUNCH, running("failing", "failing-1", failing));
    orchestrator.put(CRUNCH, running("dying", "dying-1", dying));

    List<FleetEvent> events = new CopyOnWriteArrayList<>();
    ModelFleet fleet =
        closer.open(
            Closer.orchestratedFleet(orchestrator.uri(), CRUNCH, CALL_TIMEOUT, events).build());
    assertThat(fleet.awaitSettled(Duration.ofSeconds(30)))
        .as("the first snapshot is settled")
        .isTrue();
    assertThat(fleet.connectedModelIds()).containsExactly("dying", "failing", "good", "slow");

    Map<String, JsonNode> reports = new HashMap<>();
    boolean replaced = false;
    GrpcRunner redeployed = null;
    TickClock tickClock = closer.open(new TickClock(Duration.ofMillis(100)));
    int tick = 0;
    while (tick < 60 && (tick < 8 || reports.size() < 3 || !replaced)) {
      tick++;
      FanOutResult result = fleet.callAndWait(FanOut.of("predict", (double) tick));
      assertThat(result.elapsed())
          .as("tick %d", tick)
          .isLessThanOrEqualTo(CALL_TIMEOUT.plus(BOUND));

      CallOutcome answer = result.outcome("good").orElseThrow();
      assertThat(answer.status()).as("tick %d: %s", tick, answer).isEqualTo(CallStatus.SUCCESS);
      double value = answer.as(Double.class);
      if (replaced) {
        assertThat(value).as("tick %d, after the redeployment", tick).isEqualTo(3.0 * tick);
        assertThat(answer.deploymentId()).isEqualTo("good-2");
      } else {
        assertThat(value).as("tick %d", tick).isIn(2.0 * tick, 3.0 * tick);
      }

      if (tick == 3) {
        dying.close(); // the runner dies mid-run
      }
      if (tick == 4) {
        redeployed = closer.runner(tripler);
        orchestrator.update(CRUNCH, running("good", "good-2", redeployed));
      }
      if (!replaced && events.stream().anyMatch(e -> e.kind() == FleetEvent.Kind.REPLACED)) {
        replaced = true;
        // an orchestrator that keeps the old deployment until the new one is ready (the production
        // one stops it
        // at once: ProductionOrchestratorFleetTest)
        orchestrator.update(
            CRUNCH, FakeOrchestrator.entry("good", "good-1", "STOPPED", "127.0.0.1", 0));
      }
      JsonNode report;
      while ((report = orchestrator.reports().poll()) != null) {
        assertThat(reports.put(report.get("model_id").asText(), report))
            .as("one report per model: %s", report)
            .isNull();
      }
      tickClock.next(); // the tick rate: every 100 ms
    }

    assertThat(reports.keySet()).containsExactlyInAnyOrder("slow", "failing", "dying");
    assertThat(reports.get("slow").get("failure_code").asText()).isEqualTo("MULTIPLE_TIMEOUT");
    assertThat(reports.get("failing").get("failure_code").asText()).isEqualTo("MULTIPLE_FAILED");
    assertThat(reports.get("failing").get("failure_reason").asText())
        .contains(
            "The model raised an exception: java.lang.IllegalStateException: no prediction for");
    assertThat(reports.get("dying").get("failure_code").asText()).isEqualTo("CONNECTION_FAILED");
    assertThat(reports.values())
        .allSatisfy(r -> assertThat(r.get("ip").asText()).isEqualTo("127.0.0.1"));
    assertThat(orchestrator.malformedReports()).isEmpty();
    assertThat(orchestrator.reports().poll(500, TimeUnit.MILLISECONDS))
        .as("no report twice")
        .isNull();

    // The orchestrator stopped the reported models: they left.
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(fleet.models())
                    .extracting(ModelStatus::modelId)
                    .containsExactly("good"));
    ModelStatus status = fleet.models().get(0);
    assertThat(status.deploymentId()).isEqualTo("good-2");
    assertThat(status.state()).isEqualTo(ModelStatus.State.CONNECTED);
    assertThat(status.latency().count()).isPositive();

    assertThat(kinds(events, "good"))
        .contains(FleetEvent.Kind.CONNECTED, FleetEvent.Kind.REPLACED)
        .doesNotContain(FleetEvent.Kind.LEFT, FleetEvent.Kind.DISCONNECTED);
    assertThat(event(events, "slow", FleetEvent.Kind.DISCONNECTED).code())
        .isEqualTo("MULTIPLE_TIMEOUT");
    assertThat(event(events, "failing", FleetEvent.Kind.DISCONNECTED).code())
        .isEqualTo("MULTIPLE_FAILED");
    assertThat(event(events, "dying", FleetEvent.Kind.CONNECTION_FAILED).reason())
        .contains("UNAVAILABLE");
    for (String bad : List.of("slow", "failing", "dying")) {
      assertThat(kinds(events, bad)).as(bad).endsWith(FleetEvent.Kind.LEFT);
    }
  }

  private static List<FleetEvent.Kind> kinds(List<FleetEvent> events, String model) {
    return events.stream().filter(e -> e.modelId().equals(model)).map(FleetEvent::kind).toList();
  }

  private static FleetEvent event(List<FleetEvent> events, String model, FleetEvent.Kind kind) {
    return events.stream()
        .filter(e -> e.modelId().equals(model) && e.kind() == kind)
        .findFirst()
        .orElseThrow(
            () -> new AssertionError("no " + kind + " event for " + model + " in " + events));
  }
}
