package org.modelrunner.fleetpage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.modelrunner.client.CallStatus;
import org.modelrunner.client.FanOutResult;
import org.modelrunner.fleetpage.fixtures.CountingTracker;
import org.modelrunner.fleetpage.fixtures.ThrowingTracker;

/**
 * The document at {@code /api/fleet} after known calls on an in-process fleet: a model that answers
 * every call, and one that fails every call and is disconnected after its second failure.
 */
@Timeout(60)
class FleetJsonTest {
  private static TestFleet fleet;
  private static FleetPage page;
  private static JsonNode document;
  private static Instant started;

  @BeforeAll
  static void twoTicks() throws InterruptedException, IOException {
    fleet = new TestFleet();
    started = Instant.now();
    page = FleetPage.builder(fleet.fleet).start();
    fleet
        .register("json-good", CountingTracker.class)
        .register("json-throwing", ThrowingTracker.class);
    fleet.awaitConnected(2);
    FanOutResult first = fleet.tick();
    assertThat(first.outcomes())
        .extracting(outcome -> outcome.modelId() + " " + outcome.status())
        .containsExactlyInAnyOrder("json-good SUCCESS", "json-throwing FAILURE");
    FanOutResult second = fleet.tick();
    assertThat(second.withStatus(CallStatus.SUCCESS)).hasSize(1);
    PageClient client = new PageClient(page.uri());
    // The disconnection is an event, delivered on the fleet's executor after the fan-out.
    await()
        .atMost(TestFleet.WAIT)
        .until(() -> client.fleet().path("events").path("received").asInt() == 3);
    document = client.fleet();
  }

  @AfterAll
  static void close() {
    if (page != null) {
      page.close();
    }
    if (fleet != null) {
      fleet.close();
    }
  }

  @Test
  void summaryCountsModelsByStateAndAddsUpTheOutcomes() {
    JsonNode summary = document.path("summary");
    assertThat(summary.path("models").asInt()).isEqualTo(2);
    assertThat(summary.path("states").toString()).isEqualTo("{\"CONNECTED\":1,\"DISCONNECTED\":1}");
    assertThat(summary.path("calls").asLong()).isEqualTo(4);
    assertThat(summary.path("successes").asLong()).isEqualTo(2);
    assertThat(summary.path("failures").asLong()).isEqualTo(2);
    assertThat(summary.path("timeouts").asLong()).isZero();
    assertThat(summary.path("skipped").asLong()).isZero();
    assertThat(summary.path("inCooldown").asInt()).isZero();
    assertThat(Instant.parse(document.path("generatedAt").asText())).isAfterOrEqualTo(started);
  }

  @Test
  void theModelThatAnswersHasItsCountsAndLatency() {
    JsonNode good = model("json-good");
    assertThat(good.path("deploymentId").asText()).isEqualTo("json-good");
    assertThat(good.path("address").asText()).isEqualTo("inproc://json-good");
    assertThat(good.path("infos").isObject()).isTrue();
    assertThat(good.path("state").asText()).isEqualTo("CONNECTED");
    assertThat(good.path("counts").toString())
        .isEqualTo("{\"calls\":2,\"successes\":2,\"failures\":0,\"timeouts\":0,\"skipped\":0}");
    JsonNode latency = good.path("latency");
    assertThat(latency.path("count").asLong()).isEqualTo(2);
    assertThat(latency.path("p50Micros").asLong()).isPositive();
    assertThat(latency.path("p90Micros").asLong())
        .isGreaterThanOrEqualTo(latency.path("p50Micros").asLong());
    assertThat(latency.path("p99Micros").asLong())
        .isGreaterThanOrEqualTo(latency.path("p90Micros").asLong());
    assertThat(latency.path("maxMicros").asLong()).isPositive();
    assertThat(good.path("consecutiveFailures").asInt()).isZero();
    assertThat(good.path("consecutiveTimeouts").asInt()).isZero();
    assertThat(good.path("cooldown").asInt()).isZero();
    assertThat(good.path("lastError").isNull()).isTrue();
    assertThat(good.path("removal").isNull()).isTrue();
  }

  @Test
  void theModelThatFailsIsDisconnectedWithTheCodeReported() {
    JsonNode throwing = model("json-throwing");
    assertThat(throwing.path("state").asText()).isEqualTo("DISCONNECTED");
    assertThat(throwing.path("counts").toString())
        .isEqualTo("{\"calls\":2,\"successes\":0,\"failures\":2,\"timeouts\":0,\"skipped\":0}");
    assertThat(throwing.path("consecutiveFailures").asInt()).isEqualTo(2);
    assertThat(throwing.path("latency").path("count").asLong()).isEqualTo(2);
    assertThat(throwing.path("lastError").asText())
        .contains("MODEL_FAILED")
        .contains("java.lang.IllegalStateException: " + ThrowingTracker.MESSAGE);
    JsonNode removal = throwing.path("removal");
    assertThat(removal.path("kind").asText()).isEqualTo("DISCONNECTED");
    assertThat(removal.path("code").asText()).isEqualTo("MULTIPLE_FAILED");
    assertThat(removal.path("reason").asText()).contains("2 consecutive failures");
    assertThat(Instant.parse(removal.path("time").asText())).isAfterOrEqualTo(started);
    assertThat(throwing.path("ejections").asInt()).as("ejected once, to be re-admitted").isOne();
    assertThat(Instant.parse(throwing.path("ejectedUntil").asText())).isAfter(started);
    assertThat(model("json-good").path("ejectedUntil").isNull()).isTrue();
  }

  @Test
  void eventsAreTheJoinsThenTheDisconnectionInOrder() {
    JsonNode events = document.path("events");
    assertThat(events.path("received").asInt()).isEqualTo(3);
    assertThat(events.path("capacity").asInt()).isEqualTo(200);
    List<String> recent = new ArrayList<>();
    long sequence = 0;
    for (JsonNode event : events.path("recent")) {
      assertThat(event.path("sequence").asLong()).isEqualTo(++sequence);
      assertThat(Instant.parse(event.path("time").asText())).isAfterOrEqualTo(started);
      assertThat(event.path("deploymentId").asText()).isEqualTo(event.path("modelId").asText());
      assertThat(event.path("address").asText())
          .isEqualTo("inproc://" + event.path("modelId").asText());
      recent.add(
          event.path("kind").asText()
              + " "
              + event.path("modelId").asText()
              + " "
              + event.path("code").asText());
    }
    assertThat(recent.subList(0, 2))
        .containsExactlyInAnyOrder("CONNECTED json-good ", "CONNECTED json-throwing ");
    assertThat(recent.get(2)).isEqualTo("DISCONNECTED json-throwing MULTIPLE_FAILED");
  }

  @Test
  void theInProcessRegistryHasNoLinkToReport() {
    assertThat(document.path("directory").isNull()).isTrue();
  }

  private static JsonNode model(String id) {
    for (JsonNode model : document.path("models")) {
      if (model.path("modelId").asText().equals(id)) {
        return model;
      }
    }
    throw new AssertionError("No model " + id + " in " + document);
  }
}
