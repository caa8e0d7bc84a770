package org.modelrunner.examples.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.modelrunner.client.CallFailure;
import org.modelrunner.client.CallOutcome;
import org.modelrunner.client.CallStatus;
import org.modelrunner.client.FleetEvent;
import org.modelrunner.client.ModelStatus;
import org.modelrunner.transport.inprocess.InProcessModels;

/**
 * Runs the demo's core for a few rounds against the submission folders the reactor built, and
 * checks what happens to each example model.
 */
class FleetDemoTest {
  private static final int ROUNDS = 4;

  /** The slow model's system property for its slow answers' length (SlowTracker's). */
  private static final String SLOW_PREDICT_PROPERTY = "modelrunner.examples.slowPredictMillis";

  private static DemoReport report;
  private static String output;

  /** The fleet's page, read while the demo ran (after its second round). */
  private static PageReader page;

  @BeforeAll
  @Timeout(60)
  static void runTheDemo() throws InterruptedException, IOException {
    // With the fleet's live page on a free port: a thread reads it while the demo runs.
    // The demo's timing, spread out: a deadline of 900 ms, far above the other models' first
    // calls (class loading, a cold JIT: tens of milliseconds, hundreds on a busy machine), and far
    // below the slow model's slow answers (1.8 s here, set through its system property), so that
    // neither a busy machine nor a pause of the whole JVM changes an outcome; the interval between
    // rounds leaves the slow model time to finish before the next round, as in the demo.
    System.setProperty(SLOW_PREDICT_PROPERTY, "1800");
    DemoSettings settings =
        new DemoSettings(
            ROUNDS,
            Duration.ofMillis(900),
            Duration.ofMillis(2200),
            Duration.ofSeconds(30),
            42,
            false,
            OptionalInt.of(0));
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    page = new PageReader(buffer, "Round 2 of");
    page.start();
    try (PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8)) {
      report = new FleetDemo(settings, Submissions.locate(), out).run();
    }
    page.join(10_000);
    output = buffer.toString(StandardCharsets.UTF_8);
    // What the demo printed, for whoever looks into a failure here.
    Files.writeString(
        Path.of("target", "fleet-demo-test-output.txt"), output, StandardCharsets.UTF_8);
  }

  @Test
  void everyModelIsSetUpOrRefusedBeforeTheFirstRound() {
    assertThat(report.setupComplete()).isTrue();
    assertThat(report.setupStatuses())
        .extracting(ModelStatus::modelId, ModelStatus::state)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple("good", ModelStatus.State.CONNECTED),
            org.assertj.core.groups.Tuple.tuple("slow", ModelStatus.State.CONNECTED),
            org.assertj.core.groups.Tuple.tuple("throwing", ModelStatus.State.CONNECTED),
            org.assertj.core.groups.Tuple.tuple("heavy", ModelStatus.State.CONNECTED),
            org.assertj.core.groups.Tuple.tuple("nothing", ModelStatus.State.DISCONNECTED));
    assertThat(report.rounds()).hasSize(ROUNDS);
  }

  @Test
  void goodAndHeavySucceedEveryRoundWithFinitePredictions() {
    for (String id : List.of("good", "heavy")) {
      for (Round round : report.rounds()) {
        assertThat(round.tickOutcome(id))
            .get()
            .extracting(CallOutcome::status)
            .isEqualTo(CallStatus.SUCCESS);
        assertThat(round.predictOutcome(id))
            .get()
            .extracting(CallOutcome::status)
            .isEqualTo(CallStatus.SUCCESS);
        assertThat(round.predicted()).containsKey(id);
        assertThat(round.predicted().get(id).price())
            .as("%s in round %d", id, round.number())
            .isFinite();
        assertThat(round.predicted().get(id).stdDev()).isFinite();
      }
      assertThat(report.finalStatus(id))
          .get()
          .extracting(ModelStatus::state)
          .isEqualTo(ModelStatus.State.CONNECTED);
      assertThat(report.meanAbsoluteErrors().get(id)).isFinite();
    }
    // The heavy model's predictions come from Apache Commons Math, loaded from its submission
    // folder: once
    // it has three prices it fits a trend and reports its residual error.
    assertThat(report.rounds().get(ROUNDS - 1).predicted().get("heavy").stdDev()).isPositive();
  }

  @Test
  void throwingIsDisconnectedWithMultipleFailedAfterItsFourthConsecutiveFailure() {
    for (Round round : report.rounds().subList(0, 2)) {
      CallOutcome tick = round.tickOutcome("throwing").orElseThrow();
      CallOutcome predict = round.predictOutcome("throwing").orElseThrow();
      assertThat(tick.status()).isEqualTo(CallStatus.FAILURE);
      assertThat(tick.failure()).get().extracting(CallFailure::code).isEqualTo("MODEL_FAILED");
      assertThat(tick.failure().orElseThrow().message())
          .startsWith("The model raised an exception: java.lang.IllegalArgumentException: tick:");
      assertThat(predict.status()).isEqualTo(CallStatus.FAILURE);
      assertThat(predict.failure().orElseThrow().message())
          .startsWith("The model raised an exception: java.lang.IllegalStateException: predict:");
    }
    List<EventLog.Entry> disconnections = removals("throwing");
    assertThat(disconnections).hasSize(1);
    EventLog.Entry disconnected = disconnections.get(0);
    assertThat(disconnected.event().kind()).isEqualTo(FleetEvent.Kind.DISCONNECTED);
    assertThat(disconnected.event().code()).isEqualTo("MULTIPLE_FAILED");
    assertThat(disconnected.event().reason()).startsWith("4 consecutive failures");
    assertThat(disconnected.round()).isEqualTo(2);
    for (Round round : report.rounds().subList(2, ROUNDS)) {
      assertThat(round.tickOutcome("throwing")).as("round %d", round.number()).isEmpty();
      assertThat(round.predictOutcome("throwing")).isEmpty();
    }
    ModelStatus status = report.finalStatus("throwing").orElseThrow();
    assertThat(status.state()).isEqualTo(ModelStatus.State.DISCONNECTED);
    assertThat(status.consecutiveFailures()).isEqualTo(4);
    assertThat(status.counts().calls()).isEqualTo(4);
    assertThat(output).contains("throwing  round 2   MULTIPLE_FAILED");
  }

  @Test
  void nothingIsDisconnectedAtSetupWithBadImplementation() {
    List<EventLog.Entry> disconnections = removals("nothing");
    assertThat(disconnections).hasSize(1);
    EventLog.Entry disconnected = disconnections.get(0);
    assertThat(disconnected.round()).isZero();
    assertThat(disconnected.event().kind()).isEqualTo(FleetEvent.Kind.DISCONNECTED);
    assertThat(disconnected.event().code()).isEqualTo("BAD_IMPLEMENTATION");
    assertThat(disconnected.event().reason())
        .isEqualTo(
            "No Inherited class found from <class 'org.modelrunner.examples.tracker.TrackerBase'>.");
    assertThat(report.events())
        .noneMatch(
            entry ->
                entry.modelId().equals("nothing")
                    && entry.event().kind() == FleetEvent.Kind.CONNECTED);
    for (Round round : report.rounds()) {
      assertThat(round.tickOutcome("nothing")).isEmpty();
      assertThat(round.predictOutcome("nothing")).isEmpty();
    }
    assertThat(report.finalStatus("nothing"))
        .get()
        .extracting(s -> s.counts().calls())
        .isEqualTo(0L);
    assertThat(output).contains("nothing   at setup  BAD_IMPLEMENTATION");
  }

  @Test
  void slowTimesOutOnItsThirdPredictSitsOutTheNextCallAndStaysConnected() {
    Round third = report.rounds().get(2);
    assertThat(third.predictOutcome("slow"))
        .get()
        .extracting(CallOutcome::status)
        .isEqualTo(CallStatus.TIMEOUT);
    assertThat(third.status("slow"))
        .get()
        .extracting(ModelStatus::consecutiveTimeouts)
        .isEqualTo(1);
    // After one timeout, the model sits out one call (the cooldown): the fourth round's tick.
    Round fourth = report.rounds().get(3);
    assertThat(fourth.tickOutcome("slow"))
        .get()
        .extracting(CallOutcome::status)
        .isEqualTo(CallStatus.SKIPPED);
    for (Round round : report.rounds()) {
      if (round.number() != 4) {
        assertThat(round.tickOutcome("slow"))
            .as("round %d", round.number())
            .get()
            .extracting(CallOutcome::status)
            .isEqualTo(CallStatus.SUCCESS);
      }
      if (round.number() != 3) {
        assertThat(round.predictOutcome("slow"))
            .as("round %d", round.number())
            .get()
            .extracting(CallOutcome::status)
            .isEqualTo(CallStatus.SUCCESS);
      }
    }
    assertThat(removals("slow")).isEmpty();
    ModelStatus status = report.finalStatus("slow").orElseThrow();
    assertThat(status.state()).isEqualTo(ModelStatus.State.CONNECTED);
    assertThat(status.consecutiveTimeouts()).isZero();
    assertThat(output).contains("slow      predict  TIMEOUT  no answer within 900 ms");
  }

  @Test
  void theFleetsLivePageServedEveryModelWhileTheDemoRan() throws IOException {
    assertThat(page.failure).isNull();
    assertThat(page.uri.toString()).startsWith("http://127.0.0.1:");
    assertThat(output).contains("Live page of the fleet: " + page.uri);
    JsonNode document = new ObjectMapper().readTree(page.document);
    assertThat(document.path("summary").path("models").asInt()).isEqualTo(5);
    Map<String, JsonNode> models = new java.util.HashMap<>();
    document.path("models").forEach(model -> models.put(model.path("modelId").asText(), model));
    assertThat(models).containsOnlyKeys("good", "slow", "throwing", "nothing", "heavy");
    assertThat(models.get("good").path("state").asText()).isEqualTo("CONNECTED");
    assertThat(models.get("good").path("counts").path("successes").asLong())
        .isGreaterThanOrEqualTo(4);
    // The page started before the models joined: it saw every event, with the codes reported.
    assertThat(models.get("nothing").path("state").asText()).isEqualTo("DISCONNECTED");
    assertThat(models.get("nothing").path("removal").path("code").asText())
        .isEqualTo("BAD_IMPLEMENTATION");
    assertThat(models.get("throwing").path("state").asText()).isEqualTo("DISCONNECTED");
    assertThat(models.get("throwing").path("removal").path("code").asText())
        .isEqualTo("MULTIPLE_FAILED");
    List<String> events = new java.util.ArrayList<>();
    document
        .path("events")
        .path("recent")
        .forEach(
            event ->
                events.add(event.path("kind").asText() + " " + event.path("modelId").asText()));
    assertThat(events)
        .containsExactlyInAnyOrder(
            "CONNECTED good",
            "CONNECTED slow",
            "CONNECTED throwing",
            "CONNECTED heavy",
            "DISCONNECTED nothing",
            "DISCONNECTED throwing");
    // The page was closed with the fleet.
    assertThatThrownBy(() -> page.get()).isInstanceOf(IOException.class);
  }

  /** Waits for the page's address and a line in the demo's output, then reads the page's JSON. */
  private static final class PageReader extends Thread {
    private static final Pattern ADDRESS =
        Pattern.compile("Live page of the fleet: (http://\\S+/)");
    private final ByteArrayOutputStream output;
    private final String line;
    private final HttpClient http = HttpClient.newHttpClient();
    volatile URI uri;
    volatile String document;
    volatile Throwable failure;

    PageReader(ByteArrayOutputStream output, String line) {
      super("fleet-page-reader");
      setDaemon(true);
      this.output = output;
      this.line = line;
    }

    @Override
    public void run() {
      try {
        String[] address = new String[1];
        Awaitility.await("the demo printing its page's address and '" + line + "'")
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(50))
            .until(
                () -> {
                  String text = output.toString(StandardCharsets.UTF_8);
                  Matcher found = ADDRESS.matcher(text);
                  if (found.find() && text.contains(line)) {
                    address[0] = found.group(1);
                    return true;
                  }
                  return false;
                });
        uri = URI.create(address[0]);
        document = get();
      } catch (Throwable e) {
        failure = e;
      }
    }

    String get() throws IOException, InterruptedException {
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(uri.resolve("/api/fleet"))
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      return response.body();
    }
  }

  @Test
  void theRunnersAreClosedAndTheRegistryIsEmptyAfterwards() throws InterruptedException {
    assertThat(InProcessModels.names()).isEmpty();
    assertThat(InProcessModels.awaitThreadsStopped(Duration.ofSeconds(10))).isTrue();
    assertThat(output).endsWith("Closed the fleet and the 5 runners." + System.lineSeparator());
  }

  @Test
  void theSubmissionsStayOffTheDemosClassPath() {
    // The demo depends on the example modules (type pom) only to be built after them.
    ClassLoader host = FleetDemoTest.class.getClassLoader();
    assertThatThrownBy(
            () -> Class.forName("org.modelrunner.examples.models.good.EwmaTracker", false, host))
        .isInstanceOf(ClassNotFoundException.class);
    assertThatThrownBy(
            () ->
                Class.forName(
                    "org.apache.commons.math3.stat.regression.SimpleRegression", false, host))
        .isInstanceOf(ClassNotFoundException.class);
  }

  @Test
  void theSubmissionFoldersHoldTheirModelAndOwnDependenciesButNotTheTrackerApi() {
    Map<String, Path> folders = Submissions.locate();
    for (Map.Entry<String, Path> folder : folders.entrySet()) {
      List<String> jars = SubmissionFolders.jars(folder.getValue());
      assertThat(jars.get(0)).startsWith("model-runner-example-" + folder.getKey() + "-");
      assertThat(jars).noneMatch(jar -> jar.contains("tracker-api"));
      if (folder.getKey().equals("heavy")) {
        assertThat(jars).hasSize(2).anyMatch(jar -> jar.startsWith("commons-math3-"));
      } else {
        assertThat(jars).hasSize(1);
      }
    }
  }

  private static List<EventLog.Entry> removals(String modelId) {
    return report.events().stream()
        .filter(entry -> entry.modelId().equals(modelId))
        .filter(
            entry ->
                entry.event().kind() == FleetEvent.Kind.DISCONNECTED
                    || entry.event().kind() == FleetEvent.Kind.CONNECTION_FAILED)
        .toList();
  }
}
