package org.modelrunner.fleetpage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.modelrunner.fleetpage.fixtures.CountingTracker;

/** The stream at {@code /events}, read by a Java HTTP client as a browser's EventSource would. */
@Timeout(60)
class EventStreamTest {
  private static final Duration INTERVAL = Duration.ofMillis(100);
  private static final Duration WAIT = Duration.ofSeconds(10);

  private TestFleet fleet;
  private FleetPage page;
  private PageClient client;

  @BeforeEach
  void startThePage() throws InterruptedException, IOException {
    fleet = new TestFleet();
    page = FleetPage.builder(fleet.fleet).updateInterval(INTERVAL).start();
    client = new PageClient(page.uri());
  }

  @AfterEach
  void close() {
    if (page != null) {
      page.close();
    }
    if (fleet != null) {
      fleet.close();
    }
  }

  @Test
  void aClientGetsTheDocumentAtOnceThenEachChange() throws Exception {
    try (PageClient.EventStream events = client.events()) {
      PageClient.Message first = events.nextDocument(WAIT);
      assertThat(first.event()).isEqualTo("fleet");
      assertThat(first.id()).isEqualTo("1");
      assertThat(first.json().path("models").isEmpty()).isTrue();

      // A model joins: its CONNECTED event pushes a document.
      fleet.register("stream-good", CountingTracker.class);
      fleet.awaitConnected(1);
      JsonNode joined = nextWith(events, EventStreamTest::joined);
      JsonNode model = joined.path("models").get(0);
      assertThat(model.path("modelId").asText()).isEqualTo("stream-good");
      assertThat(model.path("state").asText()).isEqualTo("CONNECTED");
      assertThat(joined.path("events").path("recent").get(0).path("kind").asText())
          .isEqualTo("CONNECTED");

      // A fan-out changes the counts, and no event says so: the next periodic push does.
      fleet.tick();
      JsonNode ticked = nextWith(events, json -> calls(json) == 1);
      assertThat(ticked.path("models").get(0).path("counts").path("successes").asLong())
          .isEqualTo(1);
      fleet.tick();
      fleet.tick();
      assertThat(calls(nextWith(events, json -> calls(json) == 3))).isEqualTo(3);
    }
  }

  @Test
  void nothingChangedSendsACommentInsteadOfADocument() throws Exception {
    try (PageClient.EventStream events = client.events()) {
      PageClient.Message first = events.nextDocument(WAIT);
      assertThat(first).isNotNull();
      for (int i = 0; i < 3; i++) {
        PageClient.Message next = events.next(WAIT);
        assertThat(next.comment()).as("message %d after the first document", i).isTrue();
      }
    }
  }

  @Test
  void idsGrowAndEveryClientGetsTheSameDocuments() throws Exception {
    try (PageClient.EventStream one = client.events();
        PageClient.EventStream two = client.events()) {
      assertThat(one.nextDocument(WAIT).id()).isEqualTo("1");
      // The second client gets the current document, unchanged: the same push.
      PageClient.Message twosFirst = two.nextDocument(WAIT);
      assertThat(twosFirst.id()).isEqualTo("1");
      fleet.register("stream-shared", CountingTracker.class);
      fleet.awaitConnected(1);
      PageClient.Message onesNext = nextMessageWith(one, EventStreamTest::joined);
      PageClient.Message twosNext = nextMessageWith(two, EventStreamTest::joined);
      assertThat(Long.parseLong(onesNext.id())).isGreaterThan(1);
      assertThat(twosNext.id()).isEqualTo(onesNext.id());
      assertThat(twosNext.data()).isEqualTo(onesNext.data());
    }
  }

  @Test
  void closingThePageEndsTheStreams() throws Exception {
    try (PageClient.EventStream events = client.events()) {
      assertThat(events.nextDocument(WAIT)).isNotNull();
      assertThat(page.streamClients()).isEqualTo(1);
      page.close();
      assertThat(events.awaitEnd(WAIT)).isTrue();
      assertThat(page.streamClients()).isZero();
    }
  }

  @Test
  void aClientThatLeavesIsForgotten() throws Exception {
    try (PageClient.EventStream events = client.events()) {
      assertThat(events.nextDocument(WAIT)).isNotNull();
    }
    // Found out at the next write: a keep-alive comment at most one interval later.
    await().atMost(WAIT).until(() -> page.streamClients() == 0);
  }

  private static long calls(JsonNode json) {
    JsonNode models = json.path("models");
    return models.isEmpty() ? -1 : models.get(0).path("counts").path("calls").asLong();
  }

  /** Whether the one model is connected, and its CONNECTED event recorded. */
  private static boolean joined(JsonNode json) {
    return json.path("models").size() == 1
        && json.path("models").get(0).path("state").asText().equals("CONNECTED")
        && json.path("events").path("received").asInt() == 1;
  }

  private static JsonNode nextWith(
      PageClient.EventStream events, java.util.function.Predicate<JsonNode> wanted)
      throws InterruptedException {
    return nextMessageWith(events, wanted).json();
  }

  private static PageClient.Message nextMessageWith(
      PageClient.EventStream events, java.util.function.Predicate<JsonNode> wanted)
      throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      PageClient.Message message =
          events.nextDocument(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      assertThat(message).as("a document before the stream ended").isNotNull();
      if (wanted.test(message.json())) {
        return message;
      }
    }
  }
}
