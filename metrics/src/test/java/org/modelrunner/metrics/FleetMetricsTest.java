package org.modelrunner.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.modelrunner.client.FanOut;
import org.modelrunner.client.ModelFleet;
import org.modelrunner.client.ModelStatus;
import org.modelrunner.transport.inprocess.InProcessModels;
import org.modelrunner.transport.inprocess.InProcessRunner;

class FleetMetricsTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private List<InProcessRunner> runners = List.of();
  private ModelFleet fleet;

  @AfterEach
  void close() {
    if (fleet != null) {
      fleet.close();
    }
    runners.forEach(InProcessRunner::close);
  }

  private void fleet(boolean perModel) throws InterruptedException {
    String prefix = "metrics-" + System.nanoTime() + "-";
    runners =
        List.of(
            InProcessModels.register(prefix + "good", TestModels.Answering.class),
            InProcessModels.register(prefix + "bad", TestModels.Throwing.class));
    fleet =
        ModelFleet.builder()
            .directory(InProcessModels.directory())
            .baseClass(TestModels.Base.class.getName())
            .callTimeout(Duration.ofSeconds(10))
            .maxConsecutiveFailures(2)
            .build();
    FleetMetrics.builder(registry).perModelTags(perModel).bind(fleet);
    assertThat(fleet.awaitConnected(2, Duration.ofSeconds(30))).isTrue();
  }

  @Test
  void countsOutcomesLatenciesFanOutsEventsAndReports() throws Exception {
    fleet(false);
    for (int i = 0; i < 3; i++) {
      // call(...).get() completes after the listeners saw the result
      fleet.call(FanOut.of("predict")).get(10, TimeUnit.SECONDS);
    }
    assertThat(registry.counter("modelrunner.fleet.outcomes", "status", "SUCCESS").count())
        .isEqualTo(3);
    assertThat(registry.counter("modelrunner.fleet.outcomes", "status", "FAILURE").count())
        .isEqualTo(3);
    assertThat(registry.get("modelrunner.fleet.call.latency").timer().count()).isEqualTo(6);
    assertThat(registry.get("modelrunner.fleet.fanout.duration").timer().count()).isEqualTo(3);
    // Events reach listeners on the fleet's executor, apart from fan-out results: the second
    // model's may come after the results of fan-outs it answered.
    Awaitility.await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(
                        registry.counter("modelrunner.fleet.events", "kind", "CONNECTED").count())
                    .isEqualTo(2));
    // The third failure in a row is over the limit of 2: disconnected and reported.
    Awaitility.await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              assertThat(
                      registry
                          .counter(
                              "modelrunner.fleet.reports",
                              "code",
                              "MULTIPLE_FAILED",
                              "by",
                              "policy")
                          .count())
                  .isEqualTo(1);
              assertThat(registry.get("modelrunner.fleet.models.connected").gauge().value())
                  .isEqualTo(1);
            });
    // The coordinator's own report is counted apart.
    String good =
        fleet.models().stream()
            .map(ModelStatus::modelId)
            .filter(id -> id.endsWith("good"))
            .findFirst()
            .orElseThrow();
    fleet.report(good, "POOR_PREDICTIONS", "mean error 3.2");
    Awaitility.await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(
                        registry
                            .counter(
                                "modelrunner.fleet.reports",
                                "code",
                                "POOR_PREDICTIONS",
                                "by",
                                "coordinator")
                            .count())
                    .isEqualTo(1));
    assertThat(registry.getMeters())
        .as("no per-model tags by default")
        .noneMatch(meter -> meter.getId().getTag("model") != null);
  }

  @Test
  void perModelTagsAreAChoice() throws Exception {
    fleet(true);
    fleet.call(FanOut.of("predict")).get(10, TimeUnit.SECONDS);
    assertThat(
            registry.getMeters().stream()
                .filter(meter -> meter.getId().getName().equals("modelrunner.fleet.outcomes"))
                .map(meter -> meter.getId().getTag("model"))
                .filter(model -> model != null)
                .count())
        .isEqualTo(2);
  }
}
