package org.modelrunner.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.modelrunner.client.FakeTransportProvider.answering;
import static org.modelrunner.client.FakeTransportProvider.define;
import static org.modelrunner.client.FakeTransportProvider.silent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.StatusCode;
import org.modelrunner.testsupport.FakeOrchestrator;

/**
 * Scripted end-to-end runs of the fleet behind a real WebSocket: a {@link FakeOrchestrator} (a
 * Jetty server on the loopback) drives an {@link OrchestratorDirectory}, which feeds a {@link
 * ModelFleet} whose models are {@link FakeTransportProvider} fakes ({@code fake://<ip>:<port>}, so
 * the orchestrator entry with ip {@code alice} and port 1 is the fake model {@code alice:1}). Each
 * fake model answers every call with its own address, so a fan-out's values show which deployment
 * served each model.
 *
 * <p>After each step a test checks the fleet's membership, the events it emitted and the failure
 * reports the orchestrator received. "Nothing else happened" is checked with barriers, never by
 * waiting: for events, a throw-away model joins and leaves through the same WebSocket, and its two
 * events must be the next ones (the directory and the fleet apply orchestrator messages in order,
 * so everything sent before the barrier was applied by then); for reports, a marker report follows
 * the fleet's through the directory and must be the next one the orchestrator receives.
 */
class OrchestratedFleetTest {
  static final String BASE = "com.example.TrackerBase";
  static final String CRUNCH = "crunch";
  static final Duration WAIT = Duration.ofSeconds(10);

  private final FakeOrchestrator orchestrator = new FakeOrchestrator();
  private final BlockingQueue<FleetEvent> events = new LinkedBlockingQueue<>();
  private final List<ModelFleet> fleets = new ArrayList<>();
  private OrchestratorDirectory directory;
  private int barriers;
  private int reportBarriers;

  @BeforeEach
  void startOrchestrator() {
    orchestrator.start();
  }

  @AfterEach
  void closeEverything() {
    try {
      assertThat(orchestrator.malformedReports())
          .as("reports the orchestrator could not accept")
          .isEmpty();
    } finally {
      fleets.forEach(ModelFleet::close);
      orchestrator.close();
      FakeTransportProvider.MODELS.clear();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private ModelFleet fleet(Consumer<ModelFleet.Builder> configure) {
    directory =
        OrchestratorDirectory.builder(orchestrator.uri(), CRUNCH)
            .endpointScheme("fake")
            .reconnectBackoff(Duration.ofMillis(20), Duration.ofMillis(200))
            .build();
    ModelFleet.Builder builder = FleetTesting.fleetBuilder(directory, events);
    configure.accept(builder);
    ModelFleet fleet = builder.build();
    fleets.add(fleet);
    return fleet;
  }

  private ModelFleet fleet() {
    return fleet(builder -> {});
  }

  /** A fake model at {@code fake://<address>} that answers every call with its address. */
  private static FakeTransportProvider.FakeModel model(String address) {
    return define(address, answering(address, Duration.ZERO));
  }

  private static ObjectNode running(String model, String deployment, String ip, int port) {
    return FakeOrchestrator.entry(model, deployment, "RUNNING", ip, port);
  }

  private static ObjectNode recovering(String model, String deployment, String ip, int port) {
    return FakeOrchestrator.entry(model, deployment, "RECOVERING", ip, port);
  }

  private static ObjectNode stopped(String model, String deployment) {
    return FakeOrchestrator.entry(model, deployment, "STOPPED", "", 0);
  }

  private static String describe(FleetEvent event) {
    return event.kind() + " " + event.modelId() + "/" + event.model().deploymentId();
  }

  /** The next {@code n} events, described as {@code "KIND model/deployment"}. */
  private List<String> nextEvents(int n) throws InterruptedException {
    List<String> described = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      FleetEvent event = events.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      assertThat(event).as("event %s of %s (after %s)", i + 1, n, described).isNotNull();
      described.add(describe(event));
    }
    return described;
  }

  /**
   * Sends a throw-away model's join and leave through the orchestrator and checks that their events
   * are the next ones: every message sent before was applied, and emitted nothing still unread.
   */
  private void barrier() throws InterruptedException {
    String id = "zz-barrier-" + (++barriers);
    model(id + ":1");
    orchestrator.update(CRUNCH, running(id, id + "_d", id, 1));
    assertThat(describe(nextEvent()))
        .as("the barrier's join is the next event")
        .isEqualTo("CONNECTED " + id + "/" + id + "_d");
    orchestrator.update(CRUNCH, stopped(id, id + "_d"));
    assertThat(describe(nextEvent()))
        .as("the barrier's leave")
        .isEqualTo("LEFT " + id + "/" + id + "_d");
  }

  /** Every model the fleet knows as {@code "id deployment STATE"}, sorted by id. */
  private static List<String> membership(ModelFleet fleet) {
    return fleet.models().stream()
        .map(s -> s.modelId() + " " + s.deploymentId() + " " + s.state())
        .collect(Collectors.toList());
  }

  private static ModelStatus status(ModelFleet fleet, String id) {
    return fleet.models().stream().filter(s -> s.modelId().equals(id)).findFirst().orElseThrow();
  }

  /**
   * Fans {@code predict} out; model id → value (the fake's address), or "SKIPPED <code>" for a model that sits
   * it out. Every other outcome fails the test.
   */
  private static Map<String, Object> answers(ModelFleet fleet) throws InterruptedException {
    Map<String, Object> values = new TreeMap<>();
    for (CallOutcome outcome : fleet.callAndWait(FanOut.of("predict")).outcomes()) {
      if (outcome.status() == CallStatus.SKIPPED) {
        values.put(outcome.modelId(), "SKIPPED " + outcome.failure().orElseThrow().code());
        continue;
      }
      assertThat(outcome.status()).as("%s", outcome).isEqualTo(CallStatus.SUCCESS);
      assertThat(values.put(outcome.modelId(), outcome.value()))
          .as("one outcome per model")
          .isNull();
    }
    return values;
  }

  private JsonNode nextReport() throws InterruptedException {
    JsonNode report = orchestrator.reports().poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(report).as("a report_failure at the orchestrator").isNotNull();
    return report;
  }

  /**
   * Checks that the orchestrator received no report beyond those the test took, and that none is on
   * its way: once the fleet caught up ({@link FleetTesting#quiesce}), every report it made was
   * handed to the directory; a marker report handed after them is sent after them (the directory
   * sends its reports in order, one at a time), and the orchestrator handles a connection's
   * messages in order. The marker names no model it announced, so it lands among the unmatched
   * reports and stops nothing; once it is there, any earlier report is already in {@link
   * FakeOrchestrator#reports()}.
   */
  private void assertNoMoreReports(ModelFleet fleet) throws Exception {
    FleetTesting.quiesce(fleet);
    String marker = "zz-report-barrier-" + (++reportBarriers);
    directory.reportFailure(
        ModelEndpoint.of(marker, URI.create("fake://" + marker + ":1")),
        "MARKER",
        "orders the reports before it");
    JsonNode first = orchestrator.unmatchedReports().poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(first).as("the marker report at the orchestrator").isNotNull();
    assertThat(first.get("model_id").textValue())
        .as("the first unmatched report is the marker")
        .isEqualTo(marker);
    assertThat(orchestrator.reports()).as("no other report_failure").isEmpty();
  }

  private FleetEvent nextEvent() throws InterruptedException {
    return FleetTesting.nextEvent(events);
  }

  private static void eventually(Runnable assertion) throws InterruptedException {
    FleetTesting.eventually(assertion);
  }

  // ---------------------------------------------------------------------------------------------
  // 1. The first snapshot

  @Test
  void theInitsRunningEntriesConnectAndTheOthersAreSkipped() throws Exception {
    FakeTransportProvider.FakeModel alice = model("alice:1");
    FakeTransportProvider.FakeModel bob = model("bob:2");
    FakeTransportProvider.FakeModel sam = model("sam:5");
    FakeTransportProvider.FakeModel xavier = model("xavier:9");
    FakeTransportProvider.FakeModel yann = model("yann:8");
    FakeTransportProvider.FakeModel walt = model("walt:7");
    orchestrator.put(CRUNCH, running("a", "a_d1", "alice", 1));
    orchestrator.put(CRUNCH, FakeOrchestrator.entry("x", "x_d1", "PAUSED", "xavier", 9));
    orchestrator.put(
        CRUNCH,
        FakeOrchestrator.json(
            "{\"model_id\": \"y\", \"infos\": {}, \"state\": \"RUNNING\", \"ip\": \"yann\", \"port\": 8}"));
    orchestrator.put(CRUNCH, running("b", "b_d1", "bob", 2));
    orchestrator.put(CRUNCH, FakeOrchestrator.entry("s", "s_d1", "STOPPED", "sam", 5));
    orchestrator.put(
        CRUNCH,
        FakeOrchestrator.json(
            "{\"deployment_id\": \"w_d1\", \"model_id\": \"w\", \"state\": \"RUNNING\", \"ip\": \"walt\"}"));

    ModelFleet fleet = fleet();

    assertThat(fleet.awaitSettled(WAIT)).isTrue();
    assertThat(fleet.connectedModelIds()).containsExactly("a", "b");
    assertThat(nextEvents(2)).containsExactlyInAnyOrder("CONNECTED a/a_d1", "CONNECTED b/b_d1");
    assertThat(membership(fleet)).containsExactly("a a_d1 CONNECTED", "b b_d1 CONNECTED");
    assertThat(status(fleet, "a").infos())
        .containsEntry("model_name", "a")
        .containsEntry("cruncher_name", "cruncher-a");
    assertThat(status(fleet, "a").model().address()).hasToString("fake://alice:1");
    assertThat(answers(fleet)).isEqualTo(Map.of("a", "alice:1", "b", "bob:2"));
    assertThat(alice.setups.get()).isEqualTo(1);
    assertThat(bob.setups.get()).isEqualTo(1);
    assertThat(List.of(sam.setups.get(), xavier.setups.get(), yann.setups.get(), walt.setups.get()))
        .as("setups of the stopped, unknown-state and incomplete entries")
        .containsOnly(0);
    assertThat(orchestrator.requestPaths()).containsExactly("/" + CRUNCH);
    barrier();
    assertThat(events).isEmpty();
    assertNoMoreReports(fleet);
  }

  // ---------------------------------------------------------------------------------------------
  // 2. Joins and leaves

  @Test
  void aRunningUpdateJoinsAndAStoppedOneLeaves() throws Exception {
    model("alice:1");
    FakeTransportProvider.FakeModel bob = model("bob:2");
    orchestrator.put(CRUNCH, running("a", "a_d1", "alice", 1));
    ModelFleet fleet = fleet();
    assertThat(describe(nextEvent())).isEqualTo("CONNECTED a/a_d1");
    assertThat(fleet.awaitSettled(WAIT)).isTrue();

    orchestrator.update(CRUNCH, running("b", "b_d1", "bob", 2));
    FleetEvent joined = nextEvent();
    assertThat(describe(joined)).isEqualTo("CONNECTED b/b_d1");
    assertThat(joined.model().address()).hasToString("fake://bob:2");
    assertThat(fleet.connectedModelIds()).containsExactly("a", "b");
    assertThat(membership(fleet)).containsExactly("a a_d1 CONNECTED", "b b_d1 CONNECTED");
    assertThat(answers(fleet)).isEqualTo(Map.of("a", "alice:1", "b", "bob:2"));
    assertThat(bob.calls.get()).isEqualTo(1);

    orchestrator.update(CRUNCH, stopped("b", "b_d1"));
    FleetEvent left = nextEvent();
    assertThat(describe(left)).isEqualTo("LEFT b/b_d1");
    assertThat(left.reason()).contains("STOPPED");
    assertThat(fleet.connectedModelIds()).containsExactly("a");
    assertThat(membership(fleet)).containsExactly("a a_d1 CONNECTED");
    assertThat(answers(fleet)).isEqualTo(Map.of("a", "alice:1"));
    assertThat(bob.calls.get()).as("no call after the leave").isEqualTo(1);
    assertThatThrownBy(() -> fleet.call(FanOut.builder("predict").only(List.of("b")).build()))
        .isInstanceOf(IllegalArgumentException.class);
    barrier();
    assertThat(events).isEmpty();
    assertNoMoreReports(fleet);
  }

  // ---------------------------------------------------------------------------------------------
  // 3. Duplicates and infos

  @Test
  void duplicateRunningUpdatesSetUpOnceAndChangedInfosAreAnInfosUpdate() throws Exception {
    FakeTransportProvider.FakeModel alice = model("alice:1");
    orchestrator.put(CRUNCH, running("a", "a_d1", "alice", 1));
    ModelFleet fleet = fleet();
    assertThat(describe(nextEvent())).isEqualTo("CONNECTED a/a_d1");

    for (int i = 0; i < 3; i++) {
      orchestrator.update(CRUNCH, running("a", "a_d1", "alice", 1));
    }
    Map<String, Object> renamed = new LinkedHashMap<>();
    renamed.put("model_name", "a, renamed");
    renamed.put("cruncher_name", null);
    orchestrator.update(
        CRUNCH, FakeOrchestrator.entry("a", "a_d1", "RUNNING", "alice", 1, renamed));
    FleetEvent updated = nextEvent();
    assertThat(describe(updated))
        .as("the duplicates emitted nothing")
        .isEqualTo("INFOS_UPDATED a/a_d1");
    assertThat(updated.model().infos())
        .containsEntry("model_name", "a, renamed")
        .containsEntry("cruncher_name", null);
    assertThat(status(fleet, "a").infos())
        .containsEntry("model_name", "a, renamed")
        .containsEntry("cruncher_name", null);
    assertThat(membership(fleet)).containsExactly("a a_d1 CONNECTED");
    assertThat(alice.setups.get()).as("set up once").isEqualTo(1);
    CallOutcome outcome = fleet.callAndWait(FanOut.of("predict")).outcome("a").orElseThrow();
    assertThat(outcome.model().infos()).containsEntry("model_name", "a, renamed");

    orchestrator.update(
        CRUNCH, FakeOrchestrator.entry("a", "a_d1", "RUNNING", "alice", 1, renamed));
    barrier();
    assertThat(events).isEmpty();
    assertThat(alice.setups.get()).isEqualTo(1);
    assertThat(fleet.connectedModelIds()).containsExactly("a");
    assertNoMoreReports(fleet);
  }

  // ---------------------------------------------------------------------------------------------
  // 4. A new deployment

  @Test
  void aNewDeploymentServesOnlyOnceSetUpAndTheOldOnesStopChangesNothing() throws Exception {
    FakeTransportProvider.FakeModel alice = model("alice:1");
    FakeTransportProvider.FakeModel bob = model("bob:2");
    CompletableFuture<Reply> bobSetup = bob.holdSetup();
    orchestrator.put(CRUNCH, running("m", "m_d1", "alice", 1));
    ModelFleet fleet = fleet();
    assertThat(describe(nextEvent())).isEqualTo("CONNECTED m/m_d1");

    orchestrator.update(CRUNCH, running("m", "m_d2", "bob", 2));
    eventually(() -> assertThat(bob.setups.get()).isEqualTo(1));
    orchestrator.update(
        CRUNCH, running("m", "m_d2", "bob", 2)); // a duplicate while it is being set up
    assertThat(answers(fleet))
        .as("the old deployment serves meanwhile")
        .isEqualTo(Map.of("m", "alice:1"));
    assertThat(membership(fleet)).containsExactly("m m_d1 CONNECTED");
    assertThat(bob.calls.get()).isZero();
    barrier();
    assertThat(events).as("nothing until the new deployment is set up").isEmpty();
    assertThat(bob.setups.get()).as("the duplicate does not set up again").isEqualTo(1);

    bobSetup.complete(FakeTransportProvider.CREATED);
    FleetEvent replaced = nextEvent();
    assertThat(describe(replaced)).isEqualTo("REPLACED m/m_d2");
    assertThat(replaced.reason()).isEqualTo("replaces deployment m_d1");
    assertThat(membership(fleet)).containsExactly("m m_d2 CONNECTED");
    int aliceCalls = alice.calls.get();
    assertThat(answers(fleet)).isEqualTo(Map.of("m", "bob:2"));
    assertThat(alice.calls.get()).as("no call to the old deployment").isEqualTo(aliceCalls);

    orchestrator.update(CRUNCH, stopped("m", "m_d1"));
    barrier();
    assertThat(events).as("the old deployment's STOPPED is not a leave").isEmpty();
    assertThat(membership(fleet)).containsExactly("m m_d2 CONNECTED");
    assertThat(answers(fleet)).isEqualTo(Map.of("m", "bob:2"));
    assertNoMoreReports(fleet);

    // A report names the deployment now held: its ip is the new one's.
    fleet.report("m", FailureCode.LOW_PERFORMANCE, "poor");
    JsonNode report = nextReport();
    assertThat(report.get("model_id").textValue()).isEqualTo("m");
    assertThat(report.get("ip").textValue()).isEqualTo("bob");
    assertThat(describe(nextEvent())).isEqualTo("LEFT m/m_d2");
    assertThat(fleet.connectedModelIds()).isEmpty();
  }

  // ---------------------------------------------------------------------------------------------
  // 5. A restart

  @Test
  void recoveringThenRunningWithTheSameDeploymentIsARestart() throws Exception {
    FakeTransportProvider.FakeModel alice = model("alice:1");
    model("bob:2");
    FakeTransportProvider.FakeModel carol = model("carol:3");
    orchestrator.put(CRUNCH, running("r", "r_d1", "alice", 1));
    orchestrator.put(CRUNCH, running("o", "o_d1", "bob", 2));
    ModelFleet fleet = fleet();
    assertThat(nextEvents(2)).containsExactlyInAnyOrder("CONNECTED r/r_d1", "CONNECTED o/o_d1");

    orchestrator.update(CRUNCH, recovering("r", "r_d0", "alice", 1)); // another deployment: ignored
    orchestrator.update(CRUNCH, recovering("r", "r_d1", "alice", 1));
    FleetEvent recoveringEvent = nextEvent();
    assertThat(describe(recoveringEvent)).isEqualTo("RECOVERING r/r_d1");
    assertThat(fleet.connectedModelIds()).containsExactly("o");
    assertThat(membership(fleet)).containsExactly("o o_d1 CONNECTED", "r r_d1 RECOVERING");
    int aliceCalls = alice.calls.get();
    assertThat(answers(fleet)).isEqualTo(Map.of("o", "bob:2", "r", "SKIPPED RECOVERING"));
    assertThat(alice.calls.get()).as("out of fan-outs").isEqualTo(aliceCalls);

    orchestrator.update(CRUNCH, running("r", "r_d1", "alice", 1));
    FleetEvent restarted = nextEvent();
    assertThat(describe(restarted)).isEqualTo("RESTARTED r/r_d1");
    assertThat(alice.setups.get()).as("set up again").isEqualTo(2);
    assertThat(membership(fleet)).containsExactly("o o_d1 CONNECTED", "r r_d1 CONNECTED");
    assertThat(answers(fleet)).isEqualTo(Map.of("o", "bob:2", "r", "alice:1"));

    // Restarted elsewhere: set up on the new address.
    orchestrator.update(CRUNCH, recovering("r", "r_d1", "alice", 1));
    assertThat(describe(nextEvent())).isEqualTo("RECOVERING r/r_d1");
    orchestrator.update(CRUNCH, running("r", "r_d1", "carol", 3));
    FleetEvent moved = nextEvent();
    assertThat(describe(moved)).isEqualTo("RESTARTED r/r_d1");
    assertThat(moved.model().address()).hasToString("fake://carol:3");
    assertThat(carol.setups.get()).isEqualTo(1);
    assertThat(alice.setups.get()).isEqualTo(2);
    assertThat(answers(fleet)).isEqualTo(Map.of("o", "bob:2", "r", "carol:3"));
    barrier();
    assertThat(events).isEmpty();
    assertNoMoreReports(fleet);

    fleet.report("r", FailureCode.LOW_PERFORMANCE, "poor");
    assertThat(nextReport().get("ip").textValue())
        .as("the ip of the restarted process")
        .isEqualTo("carol");
  }

  // ---------------------------------------------------------------------------------------------
  // 6. Lost messages, reconciled by the next init

  @Test
  void aNullIpRecoveringTakesTheModelOutAndANullIpStoppedRemovesIt() throws Exception {
    model("alice:1");
    model("bob:2");
    orchestrator.put(CRUNCH, running("r", "r_d1", "alice", 1));
    ModelFleet fleet = fleet();
    assertThat(describe(nextEvent())).isEqualTo("CONNECTED r/r_d1");

    orchestrator.recovering(CRUNCH, "r_d1"); // "ip": null, as the production orchestrator sends it
    assertThat(describe(nextEvent())).isEqualTo("RECOVERING r/r_d1");
    assertThat(answers(fleet)).isEqualTo(Map.of("r", "SKIPPED RECOVERING"));
    orchestrator.running(CRUNCH, "r_d1", "bob", 2);
    assertThat(describe(nextEvent())).isEqualTo("RESTARTED r/r_d1");
    assertThat(answers(fleet)).isEqualTo(Map.of("r", "bob:2"));

    orchestrator.update(
        CRUNCH,
        FakeOrchestrator.json(
            "{\"deployment_id\": \"r_d1\", \"model_id\": \"r\", \"state\": \"STOPPED\", \"ip\": null, \"port\": 50051}"));
    assertThat(describe(nextEvent())).isEqualTo("LEFT r/r_d1");
    assertThat(fleet.models()).isEmpty();
    assertThat(fleet.directoryStatus().orElseThrow().state())
        .isEqualTo(org.modelrunner.spi.DirectoryStatus.State.CONNECTED);
  }

  @Test
  void afterAReconnectTheNewInitReconcilesWhatWasMissed() throws Exception {
    FakeTransportProvider.FakeModel alice = model("alice:1");
    model("bob:1");
    model("carol:1");
    FakeTransportProvider.FakeModel carol2 = model("carol2:1");
    model("dan:1");
    FakeTransportProvider.FakeModel pat = model("pat:1");
    CompletableFuture<Reply> patSetup = pat.holdSetup();
    FakeTransportProvider.FakeModel bob2 = model("bob2:1");
    CompletableFuture<Reply> bob2Setup = bob2.holdSetup();
    FakeTransportProvider.FakeModel eve = model("eve:1");
    FakeTransportProvider.FakeModel eve2 = model("eve2:1");
    CompletableFuture<Reply> eve2Setup = eve2.holdSetup();
    orchestrator.put(CRUNCH, running("a", "a_d1", "alice", 1));
    orchestrator.put(CRUNCH, running("b", "b_d1", "bob", 1));
    orchestrator.put(CRUNCH, running("c", "c_d1", "carol", 1));
    orchestrator.put(CRUNCH, running("e", "e_d1", "eve", 1));
    ModelFleet fleet = fleet();
    assertThat(nextEvents(4))
        .containsExactlyInAnyOrder(
            "CONNECTED a/a_d1", "CONNECTED b/b_d1", "CONNECTED c/c_d1", "CONNECTED e/e_d1");
    orchestrator.update(CRUNCH, running("p", "p_d1", "pat", 1)); // a join still being set up
    orchestrator.update(
        CRUNCH, running("b", "b_d2", "bob2", 1)); // a new deployment still being set up
    orchestrator.update(CRUNCH, running("e", "e_d2", "eve2", 1)); // another one
    eventually(
        () ->
            assertThat(List.of(pat.setups.get(), bob2.setups.get(), eve2.setups.get()))
                .containsExactly(1, 1, 1));
    assertThat(membership(fleet))
        .containsExactly(
            "a a_d1 CONNECTED",
            "b b_d1 CONNECTED",
            "c c_d1 CONNECTED",
            "e e_d1 CONNECTED",
            "p p_d1 CONNECTING");

    // Changes the client never hears of.
    orchestrator.remove(CRUNCH, "a_d1");
    orchestrator.put(CRUNCH, running("d", "d_d1", "dan", 1));
    orchestrator.put(CRUNCH, running("c", "c_d1", "carol2", 1));
    orchestrator.remove(CRUNCH, "p_d1");
    orchestrator.remove(CRUNCH, "b_d2");
    orchestrator.put(
        CRUNCH, stopped("e", "e_d1")); // e's new deployment took over; the old one stopped
    assertThat(answers(fleet))
        .isEqualTo(Map.of("a", "alice:1", "b", "bob:1", "c", "carol:1", "e", "eve:1"));
    assertThat(events).as("nothing was broadcast").isEmpty();
    orchestrator.dropConnections();

    assertThat(orchestrator.awaitConnections(2, WAIT)).isTrue();
    assertThat(nextEvents(4))
        .as("e's old deployment stopped while its new one is set up: a redeploy, not a leave")
        .containsExactlyInAnyOrder(
            "LEFT a/a_d1", "LEFT p/p_d1", "CONNECTED d/d_d1", "RESTARTED c/c_d1");
    eventually(() -> assertThat(fleet.connectedModelIds()).containsExactly("b", "c", "d"));
    assertThat(membership(fleet))
        .as("e's new deployment, still being set up, holds its place")
        .containsExactly(
            "b b_d1 CONNECTED", "c c_d1 CONNECTED", "d d_d1 CONNECTED", "e e_d2 REDEPLOYING");
    int eveCalls = eve.calls.get();
    int aliceCalls = alice.calls.get();
    assertThat(answers(fleet))
        .isEqualTo(Map.of("b", "bob:1", "c", "carol2:1", "d", "dan:1", "e", "SKIPPED REDEPLOYING"));
    assertThat(alice.calls.get()).isEqualTo(aliceCalls);
    assertThat(carol2.setups.get()).isEqualTo(1);

    // The abandoned setups complete late: nothing comes of them.
    patSetup.complete(FakeTransportProvider.CREATED);
    bob2Setup.complete(FakeTransportProvider.CREATED);
    barrier();
    assertThat(events).as("no CONNECTED for p, no REPLACED for b").isEmpty();
    assertThat(membership(fleet))
        .containsExactly(
            "b b_d1 CONNECTED", "c c_d1 CONNECTED", "d d_d1 CONNECTED", "e e_d2 REDEPLOYING");
    assertThat(answers(fleet))
        .isEqualTo(Map.of("b", "bob:1", "c", "carol2:1", "d", "dan:1", "e", "SKIPPED REDEPLOYING"));

    // The listed pending deployment completes: it takes over.
    eve2Setup.complete(FakeTransportProvider.CREATED);
    FleetEvent replaced = nextEvent();
    assertThat(describe(replaced)).isEqualTo("REPLACED e/e_d2");
    assertThat(replaced.reason()).isEqualTo("replaces deployment e_d1");
    assertThat(membership(fleet))
        .containsExactly(
            "b b_d1 CONNECTED", "c c_d1 CONNECTED", "d d_d1 CONNECTED", "e e_d2 CONNECTED");
    assertThat(answers(fleet))
        .isEqualTo(Map.of("b", "bob:1", "c", "carol2:1", "d", "dan:1", "e", "eve2:1"));
    assertThat(eve.calls.get()).isEqualTo(eveCalls);
    assertThat(pat.calls.get()).isZero();
    assertThat(bob2.calls.get()).isZero();
    assertNoMoreReports(fleet);
  }

  // ---------------------------------------------------------------------------------------------
  // 7. Malformed frames

  @Test
  void malformedFramesAreIgnoredAndTheNextUpdateStillApplies() throws Exception {
    model("alice:1");
    model("bob:2");
    model("x:1");
    orchestrator.put(CRUNCH, running("a", "a_d1", "alice", 1));
    ModelFleet fleet = fleet();
    assertThat(describe(nextEvent())).isEqualTo("CONNECTED a/a_d1");

    orchestrator.send("not json");
    orchestrator.send("[1,2]");
    orchestrator.send("{\"event\":\"update\",\"data\":[{\"model_id\":\"x\"}]}");
    orchestrator.send("{\"error\":\"boom\"}");
    orchestrator.send(
        "{\"event\":\"update\",\"data\":[{\"model_id\":\"a\",\"deployment_id\":\"a_d1\",\"state\":\"GONE\"}]}");
    orchestrator.update(CRUNCH, running("b", "b_d1", "bob", 2));

    assertThat(describe(nextEvent()))
        .as("the malformed frames emitted nothing")
        .isEqualTo("CONNECTED b/b_d1");
    assertThat(membership(fleet)).containsExactly("a a_d1 CONNECTED", "b b_d1 CONNECTED");
    assertThat(answers(fleet)).isEqualTo(Map.of("a", "alice:1", "b", "bob:2"));
    assertThat(orchestrator.connectionCount()).as("the connection was kept").isEqualTo(1);
    assertThat(directory.isConnected()).isTrue();
    barrier();
    assertThat(events).isEmpty();
    assertNoMoreReports(fleet);
  }

  // ---------------------------------------------------------------------------------------------
  // 8. The orchestrator restarts

  @Test
  void afterAnOrchestratorRestartTheFleetReconcilesWithTheNewTable() throws Exception {
    FakeTransportProvider.FakeModel alice = model("alice:1");
    FakeTransportProvider.FakeModel bob = model("bob:2");
    model("carol:3");
    orchestrator.put(CRUNCH, running("a", "a_d1", "alice", 1));
    orchestrator.put(CRUNCH, running("b", "b_d1", "bob", 2));
    ModelFleet fleet = fleet();
    assertThat(nextEvents(2)).containsExactlyInAnyOrder("CONNECTED a/a_d1", "CONNECTED b/b_d1");

    orchestrator.remove(CRUNCH, "b_d1");
    orchestrator.put(CRUNCH, running("c", "c_d1", "carol", 3));
    orchestrator.put(
        CRUNCH,
        FakeOrchestrator.entry("a", "a_d1", "RUNNING", "alice", 1, Map.of("model_name", "a2")));
    orchestrator.restart();

    assertThat(nextEvents(3))
        .containsExactlyInAnyOrder("LEFT b/b_d1", "INFOS_UPDATED a/a_d1", "CONNECTED c/c_d1");
    assertThat(orchestrator.connectionCount()).isEqualTo(2);
    assertThat(membership(fleet)).containsExactly("a a_d1 CONNECTED", "c c_d1 CONNECTED");
    assertThat(status(fleet, "a").infos()).isEqualTo(Map.of("model_name", "a2"));
    assertThat(alice.setups.get()).as("a kept its connection").isEqualTo(1);
    int bobCalls = bob.calls.get();
    assertThat(answers(fleet)).isEqualTo(Map.of("a", "alice:1", "c", "carol:3"));
    assertThat(bob.calls.get()).isEqualTo(bobCalls);
    barrier();
    assertThat(events).isEmpty();
    assertNoMoreReports(fleet);
  }

  // ---------------------------------------------------------------------------------------------
  // 9. Reports by the failure policy

  @Test
  void aModelThatKeepsFailingIsReportedOnceAsMultipleFailedAndThenLeaves() throws Exception {
    FakeTransportProvider.FakeModel alice =
        define(
            "alice:1",
            FakeTransportProvider.status(
                StatusCode.MODEL_FAILED, "The model raised an exception: boom"));
    model("bob:2");
    orchestrator.put(CRUNCH, running("bad", "bad_d1", "alice", 1));
    orchestrator.put(CRUNCH, running("good", "good_d1", "bob", 2));
    ModelFleet fleet = fleet(b -> b.maxConsecutiveFailures(1));
    assertThat(nextEvents(2))
        .containsExactlyInAnyOrder("CONNECTED bad/bad_d1", "CONNECTED good/good_d1");

    FanOutResult first = fleet.callAndWait(FanOut.of("predict"));
    assertThat(first.outcome("bad").orElseThrow().status()).isEqualTo(CallStatus.FAILURE);
    assertThat(first.outcome("bad").orElseThrow().failure().orElseThrow().code())
        .isEqualTo("MODEL_FAILED");
    assertThat(fleet.connectedModelIds())
        .as("one failure is within the limit")
        .containsExactly("bad", "good");

    FanOutResult second = fleet.callAndWait(FanOut.of("predict"));
    assertThat(second.outcome("bad").orElseThrow().status()).isEqualTo(CallStatus.FAILURE);
    assertThat(fleet.connectedModelIds()).as("out at once").containsExactly("good");
    FleetEvent disconnected = nextEvent();
    assertThat(describe(disconnected)).isEqualTo("DISCONNECTED bad/bad_d1");
    assertThat(disconnected.code()).isEqualTo("MULTIPLE_FAILED");

    JsonNode report = nextReport();
    assertThat(report.get("model_id").isTextual()).isTrue();
    assertThat(report.get("model_id").textValue()).isEqualTo("bad");
    assertThat(report.get("failure_code").textValue()).isEqualTo("MULTIPLE_FAILED");
    assertThat(report.get("ip").textValue()).isEqualTo("alice");
    assertThat(report.get("failure_reason").textValue())
        .contains("2 consecutive failures")
        .contains("boom");

    FleetEvent left = nextEvent();
    assertThat(describe(left)).as("the orchestrator stopped it").isEqualTo("LEFT bad/bad_d1");
    assertThat(membership(fleet)).containsExactly("good good_d1 CONNECTED");
    assertThat(answers(fleet)).isEqualTo(Map.of("good", "bob:2"));
    assertThat(alice.calls.get()).isEqualTo(2);
    assertNoMoreReports(fleet);
    barrier();
    assertThat(events).isEmpty();
  }

  @Test
  void aModelThatKeepsTimingOutIsReportedOnceAsMultipleTimeout() throws Exception {
    FakeTransportProvider.FakeModel alice = define("alice:1", silent());
    orchestrator.put(CRUNCH, running("slow", "slow_d1", "alice", 1));
    ModelFleet fleet =
        fleet(
            b ->
                b.callTimeout(Duration.ofMillis(50))
                    .maxConsecutiveTimeouts(1)
                    .timeoutCooldown(false)
                    .healthChecks(0, WAIT));
    assertThat(describe(nextEvent())).isEqualTo("CONNECTED slow/slow_d1");
    int connecting = alice.healthChecks.get(); // the connection's own check

    assertThat(fleet.callAndWait(FanOut.of("predict")).outcome("slow").orElseThrow().status())
        .isEqualTo(CallStatus.TIMEOUT);
    assertThat(fleet.connectedModelIds()).containsExactly("slow");
    assertThat(fleet.callAndWait(FanOut.of("predict")).outcome("slow").orElseThrow().status())
        .isEqualTo(CallStatus.TIMEOUT);
    assertThat(fleet.connectedModelIds()).isEmpty();
    FleetEvent disconnected = nextEvent();
    assertThat(describe(disconnected)).isEqualTo("DISCONNECTED slow/slow_d1");
    assertThat(disconnected.code()).isEqualTo("MULTIPLE_TIMEOUT");

    JsonNode report = nextReport();
    assertThat(report.get("model_id").textValue()).isEqualTo("slow");
    assertThat(report.get("failure_code").textValue()).isEqualTo("MULTIPLE_TIMEOUT");
    assertThat(report.get("ip").textValue()).isEqualTo("alice");
    assertThat(report.get("failure_reason").textValue()).contains("2 consecutive timeouts");
    assertThat(describe(nextEvent())).isEqualTo("LEFT slow/slow_d1");
    assertThat(fleet.models()).isEmpty();
    assertThat(fleet.callAndWait(FanOut.of("predict")).size()).isZero();
    assertThat(alice.healthChecks.get()).as("no check after timeouts").isEqualTo(connecting);
    assertNoMoreReports(fleet);
  }

  @Test
  void aBadImplementationAnswerIsReportedAtOnce() throws Exception {
    define(
        "alice:1",
        FakeTransportProvider.status(
            StatusCode.BAD_IMPLEMENTATION, "Method \"predict\" not found in class \"Tracker\""));
    model("bob:2");
    orchestrator.put(CRUNCH, running("bad", "bad_d1", "alice", 1));
    orchestrator.put(CRUNCH, running("good", "good_d1", "bob", 2));
    ModelFleet fleet =
        fleet(); // default limits (3 and 3): only the BAD_IMPLEMENTATION rule applies
    assertThat(nextEvents(2))
        .containsExactlyInAnyOrder("CONNECTED bad/bad_d1", "CONNECTED good/good_d1");

    FanOutResult result = fleet.callAndWait(FanOut.of("predict"));
    assertThat(result.outcome("bad").orElseThrow().failure().orElseThrow().code())
        .isEqualTo("BAD_IMPLEMENTATION");
    assertThat(fleet.connectedModelIds()).containsExactly("good");
    FleetEvent disconnected = nextEvent();
    assertThat(describe(disconnected)).isEqualTo("DISCONNECTED bad/bad_d1");
    assertThat(disconnected.code()).isEqualTo("BAD_IMPLEMENTATION");
    assertThat(disconnected.reason())
        .isEqualTo("Method \"predict\" not found in class \"Tracker\"");

    JsonNode report = nextReport();
    assertThat(report.get("model_id").textValue()).isEqualTo("bad");
    assertThat(report.get("failure_code").textValue()).isEqualTo("BAD_IMPLEMENTATION");
    assertThat(report.get("failure_reason").textValue())
        .isEqualTo("Method \"predict\" not found in class \"Tracker\"");
    assertThat(report.get("ip").textValue()).isEqualTo("alice");
    assertThat(describe(nextEvent())).isEqualTo("LEFT bad/bad_d1");
    assertThat(membership(fleet)).containsExactly("good good_d1 CONNECTED");
    assertNoMoreReports(fleet);
  }

  @Test
  void aNumericModelIdIsReportedAsANumber() throws Exception {
    define(
        "carol:3",
        FakeTransportProvider.status(StatusCode.MODEL_FAILED, "The model raised an exception: x"));
    orchestrator.put(
        CRUNCH,
        FakeOrchestrator.json(
            """
        {"deployment_id": "7_d1", "model_id": 7, "infos": {"model_name": "seven"},
         "state": "RUNNING", "ip": "carol", "port": 3}"""));
    ModelFleet fleet = fleet(b -> b.maxConsecutiveFailures(1));
    assertThat(describe(nextEvent())).isEqualTo("CONNECTED 7/7_d1");
    assertThat(membership(fleet)).containsExactly("7 7_d1 CONNECTED");

    fleet.callAndWait(FanOut.of("predict"));
    fleet.callAndWait(FanOut.of("predict"));
    FleetEvent disconnected = nextEvent();
    assertThat(describe(disconnected)).isEqualTo("DISCONNECTED 7/7_d1");
    assertThat(disconnected.code()).isEqualTo("MULTIPLE_FAILED");

    JsonNode report = nextReport();
    assertThat(report.get("model_id").isIntegralNumber())
        .as("model_id %s", report.get("model_id"))
        .isTrue();
    assertThat(report.get("model_id").intValue()).isEqualTo(7);
    assertThat(report.get("failure_code").textValue()).isEqualTo("MULTIPLE_FAILED");
    assertThat(report.get("ip").textValue()).isEqualTo("carol");
    assertThat(describe(nextEvent())).isEqualTo("LEFT 7/7_d1");
    assertThat(fleet.models()).isEmpty();
    assertNoMoreReports(fleet);
  }

  // ---------------------------------------------------------------------------------------------
  // 10. A report made while the orchestrator is down

  @Test
  void aReportMadeWhileTheOrchestratorIsDownArrivesOnceAfterTheReconnect() throws Exception {
    FakeTransportProvider.FakeModel alice = model("alice:1");
    orchestrator.put(CRUNCH, running("m", "m_d1", "alice", 1));
    ModelFleet fleet = fleet();
    assertThat(describe(nextEvent())).isEqualTo("CONNECTED m/m_d1");
    int port = orchestrator.port();

    orchestrator.stop();
    eventually(() -> assertThat(directory.isConnected()).isFalse());
    fleet.report("m", FailureCode.LOW_PERFORMANCE, "score 0.1 under 0.5");
    assertThat(directory.queuedReports()).isEqualTo(1);
    assertThat(answers(fleet))
        .as("reporting does not disconnect")
        .isEqualTo(Map.of("m", "alice:1"));
    assertThat(membership(fleet)).containsExactly("m m_d1 CONNECTED");
    assertThat(alice.setups.get()).isEqualTo(1);
    // The orchestrator stays down a while: the directory's reconnect attempts keep failing, and the
    // report must wait through them.
    eventually(
        () ->
            assertThat(directory.status().orElseThrow().failedAttempts())
                .isGreaterThanOrEqualTo(3));
    assertThat(directory.queuedReports()).isEqualTo(1);
    assertThat(directory.isConnected()).isFalse();
    assertThat(orchestrator.reports()).isEmpty();
    assertThat(events).isEmpty();

    orchestrator.start(port);
    JsonNode report = nextReport();
    assertThat(report.get("model_id").textValue()).isEqualTo("m");
    assertThat(report.get("failure_code").textValue()).isEqualTo("LOW_PERFORMANCE");
    assertThat(report.get("failure_reason").textValue()).isEqualTo("score 0.1 under 0.5");
    assertThat(report.get("ip").textValue()).isEqualTo("alice");
    assertThat(describe(nextEvent())).as("the orchestrator stopped it").isEqualTo("LEFT m/m_d1");
    assertNoMoreReports(fleet);
    eventually(() -> assertThat(directory.queuedReports()).isZero());
    assertThat(fleet.models()).isEmpty();
    assertThat(alice.setups.get()).as("the reconnect's init did not set it up again").isEqualTo(1);
  }

  // ---------------------------------------------------------------------------------------------
  // 11. A local disconnect

  @Test
  void aLocalDisconnectIsNotReported() throws Exception {
    FakeTransportProvider.FakeModel alice = model("alice:1");
    model("bob:2");
    orchestrator.put(CRUNCH, running("a", "a_d1", "alice", 1));
    orchestrator.put(CRUNCH, running("b", "b_d1", "bob", 2));
    ModelFleet fleet = fleet();
    assertThat(nextEvents(2)).containsExactlyInAnyOrder("CONNECTED a/a_d1", "CONNECTED b/b_d1");

    assertThat(fleet.disconnect("a", "enough for today")).isTrue();
    assertThat(fleet.connectedModelIds()).as("at once").containsExactly("b");
    FleetEvent disconnected = nextEvent();
    assertThat(describe(disconnected)).isEqualTo("DISCONNECTED a/a_d1");
    assertThat(disconnected.code()).isEqualTo(FleetEvent.LOCAL);
    assertThat(disconnected.reason()).isEqualTo("enough for today");
    assertThat(membership(fleet)).containsExactly("a a_d1 DISCONNECTED", "b b_d1 CONNECTED");
    assertThat(answers(fleet)).isEqualTo(Map.of("b", "bob:2"));

    // A duplicate RUNNING does not bring it back.
    orchestrator.update(CRUNCH, running("a", "a_d1", "alice", 1));
    barrier();
    assertThat(events).isEmpty();
    assertThat(alice.setups.get()).isEqualTo(1);
    assertThat(fleet.connectedModelIds()).containsExactly("b");

    // Reports are sent in order: if the disconnect had been reported, it would arrive before this
    // one.
    fleet.report("b", FailureCode.LOW_PERFORMANCE, "after the disconnect");
    JsonNode report = nextReport();
    assertThat(report.get("model_id").textValue()).as("the first report is not a's").isEqualTo("b");
    assertThat(describe(nextEvent())).isEqualTo("LEFT b/b_d1");
    assertNoMoreReports(fleet);
  }

  /**
   * The fleet remembers the members of its first snapshot only until it is settled: a later
   * snapshot (after a reconnect) must not make it keep members (their connections, mailboxes and
   * histograms) for its whole life. Only visible through the private field.
   */
  @Test
  void aSnapshotAfterTheFleetSettledRetainsNoMembers() throws Exception {
    model("alice:1");
    orchestrator.put(CRUNCH, running("a", "a_d1", "alice", 1));
    ModelFleet fleet = fleet();
    assertThat(describe(nextEvent())).isEqualTo("CONNECTED a/a_d1");
    assertThat(fleet.awaitSettled(WAIT)).isTrue();

    orchestrator.dropConnections(); // the reconnect's init is the fleet's second snapshot
    assertThat(orchestrator.awaitConnections(2, WAIT)).isTrue();
    barrier(); // the second init was applied
    orchestrator.update(CRUNCH, stopped("a", "a_d1"));
    assertThat(describe(nextEvent())).isEqualTo("LEFT a/a_d1");
    barrier();

    java.lang.reflect.Field field = Membership.class.getDeclaredField("initialPending");
    field.setAccessible(true);
    Object pending = field.get(fleet.parts().membership);
    assertThat(pending).as("members kept after the fleet settled (a left long ago)").isNull();
  }

  // ---------------------------------------------------------------------------------------------
  // 12. Closing

  @Test
  void closingTheFleetClosesTheWebSocketAndEndsTheThreads() throws Exception {
    model("alice:1");
    orchestrator.put(CRUNCH, running("a", "a_d1", "alice", 1));
    Set<Thread> before = new HashSet<>(Thread.getAllStackTraces().keySet());
    ModelFleet fleet = fleet();
    assertThat(describe(nextEvent())).isEqualTo("CONNECTED a/a_d1");
    assertThat(answers(fleet)).isEqualTo(Map.of("a", "alice:1"));
    assertThat(orchestrator.openSessions()).isEqualTo(1);
    List<Thread> started =
        Thread.getAllStackTraces().keySet().stream()
            .filter(thread -> !before.contains(thread))
            .filter(
                thread ->
                    thread.getName().startsWith("modelrunner-fleet-")
                        || thread.getName().startsWith("modelrunner-orchestrator-"))
            .collect(Collectors.toList());
    assertThat(started)
        .extracting(Thread::getName)
        .anyMatch(name -> name.startsWith("modelrunner-fleet-"))
        .anyMatch(name -> name.startsWith("modelrunner-orchestrator-"));

    fleet.close();

    assertThat(orchestrator.awaitOpenSessions(0, WAIT)).isTrue();
    assertThat(orchestrator.closeCodes().poll(WAIT.toMillis(), TimeUnit.MILLISECONDS))
        .isEqualTo(1000);
    assertThat(directory.isConnected()).isFalse();
    eventually(
        () ->
            assertThat(started).filteredOn(Thread::isAlive).extracting(Thread::getName).isEmpty());
    assertThatThrownBy(() -> fleet.call(FanOut.of("predict")))
        .isInstanceOf(IllegalStateException.class);
    assertThat(orchestrator.connectionCount()).as("no reconnect after the close").isEqualTo(1);
  }
}
