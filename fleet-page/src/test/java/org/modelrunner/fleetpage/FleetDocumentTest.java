package org.modelrunner.fleetpage;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.modelrunner.client.FleetEvent;
import org.modelrunner.client.LatencyPercentiles;
import org.modelrunner.client.ModelStatus;
import org.modelrunner.spi.DirectoryStatus;
import org.modelrunner.spi.ModelEndpoint;

/** The document and the event ring, on statuses made by hand. */
class FleetDocumentTest {
  private static final Instant NOW = Instant.parse("2024-05-06T07:08:09Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

  @Test
  void tenThousandModelsMakeOneDocumentOnOneLine() throws IOException {
    List<ModelStatus> models = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) {
      models.add(
          status(
              "model-" + i,
              i % 10 == 0 ? ModelStatus.State.DISCONNECTED : ModelStatus.State.CONNECTED,
              i));
    }
    RecentEvents events = new RecentEvents(200, CLOCK);
    byte[] document =
        FleetDocument.write(
            new FleetDocument.Parts(NOW, models, Optional.empty(), events.view(models), 200));
    String text = new String(document, StandardCharsets.UTF_8);
    assertThat(text).doesNotContain("\n").doesNotContain("\r");
    // About 500 bytes per model with two infos and a short error: what a push costs.
    assertThat(document.length).isBetween(4_000_000, 5_500_000);
    JsonNode json = PageClient.JSON.readTree(document);
    assertThat(json.path("models").size()).isEqualTo(10_000);
    assertThat(json.path("summary").path("states").toString())
        .isEqualTo("{\"CONNECTED\":9000,\"DISCONNECTED\":1000}");
    assertThat(json.path("summary").path("calls").asLong()).isEqualTo(10_000L * 9_999 / 2);
    assertThat(json.path("summary").path("inCooldown").asInt()).isEqualTo(5_000);
  }

  @Test
  void stringsAreEscapedAndNullInfosStayNull() throws IOException {
    Map<String, String> infos = new LinkedHashMap<>();
    infos.put("cruncher", "a \"quoted\"\nname");
    infos.put("model_name", null);
    ModelStatus status =
        new ModelStatus(
            new ModelEndpoint("m\u00e9", "d1", URI.create("grpc://10.0.0.5:50051"), infos),
            ModelStatus.State.CONNECTING,
            0,
            3,
            new ModelStatus.Counts(0, 0, 0, 0, 0),
            2,
            LatencyPercentiles.NONE,
            Optional.of("line one\nline two </script>"));
    DirectoryStatus directory =
        new DirectoryStatus(
            DirectoryStatus.State.RECONNECTING, NOW.minusSeconds(5), 4, Optional.of("refused"));
    RecentEvents events = new RecentEvents(10, CLOCK);
    byte[] document =
        FleetDocument.write(
            new FleetDocument.Parts(
                NOW, List.of(status), Optional.of(directory), events.view(List.of(status)), 10));
    assertThat(new String(document, StandardCharsets.UTF_8)).doesNotContain("\n");
    JsonNode json = PageClient.JSON.readTree(document);
    JsonNode model = json.path("models").get(0);
    assertThat(model.path("modelId").asText()).isEqualTo("m\u00e9");
    assertThat(model.path("infos").path("cruncher").asText()).isEqualTo("a \"quoted\"\nname");
    assertThat(model.path("infos").has("model_name")).isTrue();
    assertThat(model.path("infos").path("model_name").isNull()).isTrue();
    assertThat(model.path("state").asText()).isEqualTo("CONNECTING");
    assertThat(model.path("consecutiveTimeouts").asInt()).isEqualTo(3);
    assertThat(model.path("cooldown").asInt()).isEqualTo(2);
    assertThat(model.path("lastError").asText()).isEqualTo("line one\nline two </script>");
    assertThat(json.path("directory").toString())
        .isEqualTo(
            "{\"state\":\"RECONNECTING\",\"since\":\"2024-05-06T07:08:04Z\",\"failedAttempts\":4,"
                + "\"lastError\":\"refused\"}");
    assertThat(json.path("generatedAt").asText()).isEqualTo("2024-05-06T07:08:09Z");
  }

  @Test
  void theRingKeepsTheLastEventsAndCountsThemAll() {
    RecentEvents events = new RecentEvents(200, CLOCK);
    for (int i = 1; i <= 250; i++) {
      events.record(event(FleetEvent.Kind.CONNECTED, "model-" + i, ""));
    }
    RecentEvents.View view = events.view(List.of());
    assertThat(view.received()).isEqualTo(250);
    assertThat(view.recent()).hasSize(200);
    assertThat(view.recent().get(0).sequence()).isEqualTo(51);
    assertThat(view.recent().get(0).event().modelId()).isEqualTo("model-51");
    assertThat(view.recent().get(199).sequence()).isEqualTo(250);
    assertThat(view.recent().get(199).time()).isEqualTo(NOW);
  }

  @Test
  void aRemovalIsKeptWhileTheModelIsOutAndListed() {
    RecentEvents events = new RecentEvents(2, CLOCK);
    events.record(event(FleetEvent.Kind.DISCONNECTED, "a", "MULTIPLE_TIMEOUT"));
    events.record(event(FleetEvent.Kind.CONNECTION_FAILED, "b", "BAD_IMPLEMENTATION"));
    events.record(event(FleetEvent.Kind.DISCONNECTED, "c", FleetEvent.LOCAL));
    events.record(event(FleetEvent.Kind.INFOS_UPDATED, "a", ""));
    events.record(event(FleetEvent.Kind.RESTARTED, "c", ""));
    List<ModelStatus> listed =
        List.of(
            status("a", ModelStatus.State.DISCONNECTED, 0),
            status("c", ModelStatus.State.CONNECTED, 0));
    RecentEvents.View view = events.view(listed);
    // a: still out (kept after it left the ring); b: no longer listed; c: back.
    assertThat(view.removals()).containsOnlyKeys("a");
    assertThat(view.removals().get("a").event().code()).isEqualTo("MULTIPLE_TIMEOUT");
    assertThat(view.recent()).hasSize(2);
  }

  @Test
  void aClosedRingRecordsNothing() {
    RecentEvents events = new RecentEvents(5, CLOCK);
    int[] changes = new int[1];
    events.onEvent(() -> changes[0]++);
    events.record(event(FleetEvent.Kind.CONNECTED, "a", ""));
    events.close();
    events.record(event(FleetEvent.Kind.CONNECTED, "b", ""));
    assertThat(changes[0]).isEqualTo(1);
    assertThat(events.view(List.of()).recent()).isEmpty();
  }

  static ModelStatus status(String id, ModelStatus.State state, long calls) {
    return new ModelStatus(
        new ModelEndpoint(
            id,
            id + "-deployment",
            URI.create("grpc://10.1." + (calls / 250 % 250) + "." + (calls % 250) + ":50051"),
            Map.of("model_name", "tracker " + id, "cruncher_name", "cruncher")),
        state,
        (int) (calls % 3),
        (int) (calls % 4),
        new ModelStatus.Counts(calls, calls / 2, calls / 4, calls / 8, calls / 16),
        (int) (calls % 2),
        new LatencyPercentiles(calls, 1_200, 3_400, 15_000, 480_000),
        state == ModelStatus.State.DISCONNECTED
            ? Optional.of("MODEL MODEL_FAILED: The model raised an exception")
            : Optional.empty());
  }

  private static FleetEvent event(FleetEvent.Kind kind, String id, String code) {
    return new FleetEvent(
        kind,
        ModelEndpoint.of(id, URI.create("inproc://" + id)),
        code,
        code.isEmpty() ? "" : "why");
  }
}
