package org.modelrunner.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.modelrunner.client.FakeTransportProvider.answering;
import static org.modelrunner.client.FakeTransportProvider.define;
import static org.modelrunner.client.FakeTransportProvider.silent;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.ModelState;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.StatusCode;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.Variant;

/**
 * How the fleet follows its directory (joins, duplicates, infos, replacements, restarts, leaves,
 * snapshots), and its safeguards beyond the failure counters: the cooldown after timeouts,
 * out-of-band health checks, reports and local disconnects, readiness and status.
 */
class FleetMembershipTest {
  static final String BASE = "com.example.TrackerBase";
  static final Duration WAIT = Duration.ofSeconds(10);

  private final List<ModelFleet> fleets = new ArrayList<>();
  private final BlockingQueue<FleetEvent> events = new LinkedBlockingQueue<>();
  private final RecordingDirectory directory = new RecordingDirectory();

  @AfterEach
  void closeFleets() {
    fleets.forEach(ModelFleet::close);
    FakeTransportProvider.MODELS.clear();
  }

  private ModelFleet fleet(Consumer<ModelFleet.Builder> configure) {
    ModelFleet.Builder builder = FleetTesting.fleetBuilder(directory, events);
    configure.accept(builder);
    ModelFleet fleet = builder.build();
    fleets.add(fleet);
    return fleet;
  }

  private ModelFleet fleet() {
    return fleet(builder -> {});
  }

  /** An endpoint at {@code fake://<address>} (the fake model named by the address). */
  private static ModelEndpoint endpoint(
      String model, String deployment, String address, Map<String, String> infos) {
    return new ModelEndpoint(model, deployment, URI.create("fake://" + address), infos);
  }

  private static ModelEndpoint endpoint(String model, String deployment, String address) {
    return endpoint(model, deployment, address, Map.of());
  }

  private static ModelStatus status(ModelFleet fleet, String id) {
    return fleet.models().stream().filter(s -> s.modelId().equals(id)).findFirst().orElseThrow();
  }

  private FleetEvent nextEvent() throws InterruptedException {
    return FleetTesting.nextEvent(events);
  }

  private FleetEvent nextEvent(FleetEvent.Kind kind) throws InterruptedException {
    return FleetTesting.nextEvent(events, kind);
  }

  private static void eventually(Runnable assertion) throws InterruptedException {
    FleetTesting.eventually(assertion);
  }

  private void assertNoMoreEvents(ModelFleet fleet, String description) throws Exception {
    FleetTesting.assertNoMoreEvents(fleet, events, description);
  }

  // ---------------------------------------------------------------------------------------------
  // Following the directory

  @Test
  void duplicatesDoNotSetUpAgainAndInfosUpdatesAreReported() throws Exception {
    FakeTransportProvider.FakeModel model = define("a1", answering(1, Duration.ZERO));
    ModelFleet fleet = fleet();
    directory.snapshot(endpoint("a", "a1", "a1", Map.of("model_name", "first")));
    assertThat(nextEvent().kind()).isEqualTo(FleetEvent.Kind.CONNECTED);

    directory.update(endpoint("a", "a1", "a1", Map.of("model_name", "first")), ModelState.RUNNING);
    directory.update(endpoint("a", "a1", "a1", Map.of("model_name", "second")), ModelState.RUNNING);
    FleetEvent updated = nextEvent();
    assertThat(updated.kind()).isEqualTo(FleetEvent.Kind.INFOS_UPDATED);
    assertThat(updated.model().infos()).containsEntry("model_name", "second");
    assertThat(status(fleet, "a").infos()).containsEntry("model_name", "second");
    assertThat(fleet.callAndWait(FanOut.of("predict")).outcomes().get(0).model().infos())
        .containsEntry("model_name", "second");
    assertThat(model.setups.get()).isEqualTo(1);
    assertNoMoreEvents(fleet, "no more events");
  }

  @Test
  void recoveringThenRunningIsARestartAndTheModelIsSetUpAgain() throws Exception {
    FakeTransportProvider.FakeModel model = define("r1", answering(1, Duration.ZERO));
    define("b", answering(2, Duration.ZERO));
    ModelFleet fleet = fleet();
    directory.snapshot(endpoint("r", "r1", "r1"), endpoint("b", "b", "b"));
    assertThat(fleet.awaitConnected(2, WAIT)).isTrue();

    directory.update(endpoint("r", "r1", "r1"), ModelState.RECOVERING);
    assertThat(nextEvent(FleetEvent.Kind.RECOVERING).modelId()).isEqualTo("r");
    eventually(() -> assertThat(fleet.connectedModelIds()).containsExactly("b"));
    assertThat(status(fleet, "r").state()).isEqualTo(ModelStatus.State.RECOVERING);
    CallOutcome skipped =
        fleet
            .callAndWait(FanOut.builder("predict").only(List.of("r")).build())
            .outcome("r")
            .orElseThrow();
    assertThat(skipped.status()).isEqualTo(CallStatus.SKIPPED);
    assertThat(skipped.failure().orElseThrow().code()).isEqualTo(CallFailure.RECOVERING);
    CallOutcome inAll = fleet.callAndWait(FanOut.of("predict")).outcome("r").orElseThrow();
    assertThat(inAll.status())
        .as("a restarting model gets its outcome in every fan-out")
        .isEqualTo(CallStatus.SKIPPED);
    assertThat(status(fleet, "r").consecutiveTimeouts()).isZero();

    directory.update(endpoint("r", "r1", "r1"), ModelState.RUNNING);
    FleetEvent restarted = nextEvent(FleetEvent.Kind.RESTARTED);
    assertThat(restarted.modelId()).isEqualTo("r");
    assertThat(model.setups.get()).isEqualTo(2);
    assertThat(fleet.connectedModelIds()).containsExactly("b", "r");
  }

  @Test
  void theSameDeploymentOnANewAddressIsARestart() throws Exception {
    define("old-address", answering("old", Duration.ZERO));
    define("new-address", answering("new", Duration.ZERO));
    ModelFleet fleet = fleet();
    directory.snapshot(endpoint("m", "m1", "old-address"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();

    directory.update(endpoint("m", "m1", "new-address"), ModelState.RUNNING);
    FleetEvent restarted = nextEvent(FleetEvent.Kind.RESTARTED);
    assertThat(restarted.reason()).contains("fake://old-address").contains("fake://new-address");
    assertThat(fleet.callAndWait(FanOut.of("predict")).outcomes().get(0).value()).isEqualTo("new");
  }

  @Test
  void stoppedOrRecoveringForAnotherDeploymentLeavesTheHeldOneAlone() throws Exception {
    define("m2", answering("v2", Duration.ZERO));
    ModelFleet fleet = fleet();
    directory.snapshot(endpoint("m", "m2", "m2"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();

    directory.update(endpoint("m", "m1", "m1"), ModelState.STOPPED);
    directory.update(endpoint("m", "m0", "m0"), ModelState.RECOVERING);
    assertThat(fleet.callAndWait(FanOut.of("predict")).outcomes().get(0).value()).isEqualTo("v2");
    assertThat(fleet.connectedModelIds()).containsExactly("m");
    assertThat(nextEvent().kind()).isEqualTo(FleetEvent.Kind.CONNECTED);
    assertNoMoreEvents(fleet, "no more events");
  }

  @Test
  void aStoppedModelStillConnectingIsAbandoned() throws Exception {
    FakeTransportProvider.FakeModel model = define("slow-setup", answering(1, Duration.ZERO));
    CompletableFuture<Reply> setup = model.holdSetup();
    ModelFleet fleet = fleet();
    directory.snapshot(endpoint("s", "s1", "slow-setup"));
    eventually(() -> assertThat(model.setups.get()).isEqualTo(1));

    directory.update(endpoint("s", "s1", "slow-setup"), ModelState.STOPPED);
    assertThat(nextEvent().kind()).isEqualTo(FleetEvent.Kind.LEFT);
    setup.complete(FakeTransportProvider.CREATED); // hands the late answer to the fleet's thread
    assertNoMoreEvents(fleet, "no CONNECTED after the STOPPED");
    assertThat(fleet.connectedModelIds()).isEmpty();
    assertThat(fleet.models()).isEmpty();
  }

  @Test
  void aSlowConnectionDoesNotDelayTheNextEvents() throws Exception {
    FakeTransportProvider.FakeModel hanging = define("hanging", answering(1, Duration.ZERO));
    hanging.setup = (m, a, t) -> new CompletableFuture<>();
    define("quick", answering(2, Duration.ZERO));
    ModelFleet fleet = fleet();
    directory.snapshot(endpoint("h", "h", "hanging"));
    directory.update(endpoint("q", "q", "quick"), ModelState.RUNNING);
    assertThat(nextEvent(FleetEvent.Kind.CONNECTED).modelId()).isEqualTo("q");
    assertThat(status(fleet, "h").state()).isEqualTo(ModelStatus.State.CONNECTING);
  }

  @Test
  void aRedeployWhoseOldDeploymentStopsAtOnceIsNotALeave() throws Exception {
    FakeTransportProvider.FakeModel v1 = define("v1", answering("v1", Duration.ZERO));
    FakeTransportProvider.FakeModel v2 = define("v2", answering("v2", Duration.ZERO));
    CompletableFuture<Reply> v2Ready = v2.holdSetup();
    define("other", answering("o", Duration.ZERO));
    ModelFleet fleet = fleet();
    directory.snapshot(endpoint("m", "v1", "v1"), endpoint("o", "o1", "other"));
    assertThat(fleet.awaitConnected(2, WAIT)).isTrue();
    assertThat(nextEvent().kind()).isEqualTo(FleetEvent.Kind.CONNECTED);
    assertThat(nextEvent().kind()).isEqualTo(FleetEvent.Kind.CONNECTED);

    // What the Model Orchestrator sends on a redeploy, in one pass: the old process is stopped at
    // once.
    directory.update(endpoint("m", "v2", "v2"), ModelState.RUNNING);
    directory.update(endpoint("m", "v1", "v1"), ModelState.STOPPED);
    eventually(
        () -> assertThat(status(fleet, "m").state()).isEqualTo(ModelStatus.State.REDEPLOYING));
    assertThat(status(fleet, "m").deploymentId()).isEqualTo("v2");
    eventually(
        () ->
            assertThat(v1.closes.get())
                .as("the stopped deployment's connection is closed")
                .isEqualTo(1));

    FanOutResult gap = fleet.callAndWait(FanOut.of("predict"));
    assertThat(gap.outcomes()).hasSize(2);
    CallOutcome skipped = gap.outcome("m").orElseThrow();
    assertThat(skipped.status()).isEqualTo(CallStatus.SKIPPED);
    assertThat(skipped.failure().orElseThrow().code()).isEqualTo(CallFailure.REDEPLOYING);
    assertThat(skipped.model().deploymentId()).isEqualTo("v2");
    assertThat(gap.outcome("o").orElseThrow().status()).isEqualTo(CallStatus.SUCCESS);
    CallOutcome subset =
        fleet
            .callAndWait(FanOut.builder("predict").only(List.of("m")).build())
            .outcome("m")
            .orElseThrow();
    assertThat(subset.failure().orElseThrow().code()).isEqualTo(CallFailure.REDEPLOYING);
    assertThat(status(fleet, "m").consecutiveTimeouts()).isZero();
    assertThat(status(fleet, "m").consecutiveFailures()).isZero();
    assertNoMoreEvents(fleet, "no LEFT, nothing else");

    v2Ready.complete(FakeTransportProvider.CREATED);
    FleetEvent replaced = nextEvent(FleetEvent.Kind.REPLACED);
    assertThat(replaced.reason()).isEqualTo("replaces deployment v1");
    assertThat(fleet.callAndWait(FanOut.of("predict")).outcome("m").orElseThrow().value())
        .isEqualTo("v2");
    assertThat(status(fleet, "m").state()).isEqualTo(ModelStatus.State.CONNECTED);
  }

  /**
   * Defines model m's deployments v1 (answers "v1") and v2 (answers "v2"), v2's setup held until
   * the returned future completes.
   */
  private static CompletableFuture<Reply> heldRedeploy() {
    define("v1", answering("v1", Duration.ZERO));
    return define("v2", answering("v2", Duration.ZERO)).holdSetup();
  }

  @Test
  void aRedeployWhoseNewDeploymentFailsIsReportedWithoutALeave() throws Exception {
    CompletableFuture<Reply> v2Ready = heldRedeploy();
    ModelFleet fleet = fleet();
    directory.snapshot(endpoint("m", "v1", "v1"));
    assertThat(nextEvent(FleetEvent.Kind.CONNECTED).modelId()).isEqualTo("m");

    directory.update(endpoint("m", "v2", "v2"), ModelState.RUNNING);
    directory.update(endpoint("m", "v1", "v1"), ModelState.STOPPED);
    eventually(
        () -> assertThat(status(fleet, "m").state()).isEqualTo(ModelStatus.State.REDEPLOYING));
    v2Ready.complete(Reply.of(StatusCode.BAD_IMPLEMENTATION, "no class"));
    FleetEvent disconnected = nextEvent();
    assertThat(disconnected.kind()).isEqualTo(FleetEvent.Kind.DISCONNECTED);
    assertThat(disconnected.model().deploymentId()).isEqualTo("v2");
    assertThat(status(fleet, "m").state()).isEqualTo(ModelStatus.State.DISCONNECTED);
    assertThat(fleet.callAndWait(FanOut.of("predict")).outcomes())
        .as("an ejected model is out of fan-outs")
        .isEmpty();
  }

  @Test
  void aSnapshotThatListsOnlyTheNewDeploymentIsARedeploy() throws Exception {
    CompletableFuture<Reply> v2Ready = heldRedeploy();
    ModelFleet fleet = fleet();
    directory.snapshot(endpoint("m", "v1", "v1"));
    assertThat(nextEvent(FleetEvent.Kind.CONNECTED).modelId()).isEqualTo("m");

    directory.snapshot(endpoint("m", "v2", "v2")); // a reconnect after the redeploy happened
    eventually(
        () -> assertThat(status(fleet, "m").state()).isEqualTo(ModelStatus.State.REDEPLOYING));
    assertNoMoreEvents(fleet, "no LEFT");
    v2Ready.complete(FakeTransportProvider.CREATED);
    assertThat(nextEvent(FleetEvent.Kind.REPLACED).model().deploymentId()).isEqualTo("v2");
  }

  @Test
  void aReplacedDeploymentStillAnswersTheCallsItWasSent() throws Exception {
    CompletableFuture<Reply> oldAnswer = new CompletableFuture<>();
    FakeTransportProvider.FakeModel old = define("old", (m, a, t) -> oldAnswer);
    FakeTransportProvider.FakeModel next = define("new", answering("new", Duration.ZERO));
    CompletableFuture<Reply> nextReady = next.holdSetup();
    ModelFleet fleet = fleet();
    directory.snapshot(endpoint("m", "old", "old"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();
    directory.update(endpoint("m", "new", "new"), ModelState.RUNNING);
    eventually(() -> assertThat(next.setups.get()).isEqualTo(1));

    CompletableFuture<FanOutResult> during = fleet.call(FanOut.of("predict"));
    eventually(() -> assertThat(old.calls.get()).as("sent to the old deployment").isEqualTo(1));
    nextReady.complete(FakeTransportProvider.CREATED);
    nextEvent(FleetEvent.Kind.REPLACED);
    oldAnswer.complete(Reply.success(Variant.ofString("old"))); // after the swap
    CallOutcome answered = during.get(WAIT.toMillis(), TimeUnit.MILLISECONDS).outcomes().get(0);
    assertThat(answered.status()).as("%s", answered).isEqualTo(CallStatus.SUCCESS);
    assertThat(answered.value()).isEqualTo("old");
    assertThat(fleet.callAndWait(FanOut.of("predict")).outcomes().get(0).value()).isEqualTo("new");
  }

  @Test
  void aSnapshotDropsWhatItDoesNotListPendingReplacementsIncluded() throws Exception {
    define("a", answering("a", Duration.ZERO));
    define("b1", answering("b1", Duration.ZERO));
    FakeTransportProvider.FakeModel b2 = define("b2", answering("b2", Duration.ZERO));
    CompletableFuture<Reply> b2Ready = b2.holdSetup();
    define("c", answering("c", Duration.ZERO));
    ModelFleet fleet = fleet();
    directory.snapshot(endpoint("a", "a", "a"), endpoint("b", "b1", "b1"), endpoint("c", "c", "c"));
    assertThat(fleet.awaitConnected(3, WAIT)).isTrue();
    directory.update(endpoint("b", "b2", "b2"), ModelState.RUNNING);
    eventually(() -> assertThat(b2.setups.get()).isEqualTo(1));

    // After a reconnect: a is gone, b's new deployment is gone, c is restarting.
    directory
        .listener()
        .snapshot(List.of(endpoint("b", "b1", "b1")), List.of(endpoint("c", "c", "c")));
    eventually(() -> assertThat(fleet.connectedModelIds()).containsExactly("b"));
    assertThat(fleet.models())
        .extracting(ModelStatus::modelId, ModelStatus::state)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("b", ModelStatus.State.CONNECTED),
            org.assertj.core.groups.Tuple.tuple("c", ModelStatus.State.RECOVERING));
    b2Ready.complete(FakeTransportProvider.CREATED);
    assertThat(fleet.callAndWait(FanOut.of("predict")).outcomes().get(0).value()).isEqualTo("b1");
  }

  @Test
  void awaitSettledWaitsForEveryModelOfTheFirstSnapshot() throws Exception {
    define("ok", answering(1, Duration.ZERO));
    FakeTransportProvider.FakeModel later = define("later", answering(1, Duration.ZERO));
    CompletableFuture<Reply> ready = later.holdSetup();
    FakeTransportProvider.FakeModel broken = define("broken", answering(1, Duration.ZERO));
    broken.setup =
        (m, a, t) -> CompletableFuture.completedFuture(Reply.of(StatusCode.SETUP_FAILED, "no"));
    ModelFleet fleet = fleet();
    FleetTesting.quiesce(fleet);
    assertThat(fleet.awaitSettled(Duration.ZERO)).as("no snapshot yet").isFalse();

    directory.snapshot(
        endpoint("ok", "ok", "ok"),
        endpoint("later", "later", "later"),
        endpoint("broken", "broken", "broken"));
    assertThat(nextEvent(FleetEvent.Kind.DISCONNECTED).code()).isEqualTo("MULTIPLE_FAILED");
    FleetTesting.quiesce(fleet); // "ok" was set up, "broken" refused
    assertThat(fleet.awaitSettled(Duration.ZERO)).as("'later' still connecting").isFalse();
    ready.complete(FakeTransportProvider.CREATED);
    assertThat(fleet.awaitSettled(WAIT)).isTrue();
    assertThat(fleet.connectedModelIds()).containsExactly("later", "ok");
  }

  @Test
  void theFleetSettlesWhenTheLastOfItsFirstModelsConnectsWhateverTheOrder() throws Exception {
    List<String> names = new ArrayList<>();
    Map<String, CompletableFuture<Reply>> held = new HashMap<>();
    ModelEndpoint[] endpoints = new ModelEndpoint[12];
    for (int i = 0; i < endpoints.length; i++) {
      String name = "m" + i;
      names.add(name);
      held.put(name, define(name, answering(1, Duration.ZERO)).holdSetup());
      endpoints[i] = endpoint(name, name, name);
    }
    ModelFleet fleet = fleet();
    directory.snapshot(endpoints);
    FleetTesting.quiesce(fleet);
    Collections.shuffle(names, new Random(7));
    for (int i = 0; i < names.size(); i++) {
      assertThat(fleet.awaitSettled(Duration.ZERO))
          .as("%d of %d connected", i, names.size())
          .isFalse();
      held.get(names.get(i)).complete(FakeTransportProvider.CREATED);
      FleetTesting.quiesce(fleet);
    }
    assertThat(fleet.awaitSettled(WAIT)).isTrue();
    assertThat(fleet.connectedModelIds()).hasSize(names.size());
  }

  // ---------------------------------------------------------------------------------------------
  // Safeguards

  @Test
  void afterTimeoutsAModelSitsOutCallsWhichAreReportedAsSkipped() throws Exception {
    define("hung", silent());
    ModelFleet fleet =
        fleet(
            b ->
                b.callTimeout(Duration.ofMillis(30))
                    .maxConsecutiveTimeouts(10)
                    .healthChecks(0, WAIT));
    directory.snapshot(endpoint("hung", "hung", "hung"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();
    List<CallStatus> statuses = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      statuses.add(fleet.callAndWait(FanOut.of("predict")).outcomes().get(0).status());
    }
    // Timeout n is followed by ceil(n / 2) skipped calls.
    assertThat(statuses)
        .containsExactly(
            CallStatus.TIMEOUT,
            CallStatus.SKIPPED,
            CallStatus.TIMEOUT,
            CallStatus.SKIPPED,
            CallStatus.TIMEOUT,
            CallStatus.SKIPPED,
            CallStatus.SKIPPED,
            CallStatus.TIMEOUT);
    ModelStatus status = status(fleet, "hung");
    assertThat(status.consecutiveTimeouts()).as("skipped calls are not timeouts").isEqualTo(4);
    assertThat(status.counts().skipped()).isEqualTo(4);
    assertThat(status.counts().timeouts()).isEqualTo(4);
    assertThat(status.cooldown()).isEqualTo(2);
    CallOutcome skipped = fleet.callAndWait(FanOut.of("predict")).outcomes().get(0);
    assertThat(skipped.status()).isEqualTo(CallStatus.SKIPPED);
    assertThat(skipped.failure().orElseThrow().source()).isEqualTo(CallFailure.Source.CLIENT);
    assertThat(skipped.failure().orElseThrow().code()).isEqualTo(CallFailure.COOLDOWN);
    assertThat(skipped.failure().orElseThrow().message()).contains("1 more");
  }

  @Test
  void aSuccessEndsTheCooldown() throws Exception {
    java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
    List<CompletableFuture<Reply>> lateAnswers = new java.util.concurrent.CopyOnWriteArrayList<>();
    FakeTransportProvider.Behaviour late =
        (m, a, t) -> {
          CompletableFuture<Reply> answer = new CompletableFuture<>();
          lateAnswers.add(answer);
          return answer;
        };
    FakeTransportProvider.Behaviour quick = answering("quick", Duration.ZERO);
    FakeTransportProvider.FakeModel model = define("flaky", silent());
    model.call = (m, a, t) -> (n.incrementAndGet() % 2 == 1 ? late : quick).answer(m, a, t);
    ModelFleet fleet =
        fleet(
            b ->
                b.callTimeout(Duration.ofMillis(50))
                    .maxConsecutiveTimeouts(10)
                    .healthChecks(0, WAIT));
    directory.snapshot(endpoint("flaky", "flaky", "flaky"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();
    List<CallStatus> statuses = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      statuses.add(fleet.callAndWait(FanOut.of("predict")).outcomes().get(0).status());
      // A late call is answered after its deadline, before the next fan-out.
      lateAnswers.forEach(answer -> answer.complete(Reply.success(Variant.ofString("late"))));
      assertThat(model.inFlight.get()).as("the late answer arrived").isZero();
    }
    // late (timeout), sits out one, quick (success: cooldown over), late (timeout 1 again: one
    // skipped)...
    assertThat(statuses)
        .containsExactly(
            CallStatus.TIMEOUT,
            CallStatus.SKIPPED,
            CallStatus.SUCCESS,
            CallStatus.TIMEOUT,
            CallStatus.SKIPPED,
            CallStatus.SUCCESS);
  }

  @Test
  void theCooldownCanBeTurnedOff() throws Exception {
    define("hung", silent());
    ModelFleet fleet =
        fleet(
            b ->
                b.callTimeout(Duration.ofMillis(30))
                    .maxConsecutiveTimeouts(10)
                    .timeoutCooldown(false)
                    .healthChecks(0, WAIT));
    directory.snapshot(endpoint("hung", "hung", "hung"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();
    for (int i = 0; i < 4; i++) {
      assertThat(fleet.callAndWait(FanOut.of("predict")).outcomes().get(0).status())
          .isEqualTo(CallStatus.TIMEOUT);
    }
    assertThat(status(fleet, "hung").counts().skipped()).isZero();
  }

  @Test
  void transportErrorsAreToldApart() throws Exception {
    define("down", FakeTransportProvider.transportError(TransportException.Kind.UNAVAILABLE));
    define("busy", FakeTransportProvider.transportError(TransportException.Kind.BUSY));
    define("late", FakeTransportProvider.transportError(TransportException.Kind.DEADLINE_EXCEEDED));
    ModelFleet fleet = fleet(b -> b.timeoutCooldown(false).healthChecks(0, WAIT));
    directory.snapshot(
        endpoint("down", "down", "down"),
        endpoint("busy", "busy", "busy"),
        endpoint("late", "late", "late"));
    assertThat(fleet.awaitConnected(3, WAIT)).isTrue();
    FanOutResult result = fleet.callAndWait(FanOut.of("predict"));
    assertThat(result.outcome("down").orElseThrow().status()).isEqualTo(CallStatus.FAILURE);
    assertThat(result.outcome("down").orElseThrow().failure().orElseThrow().code())
        .isEqualTo("UNAVAILABLE");
    assertThat(result.outcome("busy").orElseThrow().status()).isEqualTo(CallStatus.FAILURE);
    assertThat(result.outcome("busy").orElseThrow().failure().orElseThrow().code())
        .isEqualTo("BUSY");
    assertThat(result.outcome("late").orElseThrow().status()).isEqualTo(CallStatus.TIMEOUT);
    assertThat(result.outcome("late").orElseThrow().failure().orElseThrow().code())
        .isEqualTo("DEADLINE_EXCEEDED");
  }

  @Test
  void aRunnerThatIsNotServingIsReconnected() throws Exception {
    FakeTransportProvider.FakeModel model = define("sick", silent());
    model.health = t -> CompletableFuture.completedFuture(HealthStatus.NOT_SERVING);
    ModelFleet fleet =
        fleet(
            b ->
                b.callTimeout(Duration.ofMillis(50))
                    .maxConsecutiveTimeouts(3)
                    .healthChecks(1, WAIT));
    directory.snapshot(endpoint("sick", "sick", "sick"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();
    assertThat(fleet.callAndWait(FanOut.of("predict")).outcomes().get(0).status())
        .isEqualTo(CallStatus.TIMEOUT);

    model.health = t -> CompletableFuture.completedFuture(HealthStatus.SERVING);
    model.call = answering("well again", Duration.ZERO);
    FleetEvent restarted = nextEvent(FleetEvent.Kind.RESTARTED);
    assertThat(restarted.reason()).contains("health check").contains("NOT_SERVING");
    assertThat(model.setups.get()).isEqualTo(2);
    assertThat(fleet.callAndWait(FanOut.of("predict")).outcomes().get(0).value())
        .isEqualTo("well again");
    assertThat(directory.reports).isEmpty();
  }

  @Test
  void aHealthCheckNeverLengthensAFanOut() throws Exception {
    FakeTransportProvider.FakeModel model = define("hung", silent());
    ModelFleet fleet =
        fleet(
            b ->
                b.callTimeout(Duration.ofMillis(100)).timeoutCooldown(false).healthChecks(1, WAIT));
    directory.snapshot(endpoint("hung", "hung", "hung"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();
    int connecting = model.healthChecks.get(); // the connection's own check
    model.health = t -> new CompletableFuture<>(); // never answers, whatever its deadline
    for (int i = 0; i < 3; i++) {
      FanOutResult result = fleet.callAndWait(FanOut.of("predict"));
      assertThat(result.outcomes().get(0).status()).isEqualTo(CallStatus.TIMEOUT);
      assertThat(result.elapsed())
          .as("deadline plus a generous bound")
          .isLessThan(Duration.ofSeconds(2));
    }
    assertThat(model.healthChecks.get()).as("one check at a time").isEqualTo(connecting + 1);
  }

  @Test
  void anUnreachableRunnerIsCheckedAtOnceAndReportedAsAConnectionFailure() throws Exception {
    FakeTransportProvider.FakeModel model =
        define("gone", FakeTransportProvider.transportError(TransportException.Kind.UNAVAILABLE));
    ModelFleet fleet = fleet(b -> b.maxConsecutiveTimeouts(3));
    directory.snapshot(endpoint("gone", "gone", "gone"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();
    model.health =
        t ->
            CompletableFuture.failedFuture(
                new TransportException(TransportException.Kind.UNAVAILABLE, "Connection refused"));
    model.setup =
        (m, a, t) ->
            CompletableFuture.failedFuture(
                new TransportException(TransportException.Kind.UNAVAILABLE, "Connection refused"));
    assertThat(
            fleet
                .callAndWait(FanOut.of("predict"))
                .outcomes()
                .get(0)
                .failure()
                .orElseThrow()
                .code())
        .isEqualTo("UNAVAILABLE");

    FleetEvent failed = nextEvent(FleetEvent.Kind.CONNECTION_FAILED);
    assertThat(failed.reason()).contains("Connection refused");
    assertThat(directory.reports)
        .extracting(RecordingDirectory.Report::code)
        .containsExactly("CONNECTION_FAILED");
    assertThat(status(fleet, "gone").state()).isEqualTo(ModelStatus.State.DISCONNECTED);
  }

  @Test
  void reportingAndDisconnectingAreSeparateSwitches() throws Exception {
    define("weak", answering(0.1, Duration.ZERO));
    define("other", answering(0.9, Duration.ZERO));
    ModelFleet fleet = fleet();
    directory.snapshot(endpoint("weak", "weak", "weak"), endpoint("other", "other", "other"));
    assertThat(fleet.awaitConnected(2, WAIT)).isTrue();

    fleet.report("weak", FailureCode.LOW_PERFORMANCE, "score 0.1 under 0.5");
    assertThat(directory.reports)
        .containsExactly(
            new RecordingDirectory.Report("weak", "LOW_PERFORMANCE", "score 0.1 under 0.5"));
    assertThat(fleet.connectedModelIds()).as("reporting does not disconnect").contains("weak");

    assertThat(fleet.disconnect("other", "enough for today")).isTrue();
    assertThat(fleet.connectedModelIds()).as("at once").containsExactly("weak");
    FleetEvent event = nextEvent(FleetEvent.Kind.DISCONNECTED);
    assertThat(event.code()).isEqualTo(FleetEvent.LOCAL);
    assertThat(event.reason()).isEqualTo("enough for today");
    assertThat(fleet.disconnect("other", "again")).isFalse();
    assertThat(directory.reports).as("disconnecting does not report").hasSize(1);
    assertThat(fleet.callAndWait(FanOut.of("predict")).outcomes())
        .extracting(CallOutcome::modelId)
        .containsExactly("weak");

    fleet.report("weak", "CUSTOM_CODE", "anything");
    assertThat(directory.reports.get(1).code()).isEqualTo("CUSTOM_CODE");
    assertThatThrownBy(() -> fleet.report("nobody", FailureCode.LOW_PERFORMANCE, "x"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nobody");
    assertThatThrownBy(() -> fleet.disconnect("nobody", "x"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aModelDisconnectedByThePolicyIsReportedOnceAndStaysOutUntilTheDirectoryChangesIt()
      throws Exception {
    FakeTransportProvider.FakeModel model =
        define(
            "bad",
            FakeTransportProvider.status(
                StatusCode.MODEL_FAILED, "The model raised an exception: x"));
    ModelFleet fleet = fleet(b -> b.maxConsecutiveFailures(1));
    directory.snapshot(endpoint("bad", "bad", "bad"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();
    fleet.callAndWait(FanOut.of("predict"));
    fleet.callAndWait(FanOut.of("predict"));
    assertThat(nextEvent(FleetEvent.Kind.DISCONNECTED).code()).isEqualTo("MULTIPLE_FAILED");

    directory.update(endpoint("bad", "bad", "bad"), ModelState.RUNNING); // a duplicate
    directory.snapshot(endpoint("bad", "bad", "bad")); // a resynchronisation
    assertThat(fleet.callAndWait(FanOut.of("predict")).size()).isZero();
    assertThat(directory.reports)
        .extracting(RecordingDirectory.Report::code)
        .containsExactly("MULTIPLE_FAILED");
    assertThat(model.setups.get()).isEqualTo(1);
  }

  @Test
  void theStatusHasCountsLatencyAndTheLastError() throws Exception {
    java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
    FakeTransportProvider.FakeModel model = define("m", silent());
    FakeTransportProvider.Behaviour slowly = answering(1, Duration.ofMillis(20));
    model.call =
        (m, a, t) ->
            n.incrementAndGet() == 5
                ? CompletableFuture.completedFuture(
                    Reply.of(StatusCode.MODEL_FAILED, "The model raised an exception: boom"))
                : slowly.answer(m, a, t);
    ModelFleet fleet = fleet();
    directory.snapshot(endpoint("m", "m", "m", Map.of("cruncher_name", "alice")));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();
    for (int i = 0; i < 5; i++) {
      fleet.callAndWait(FanOut.of("predict"));
    }
    ModelStatus status = status(fleet, "m");
    assertThat(status.deploymentId()).isEqualTo("m");
    assertThat(status.infos()).containsEntry("cruncher_name", "alice");
    assertThat(status.counts()).isEqualTo(new ModelStatus.Counts(5, 4, 1, 0, 0));
    assertThat(status.consecutiveFailures()).isEqualTo(1);
    assertThat(status.lastError()).hasValueSatisfying(e -> assertThat(e).contains("boom"));
    assertThat(status.latency().count()).isEqualTo(5);
    assertThat(status.latency().maxMicros()).isGreaterThanOrEqualTo(15_000);
    assertThat(status.latency().p50Micros()).isGreaterThanOrEqualTo(15_000);
    assertThat(status.latency().p99Micros())
        .isLessThanOrEqualTo(status.latency().maxMicros() * 11 / 10);
  }

  @Test
  void aFailingListenerDoesNotStopTheOthersOrLaterEvents() throws Exception {
    define("a", answering(1, Duration.ZERO));
    define("b", answering(1, Duration.ZERO));
    ModelFleet fleet =
        ModelFleet.builder()
            .directory(directory)
            .baseClass(BASE)
            .listener(
                event -> {
                  throw new IllegalStateException("listener bug");
                })
            .listener(events::add)
            .build();
    fleets.add(fleet);
    directory.snapshot(endpoint("a", "a", "a"));
    assertThat(nextEvent(FleetEvent.Kind.CONNECTED).modelId()).isEqualTo("a");
    directory.update(endpoint("b", "b", "b"), ModelState.RUNNING);
    assertThat(nextEvent(FleetEvent.Kind.CONNECTED).modelId()).isEqualTo("b");
    assertThat(fleet.connectedModelIds()).containsExactly("a", "b");
  }
}
