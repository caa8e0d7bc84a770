package org.modelrunner.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;
import static org.modelrunner.client.FakeTransportProvider.answering;
import static org.modelrunner.client.FakeTransportProvider.define;
import static org.modelrunner.client.FakeTransportProvider.silent;
import static org.modelrunner.client.RecordingDirectory.fake;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.ModelState;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.PreparedCall;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.StatusCode;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.TransportProvider;
import org.modelrunner.spi.TransportSettings;
import org.modelrunner.spi.ValueConverter;
import org.modelrunner.spi.Variant;
import org.modelrunner.testsupport.ForwardingConnection;

/** The fleet's guarantees, over a scripted transport. */
class ModelFleetTest {
  static final String BASE = "com.example.TrackerBase";
  static final Duration WAIT = Duration.ofSeconds(10);

  private final List<ModelFleet> fleets = new ArrayList<>();
  private final BlockingQueue<FleetEvent> events = new LinkedBlockingQueue<>();

  @AfterEach
  void closeFleets() {
    fleets.forEach(ModelFleet::close);
    FakeTransportProvider.MODELS.clear();
  }

  private ModelFleet fleet(RecordingDirectory directory, Duration timeout)
      throws InterruptedException {
    ModelFleet fleet =
        ModelFleet.builder()
            .directory(directory)
            .baseClass(BASE)
            .callTimeout(timeout)
            .setupRetries(3, Duration.ofMillis(10))
            .listener(events::add)
            .build();
    fleets.add(fleet);
    return fleet;
  }

  private ModelFleet connectedFleet(Duration timeout, String... names) throws InterruptedException {
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet = fleet(directory, timeout);
    List<org.modelrunner.spi.ModelEndpoint> endpoints = new ArrayList<>();
    for (String name : names) {
      endpoints.add(fake(name));
    }
    directory.snapshot(endpoints.toArray(new org.modelrunner.spi.ModelEndpoint[0]));
    assertThat(fleet.awaitConnected(names.length, WAIT)).isTrue();
    return fleet;
  }

  private FleetEvent nextEvent(FleetEvent.Kind kind) throws InterruptedException {
    return FleetTesting.nextEvent(events, kind);
  }

  @Test
  void everyModelGetsExactlyOneOutcomeWithItsValue() throws Exception {
    define("a", answering(1.5, Duration.ZERO));
    define("b", answering(Map.of("x", 2), Duration.ofMillis(20)));
    define(
        "c",
        FakeTransportProvider.status(
            StatusCode.MODEL_FAILED, "The model raised an exception: boom"));
    ModelFleet fleet = connectedFleet(Duration.ofSeconds(5), "a", "b", "c");

    FanOutResult result = fleet.callAndWait(FanOut.of("predict"));

    assertThat(result.size()).isEqualTo(3);
    assertThat(result.outcome("a").orElseThrow().as(double.class)).isEqualTo(1.5);
    assertThat(result.outcome("b").orElseThrow().value()).isEqualTo(Map.of("x", 2L));
    CallOutcome c = result.outcome("c").orElseThrow();
    assertThat(c.status()).isEqualTo(CallStatus.FAILURE);
    assertThat(c.failure().orElseThrow())
        .isEqualTo(
            new CallFailure(
                CallFailure.Source.MODEL, "MODEL_FAILED", "The model raised an exception: boom"));
    assertThatThrownBy(c::value).isInstanceOf(IllegalStateException.class);
    assertThat(result.outcome("b").orElseThrow().latencyMicros()).isGreaterThanOrEqualTo(20_000);
  }

  record Point(double x, long y) {}

  @Test
  void outcomesConvertToTypes() throws Exception {
    define("a", answering(Map.of("x", 1.25, "y", 3), Duration.ZERO));
    ModelFleet fleet = connectedFleet(Duration.ofSeconds(5), "a");
    CallOutcome outcome = fleet.callAndWait(FanOut.of("predict")).outcomes().get(0);
    assertThat(outcome.as(Point.class)).isEqualTo(new Point(1.25, 3));
    assertThat(outcome.variant().orElseThrow().type())
        .isEqualTo(org.modelrunner.spi.VariantType.JSON);
  }

  @Test
  void aModelThatNeverAnswersTimesOutAndDoesNotDelayTheOthers() throws Exception {
    define("hung", silent());
    define("quick", answering("ok", Duration.ZERO));
    ModelFleet fleet = connectedFleet(Duration.ofMillis(300), "hung", "quick");
    List<CallOutcome> early = new CopyOnWriteArrayList<>();

    long start = System.nanoTime();
    FanOutResult result =
        fleet.callAndWait(FanOut.builder("predict").onOutcome(early::add).build());
    long elapsedMillis = (System.nanoTime() - start) / 1_000_000;

    assertThat(result.outcome("hung").orElseThrow().status()).isEqualTo(CallStatus.TIMEOUT);
    assertThat(result.outcome("quick").orElseThrow().status()).isEqualTo(CallStatus.SUCCESS);
    assertThat(elapsedMillis).isBetween(250L, 3_000L);
    // Outcomes are streamed before the result completes; the quick one arrives first.
    assertThat(early).hasSize(2);
    assertThat(early.get(0).modelId()).isEqualTo("quick");
  }

  @Test
  void theWarmUpFanOutSucceedsUnseenByListenersModelsAndTheDirectory() throws Exception {
    define("a", answering(1.0, Duration.ZERO));
    List<FanOutResult> heard = new CopyOnWriteArrayList<>();
    List<String> planned = new CopyOnWriteArrayList<>();
    BlockingQueue<FleetEvent> events = new LinkedBlockingQueue<>();
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet =
        FleetTesting.fleetBuilder(directory, events)
            .fanOutStrategy(
                (targets, timeout) -> {
                  for (int i = 0; i < targets.size(); i++) {
                    planned.add(targets.endpoint(i).modelId());
                  }
                  return FanOutStrategies.ALL_PLAN;
                })
            .listener(
                new FleetListener() {
                  @Override
                  public void onEvent(FleetEvent event) {}

                  @Override
                  public void onFanOut(FanOutResult result) {
                    heard.add(result);
                  }
                })
            .build();
    fleets.add(fleet);
    directory.snapshot(fake("a"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();

    // Every new fleet runs it on its thread when it is made; again, with the listener and the
    // strategy there.
    assertThat(fleet.parts().engine.warmUp()).as("the warm-up's fan-out succeeded").isTrue();
    FleetTesting.quiesce(fleet);
    assertThat(heard).as("no listener hears of a warm-up").isEmpty();
    assertThat(planned).as("the fleet's fan-out strategy plans no warm-up").isEmpty();
    assertThat(fleet.models()).extracting(ModelStatus::modelId).containsExactly("a");
    assertThat(fleet.models().get(0).counts().calls()).isZero();
    assertThat(directory.reports).isEmpty();
    assertThat(events).extracting(FleetEvent::modelId).containsOnly("a");

    FanOutResult first = fleet.callAndWait(FanOut.of("predict"));
    assertThat(first.outcomes()).extracting(CallOutcome::modelId).containsExactly("a");
    FleetTesting.eventually(() -> assertThat(heard).isNotEmpty());
    assertThat(heard)
        .as("the first fan-out is the first a listener hears of")
        .containsExactly(first);
    assertThat(planned).containsExactly("a");
  }

  @Test
  void theWarmUpConsultsNoCodecOfTheFleetsConverter() {
    // The converter may be the coordinator's own, with its own codecs: one without any fails every
    // value it is asked to encode or decode.
    ModelFleet fleet =
        FleetTesting.fleetBuilder(new RecordingDirectory(), new LinkedBlockingQueue<>())
            .valueConverter(ValueConverter.of(List.of()))
            .build();
    fleets.add(fleet);

    assertThat(fleet.parts().engine.warmUp()).as("the warm-up's fan-out succeeded").isTrue();
  }

  /** A fleet of the model "a" (defined), connected, whose callbacks run on {@code executor}. */
  private ModelFleet fleetOfA(Executor executor) throws InterruptedException {
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet =
        ModelFleet.builder()
            .directory(directory)
            .baseClass(BASE)
            .callTimeout(Duration.ofSeconds(5))
            .executor(executor)
            .build();
    fleets.add(fleet);
    directory.snapshot(fake("a"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();
    return fleet;
  }

  @Test
  @Timeout(30)
  void callAndWaitReturnsWithoutWaitingForTheFleetsExecutor() throws Exception {
    define("a", answering("ok", Duration.ZERO));
    BlockingQueue<Runnable> held = new LinkedBlockingQueue<>();
    AtomicBoolean holding = new AtomicBoolean();
    // Runs callbacks on the calling thread, or holds them while the test says so.
    ModelFleet fleet =
        fleetOfA(task -> (holding.get() ? (Runnable) () -> held.add(task) : task).run());

    holding.set(true);
    CompletableFuture<FanOutResult> viaExecutor = fleet.call(FanOut.of("predict"));
    FanOutResult waited = fleet.callAndWait(FanOut.of("predict"));
    assertThat(waited.outcome("a").orElseThrow().status()).isEqualTo(CallStatus.SUCCESS);
    assertThat(viaExecutor)
        .as("call()'s future completes on the fleet's executor, which holds it")
        .isNotDone();

    holding.set(false);
    for (Runnable task; (task = held.poll()) != null; ) {
      task.run();
    }
    assertThat(viaExecutor.get(10, TimeUnit.SECONDS).size()).isEqualTo(1);
  }

  @Test
  void callAndWaitHandsTheFleetsExecutorWorkOnlyForSomeoneWaitingThere() throws Exception {
    define("a", answering("ok", Duration.ZERO));
    AtomicInteger handed = new AtomicInteger();
    ModelFleet fleet =
        fleetOfA(
            task -> {
              handed.incrementAndGet();
              task.run();
            });
    FleetTesting.quiesce(fleet);

    int before = handed.get();
    for (int i = 0; i < 100; i++) {
      fleet.callAndWait(FanOut.of("predict"));
    }
    assertThat(handed.get())
        .as("no listener, no per-outcome callback: the executor (its thread) is left alone")
        .isEqualTo(before);

    List<Integer> seen = new CopyOnWriteArrayList<>();
    fleet.addListener(
        new FleetListener() {
          @Override
          public void onEvent(FleetEvent event) {}

          @Override
          public void onFanOut(FanOutResult result) {
            seen.add(result.size());
          }
        });
    List<String> outcomes = new CopyOnWriteArrayList<>();
    fleet.callAndWait(FanOut.of("predict"));
    fleet.callAndWait(
        FanOut.builder("predict").onOutcome(outcome -> outcomes.add(outcome.modelId())).build());
    FleetTesting.quiesce(fleet);
    assertThat(seen).as("a listener sees every fan-out").containsExactly(1, 1);
    assertThat(outcomes).containsExactly("a");
    assertThat(fleet.call(FanOut.of("predict")).get(10, TimeUnit.SECONDS).size()).isEqualTo(1);
  }

  @Test
  void aModelNeverHasTwoCallsInFlight() throws Exception {
    FakeTransportProvider.FakeModel slow =
        define("slow", answering("late", Duration.ofMillis(100)));
    ModelFleet fleet = connectedFleet(Duration.ofSeconds(5), "slow");

    List<CompletableFuture<FanOutResult>> results = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      results.add(fleet.call(FanOut.of("predict", i)));
    }
    for (CompletableFuture<FanOutResult> result : results) {
      assertThat(result.get(10, TimeUnit.SECONDS).outcomes().get(0).status())
          .isEqualTo(CallStatus.SUCCESS);
    }
    assertThat(slow.calls.get()).isEqualTo(5);
    assertThat(slow.maxInFlight.get()).isEqualTo(1);
  }

  @Test
  void callsWaitingForABusyModelAreSentInOrderAndTheOneOverTheMailboxIsRefused() throws Exception {
    CompletableFuture<Reply> firstAnswer = new CompletableFuture<>();
    FakeTransportProvider.Behaviour quick = answering("quick", Duration.ZERO);
    FakeTransportProvider.FakeModel model = define("m", quick);
    List<Long> sent = new CopyOnWriteArrayList<>();
    model.call =
        (m, a, t) -> {
          sent.add(a.positional().get(0).value().asLong());
          return sent.size() == 1 ? firstAnswer : quick.answer(m, a, t);
        };
    ModelFleet fleet = connectedFleet(Duration.ofSeconds(5), "m");

    List<CompletableFuture<FanOutResult>> results = new ArrayList<>();
    for (long i = 0; i <= FleetMember.MAILBOX_CAPACITY + 1; i++) {
      results.add(fleet.call(FanOut.of("predict", i))); // the first is held in flight
    }
    CallOutcome refused =
        results.get(FleetMember.MAILBOX_CAPACITY + 1).get(10, TimeUnit.SECONDS).outcomes().get(0);
    assertThat(refused.failure().map(CallFailure::code)).contains(CallFailure.QUEUE_FULL);
    firstAnswer.complete(Reply.success(Variant.ofString("first")));
    for (int i = 0; i <= FleetMember.MAILBOX_CAPACITY; i++) {
      assertThat(results.get(i).get(10, TimeUnit.SECONDS).outcomes().get(0).status())
          .as("fan-out %s", i)
          .isEqualTo(CallStatus.SUCCESS);
    }
    List<Long> expected = new ArrayList<>();
    for (long i = 0; i <= FleetMember.MAILBOX_CAPACITY; i++) {
      expected.add(i);
    }
    assertThat(sent).as("calls in the order sent").isEqualTo(expected);
    // Idle again: the next fan-out goes out at once, and is answered.
    assertThat(fleet.callAndWait(FanOut.of("predict", 99L)).outcomes().get(0).status())
        .isEqualTo(CallStatus.SUCCESS);
    assertThat(sent).hasSize(FleetMember.MAILBOX_CAPACITY + 2).endsWith(99L);
  }

  @Test
  void threadsFanningOutAtOnceNeitherLoseNorOverlapCalls() throws Exception {
    String[] names = {"a", "b", "c"};
    List<FakeTransportProvider.FakeModel> models = new ArrayList<>();
    for (String name : names) {
      // Answered on another thread, so answers race with the fan-outs that queue behind them.
      models.add(define(name, answering(1.0, Duration.ZERO)));
    }
    ModelFleet fleet = connectedFleet(Duration.ofSeconds(5), names);
    int threads = 4;
    int fanOuts = 300;
    ExecutorService callers = Executors.newFixedThreadPool(threads);
    try {
      List<Future<List<CallStatus>>> statuses = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        statuses.add(
            callers.submit(
                () -> {
                  List<CallStatus> seen = new ArrayList<>();
                  for (int i = 0; i < fanOuts; i++) {
                    for (CallOutcome outcome : fleet.callAndWait(FanOut.of("predict")).outcomes()) {
                      seen.add(outcome.status());
                    }
                  }
                  return seen;
                }));
      }
      for (Future<List<CallStatus>> each : statuses) {
        assertThat(each.get(60, TimeUnit.SECONDS))
            .as("every outcome of a caller's fan-outs (a lost call times out)")
            .hasSize(fanOuts * names.length)
            .containsOnly(CallStatus.SUCCESS);
      }
    } finally {
      callers.shutdownNow();
    }
    for (FakeTransportProvider.FakeModel model : models) {
      assertThat(model.calls.get()).isEqualTo(threads * fanOuts);
      assertThat(model.maxInFlight.get()).isEqualTo(1);
    }
  }

  @Test
  void aCallThatWaitedPastItsDeadlineIsNeverSent() throws Exception {
    CompletableFuture<Reply> firstAnswer = new CompletableFuture<>();
    FakeTransportProvider.Behaviour quick = answering("quick", Duration.ZERO);
    FakeTransportProvider.FakeModel slow = define("slow", quick);
    // The first call is held until the test answers it; the others are answered at once.
    slow.call = (m, a, t) -> slow.calls.get() == 1 ? firstAnswer : quick.answer(m, a, t);
    ModelFleet fleet = connectedFleet(Duration.ofSeconds(5), "slow");
    CompletableFuture<FanOutResult> first = fleet.call(FanOut.of("predict")); // held in flight
    FanOutResult second =
        fleet.callAndWait(FanOut.builder("predict").timeout(Duration.ofMillis(100)).build());
    assertThat(second.outcomes().get(0).status()).isEqualTo(CallStatus.TIMEOUT);
    firstAnswer.complete(Reply.success(Variant.ofString("late")));
    assertThat(first.get(10, TimeUnit.SECONDS).outcomes().get(0).status())
        .isEqualTo(CallStatus.SUCCESS);
    // The next call goes through the same mailbox, behind the expired job: only it is sent.
    assertThat(fleet.callAndWait(FanOut.of("predict")).outcomes().get(0).status())
        .isEqualTo(CallStatus.SUCCESS);
    assertThat(slow.calls.get()).as("the expired call was never sent").isEqualTo(2);
  }

  @Test
  void aFanOutOverTwoTransportsSendsEachModelTheCallItsOwnTransportPrepared() throws Exception {
    for (String name : List.of("a", "b", "c", "d")) {
      define(name, answering(1, Duration.ZERO));
    }
    // By identity: two transports' calls of the same method and arguments are equal.
    Set<PreparedCall> preparedByFirst =
        Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
    Set<PreparedCall> preparedBySecond =
        Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet =
        FleetTesting.fleetBuilder(directory, new LinkedBlockingQueue<>())
            .transport(checkingTransport("first", preparedByFirst))
            .transport(checkingTransport("second", preparedBySecond))
            .build();
    fleets.add(fleet);
    // Sorted by id, the fan-out's targets alternate between the transports.
    directory.snapshot(
        ModelEndpoint.of("a", URI.create("first://a")),
        ModelEndpoint.of("b", URI.create("second://b")),
        ModelEndpoint.of("c", URI.create("first://c")),
        ModelEndpoint.of("d", URI.create("second://d")));
    assertThat(fleet.awaitConnected(4, WAIT)).isTrue();

    FanOutResult result = fleet.callAndWait(FanOut.of("tick", 1.0));

    assertThat(result.outcomes())
        .extracting(CallOutcome::modelId, CallOutcome::status)
        .containsExactlyInAnyOrder(
            tuple("a", CallStatus.SUCCESS),
            tuple("b", CallStatus.SUCCESS),
            tuple("c", CallStatus.SUCCESS),
            tuple("d", CallStatus.SUCCESS));
    assertThat(preparedByFirst).as("prepared once by the first transport").hasSize(1);
    assertThat(preparedBySecond).as("prepared once by the second transport").hasSize(1);
  }

  /**
   * A transport of the scheme that serves the fake models, records the calls it prepares in {@code
   * prepared}, and fails any other call its connections are given.
   */
  private static TransportProvider checkingTransport(String scheme, Set<PreparedCall> prepared) {
    return new TransportProvider() {
      @Override
      public Set<String> schemes() {
        return Set.of(scheme);
      }

      @Override
      public ModelTransport create(TransportSettings settings) {
        ModelTransport fake = new FakeTransportProvider().create(settings);
        return new ModelTransport() {
          @Override
          public PreparedCall prepare(String methodName, Arguments arguments) {
            PreparedCall call = PreparedCall.of(methodName, arguments);
            prepared.add(call);
            return call;
          }

          @Override
          public ModelConnection connect(URI endpoint) {
            return new ForwardingConnection(fake.connect(endpoint)) {
              @Override
              public CompletableFuture<Reply> call(PreparedCall call, Duration timeout) {
                return prepared.contains(call)
                    ? super.call(call, timeout)
                    : CompletableFuture.failedFuture(
                        new TransportException(
                            TransportException.Kind.INTERNAL, "a call another transport prepared"));
              }
            };
          }

          @Override
          public void close() {
            fake.close();
          }
        };
      }
    };
  }

  @Test
  void sharedArgumentsArePreparedOncePerFanOut() throws Exception {
    for (String name : List.of("a", "b", "c", "d")) {
      define(name, answering(1, Duration.ZERO));
    }
    ModelFleet fleet = connectedFleet(Duration.ofSeconds(5), "a", "b", "c", "d");
    int before = FakeTransportProvider.PREPARES.get();
    fleet.callAndWait(
        FanOut.builder("tick").arguments(Map.of("price", 1.0)).keyword("horizon", 3).build());
    assertThat(FakeTransportProvider.PREPARES.get() - before).isEqualTo(1);
    Arguments seen = FakeTransportProvider.MODELS.get("c").lastArguments;
    assertThat(seen.positional()).hasSize(1);
    assertThat(seen.keyword().get(0).keyword()).isEqualTo("horizon");
    assertThat(seen.keyword().get(0).value()).isEqualTo(Variant.ofLong(3));
  }

  @Test
  void argumentsCanBeComputedPerModel() throws Exception {
    define("a", answering(1, Duration.ZERO));
    define("b", answering(1, Duration.ZERO));
    ModelFleet fleet = connectedFleet(Duration.ofSeconds(5), "a", "b");
    fleet.callAndWait(
        FanOut.builder("tick")
            .argumentsPerModel(model -> List.of("for " + model.modelId()))
            .build());
    assertThat(FakeTransportProvider.MODELS.get("a").lastArguments.inCallOrder())
        .containsExactly(Variant.ofString("for a"));
    assertThat(FakeTransportProvider.MODELS.get("b").lastArguments.inCallOrder())
        .containsExactly(Variant.ofString("for b"));
  }

  @Test
  void subsets() throws Exception {
    FakeTransportProvider.FakeModel a = define("a", answering(1, Duration.ZERO));
    FakeTransportProvider.FakeModel b = define("b", answering(2, Duration.ZERO));
    ModelFleet fleet = connectedFleet(Duration.ofSeconds(5), "a", "b");

    FanOutResult onlyB = fleet.callAndWait(FanOut.builder("predict").only(Set.of("b")).build());
    assertThat(onlyB.outcomes()).extracting(CallOutcome::modelId).containsExactly("b");

    FanOutResult nobody = fleet.callAndWait(FanOut.builder("predict").only(Set.of()).build());
    assertThat(nobody.outcomes()).isEmpty();
    assertThat(a.calls.get()).isZero();
    assertThat(b.calls.get()).isEqualTo(1);

    assertThatThrownBy(() -> fleet.call(FanOut.builder("predict").only(Set.of("a", "zed")).build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("zed");
  }

  @Test
  void aKnownModelThatIsNotConnectedFailsAsNotConnected() throws Exception {
    define("a", answering(1, Duration.ZERO));
    FakeTransportProvider.FakeModel pending = define("pending", answering(1, Duration.ZERO));
    pending.setup = silent();
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet = fleet(directory, Duration.ofSeconds(5));
    directory.snapshot(fake("a"), fake("pending"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();

    FanOutResult all = fleet.callAndWait(FanOut.of("predict"));
    assertThat(all.outcomes()).extracting(CallOutcome::modelId).containsExactly("a");

    FanOutResult chosen =
        fleet.callAndWait(FanOut.builder("predict").only(List.of("a", "pending")).build());
    CallOutcome outcome = chosen.outcome("pending").orElseThrow();
    assertThat(outcome.status()).isEqualTo(CallStatus.FAILURE);
    assertThat(outcome.failure().orElseThrow().code()).isEqualTo(CallFailure.NOT_CONNECTED);
    assertThat(pending.calls.get()).isZero();
  }

  @Test
  void consecutiveFailuresOverTheLimitDisconnectAndReport() throws Exception {
    FakeTransportProvider.FakeModel bad =
        define(
            "bad",
            FakeTransportProvider.status(
                StatusCode.MODEL_FAILED, "The model raised an exception: x"));
    define("good", answering(1, Duration.ZERO));
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet = fleet(directory, Duration.ofSeconds(5));
    directory.snapshot(fake("bad"), fake("good"));
    assertThat(fleet.awaitConnected(2, WAIT)).isTrue();

    for (int i = 0; i < 3; i++) {
      fleet.callAndWait(FanOut.of("predict"));
    }
    assertThat(fleet.connectedModelIds()).containsExactly("bad", "good");
    fleet.callAndWait(FanOut.of("predict")); // the 4th consecutive failure goes over the limit of 3

    FleetEvent event = nextEvent(FleetEvent.Kind.DISCONNECTED);
    assertThat(event.modelId()).isEqualTo("bad");
    assertThat(event.code()).isEqualTo("MULTIPLE_FAILED");
    assertThat(directory.reports)
        .extracting(RecordingDirectory.Report::code)
        .containsExactly("MULTIPLE_FAILED");
    assertThat(fleet.connectedModelIds()).containsExactly("good");
    assertThat(fleet.callAndWait(FanOut.of("predict")).outcomes())
        .extracting(CallOutcome::modelId)
        .containsExactly("good");
    assertThat(bad.calls.get()).isEqualTo(4);
    ModelStatus status = fleet.models().get(0);
    assertThat(status.state()).isEqualTo(ModelStatus.State.DISCONNECTED);
    assertThat(status.lastError().orElseThrow()).contains("MULTIPLE_FAILED");
  }

  @Test
  void aSuccessResetsTheCounters() throws Exception {
    AtomicInteger n = new AtomicInteger();
    define(
        "flaky",
        (m, a, t) ->
            CompletableFuture.supplyAsync(
                () ->
                    n.incrementAndGet() % 3 == 0
                        ? Reply.success(Variant.ofLong(1))
                        : Reply.of(StatusCode.MODEL_FAILED, "The model raised an exception: x"),
                FakeTransportProvider.THREADS));
    ModelFleet fleet = connectedFleet(Duration.ofSeconds(5), "flaky");
    for (int i = 0; i < 12; i++) {
      fleet.callAndWait(FanOut.of("predict"));
    }
    assertThat(fleet.connectedModelIds()).containsExactly("flaky");
    assertThat(fleet.models().get(0).counts().successes()).isEqualTo(4);
  }

  @Test
  void consecutiveTimeoutsOverTheLimitDisconnect() throws Exception {
    define("hung", silent());
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet =
        ModelFleet.builder()
            .directory(directory)
            .baseClass(BASE)
            .callTimeout(Duration.ofMillis(50))
            .maxConsecutiveTimeouts(1)
            .timeoutCooldown(false)
            .listener(events::add)
            .build();
    fleets.add(fleet);
    directory.snapshot(fake("hung"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();
    fleet.callAndWait(FanOut.of("predict"));
    fleet.callAndWait(FanOut.of("predict"));
    FleetEvent event = nextEvent(FleetEvent.Kind.DISCONNECTED);
    assertThat(event.code()).isEqualTo("MULTIPLE_TIMEOUT");
    assertThat(directory.reports)
        .extracting(RecordingDirectory.Report::code)
        .containsExactly("MULTIPLE_TIMEOUT");
  }

  @Test
  void zeroDisablesTheLimits() throws Exception {
    define("bad", FakeTransportProvider.transportError(TransportException.Kind.INTERNAL));
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet =
        ModelFleet.builder()
            .directory(directory)
            .baseClass(BASE)
            .maxConsecutiveFailures(0)
            .maxConsecutiveTimeouts(0)
            .build();
    fleets.add(fleet);
    directory.snapshot(fake("bad"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();
    for (int i = 0; i < 6; i++) {
      CallOutcome outcome = fleet.callAndWait(FanOut.of("predict")).outcomes().get(0);
      assertThat(outcome.failure().orElseThrow())
          .isEqualTo(
              new CallFailure(CallFailure.Source.TRANSPORT, "INTERNAL", "scripted INTERNAL"));
    }
    assertThat(fleet.connectedModelIds()).containsExactly("bad");
    assertThat(fleet.models().get(0).consecutiveFailures()).isEqualTo(6);
  }

  @Test
  void badImplementationOnACallDisconnectsAtOnce() throws Exception {
    define(
        "bad",
        FakeTransportProvider.status(
            StatusCode.BAD_IMPLEMENTATION, "Method \"predict\" not found in class \"M\""));
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet = fleet(directory, Duration.ofSeconds(5));
    directory.snapshot(fake("bad"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();
    fleet.callAndWait(FanOut.of("predict"));
    FleetEvent event = nextEvent(FleetEvent.Kind.DISCONNECTED);
    assertThat(event.code()).isEqualTo("BAD_IMPLEMENTATION");
    assertThat(event.reason()).isEqualTo("Method \"predict\" not found in class \"M\"");
    assertThat(directory.reports).hasSize(1);
  }

  @Test
  void badImplementationAtSetupIsReportedAndNeverConnects() throws Exception {
    FakeTransportProvider.FakeModel bad = define("bad", answering(1, Duration.ZERO));
    bad.setup =
        FakeTransportProvider.status(
            StatusCode.BAD_IMPLEMENTATION, "No Inherited class found from <class 'x.B'>.");
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet = fleet(directory, Duration.ofSeconds(5));
    directory.snapshot(fake("bad"));
    FleetEvent event = nextEvent(FleetEvent.Kind.DISCONNECTED);
    assertThat(event.code()).isEqualTo("BAD_IMPLEMENTATION");
    assertThat(bad.setups.get()).isEqualTo(1);
    assertThat(fleet.connectedModelIds()).isEmpty();
    assertThat(directory.reports)
        .extracting(RecordingDirectory.Report::code)
        .containsExactly("BAD_IMPLEMENTATION");
  }

  @Test
  void setupIsRetriedOnTransportErrorsAndThenGivenUp() throws Exception {
    AtomicInteger attempts = new AtomicInteger();
    FakeTransportProvider.FakeModel flaky = define("flaky", answering(1, Duration.ZERO));
    flaky.setup =
        (m, a, t) ->
            attempts.incrementAndGet() < 3
                ? CompletableFuture.failedFuture(
                    new TransportException(TransportException.Kind.UNAVAILABLE, "not yet"))
                : CompletableFuture.completedFuture(FakeTransportProvider.CREATED);
    FakeTransportProvider.FakeModel broken = define("broken", answering(1, Duration.ZERO));
    broken.setup = FakeTransportProvider.transportError(TransportException.Kind.UNAVAILABLE);
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet = fleet(directory, Duration.ofSeconds(5));
    directory.snapshot(fake("flaky"), fake("broken"));

    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();
    assertThat(fleet.connectedModelIds()).containsExactly("flaky");
    assertThat(attempts.get()).isEqualTo(3);
    FleetEvent failed = nextEvent(FleetEvent.Kind.CONNECTION_FAILED);
    assertThat(failed.modelId()).isEqualTo("broken");
    assertThat(failed.reason()).contains("setup failed 3 time(s)").contains("UNAVAILABLE");
    assertThat(broken.setups.get()).isEqualTo(3);
  }

  @Test
  void setupRetriesFollowThePythonClientsBackoffInFakeTime() throws Exception {
    FakeTransportProvider.FakeModel down = define("down", answering(1, Duration.ZERO));
    down.setup = FakeTransportProvider.transportError(TransportException.Kind.UNAVAILABLE);
    ManualTime time = new ManualTime();
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet =
        ModelFleet.builder()
            .directory(directory)
            .baseClass(BASE)
            .scheduler(time) // the default retries: 5 attempts, 2 s then doubled
            .listener(events::add)
            .build();
    fleets.add(fleet);
    directory.snapshot(fake("down"));

    int[] expected = {1, 2, 3, 4, 5};
    long[] waits = {2, 4, 8, 16};
    for (int i = 0; i < waits.length; i++) {
      int setups = expected[i];
      FleetTesting.eventually(() -> assertThat(down.setups.get()).isEqualTo(setups));
      FleetTesting.eventually(
          () -> assertThat(time.pending()).as("a retry is scheduled").isEqualTo(1));
      time.advance(Duration.ofSeconds(waits[i]).minusMillis(1));
      FleetTesting.quiesce(fleet); // a retry that came due would have been tried by now
      assertThat(down.setups.get()).as("not before %s s", waits[i]).isEqualTo(setups);
      time.advance(Duration.ofMillis(1));
    }
    FleetEvent failed = nextEvent(FleetEvent.Kind.CONNECTION_FAILED);
    assertThat(failed.reason()).contains("setup failed 5 time(s)");
    assertThat(down.setups.get()).isEqualTo(5);
    assertThat(directory.reports)
        .extracting(RecordingDirectory.Report::code)
        .containsExactly("CONNECTION_FAILED");
  }

  @Test
  void aSetupThatAnswersIsNotRetriedAndIsReportedAsTheRunnerAnswered() throws Exception {
    FakeTransportProvider.FakeModel throwing = define("throwing", answering(1, Duration.ZERO));
    throwing.setup =
        (m, a, t) ->
            CompletableFuture.completedFuture(
                Reply.of(StatusCode.SETUP_FAILED, "java.lang.IllegalStateException: no weights"));
    FakeTransportProvider.FakeModel bad = define("bad", answering(1, Duration.ZERO));
    bad.setup =
        (m, a, t) ->
            CompletableFuture.completedFuture(
                Reply.of(StatusCode.BAD_IMPLEMENTATION, "No Inherited class found"));
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet = fleet(directory, Duration.ofSeconds(5));
    directory.snapshot(fake("throwing"), fake("bad"));

    assertThat(fleet.awaitSettled(WAIT)).isTrue();
    assertThat(throwing.setups.get()).as("a constructor that throws is not retried").isEqualTo(1);
    assertThat(bad.setups.get()).isEqualTo(1);
    FleetTesting.eventually(() -> assertThat(directory.reports).hasSize(2));
    assertThat(directory.reports)
        .containsExactlyInAnyOrder(
            new RecordingDirectory.Report(
                "throwing",
                "MULTIPLE_FAILED",
                "setup answered SETUP_FAILED: java.lang.IllegalStateException: no weights"),
            new RecordingDirectory.Report("bad", "BAD_IMPLEMENTATION", "No Inherited class found"));
    assertThat(fleet.models())
        .extracting(ModelStatus::state)
        .containsOnly(ModelStatus.State.DISCONNECTED);
  }

  @Test
  void aSetupRefusedAsTheCoordinatorsErrorIsNotReported() throws Exception {
    FakeTransportProvider.FakeModel model = define("picky", answering(1, Duration.ZERO));
    model.setup =
        (m, a, t) ->
            CompletableFuture.completedFuture(
                Reply.of(StatusCode.INVALID_ARGUMENT, "class_name cannot be empty"));
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet = fleet(directory, Duration.ofSeconds(5));
    directory.snapshot(fake("picky"));
    FleetEvent failed = nextEvent(FleetEvent.Kind.CONNECTION_FAILED);
    assertThat(failed.code()).isEqualTo("INVALID_ARGUMENT");
    assertThat(failed.reason()).contains("coordinator's error").contains("base class name");
    assertThat(model.setups.get()).isEqualTo(1);
    assertThat(directory.reports).isEmpty();
  }

  @Test
  void callAnswersThatAreTheCoordinatorsProblemAreNotCounted() throws Exception {
    FakeTransportProvider.FakeModel model = define("m", answering(1, Duration.ZERO));
    model.call =
        (method, a, t) ->
            CompletableFuture.completedFuture(
                Reply.of(StatusCode.INVALID_ARGUMENT, "methodName cannot be empty"));
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet = fleet(directory, Duration.ofSeconds(5));
    directory.snapshot(fake("m"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();
    for (int i = 0; i < 6; i++) {
      CallOutcome outcome = fleet.callAndWait(FanOut.of("predict")).outcomes().get(0);
      assertThat(outcome.status()).isEqualTo(CallStatus.FAILURE);
      assertThat(outcome.failure().orElseThrow().code()).isEqualTo("INVALID_ARGUMENT");
    }
    ModelStatus status = fleet.models().get(0);
    assertThat(status.state()).isEqualTo(ModelStatus.State.CONNECTED);
    assertThat(status.consecutiveFailures()).isZero();
    assertThat(directory.reports).isEmpty();
  }

  /** Defines model "m", whose setup sets {@code hasInstance}. */
  private static FakeTransportProvider.FakeModel modelWhoseSetupCreates(AtomicBoolean hasInstance) {
    FakeTransportProvider.FakeModel model = define("m", answering(1, Duration.ZERO));
    model.setup =
        (m, a, t) -> {
          hasInstance.set(true);
          return CompletableFuture.completedFuture(FakeTransportProvider.CREATED);
        };
    return model;
  }

  @Test
  void aRunnerThatLostItsInstanceIsSetUpAgainAndTheNextCallGoesThrough() throws Exception {
    AtomicBoolean hasInstance = new AtomicBoolean();
    FakeTransportProvider.FakeModel model = modelWhoseSetupCreates(hasInstance);
    model.call =
        (method, a, t) ->
            CompletableFuture.completedFuture(
                hasInstance.get()
                    ? Reply.of(StatusCode.SUCCESS, "")
                    : Reply.of(StatusCode.FAILED_PRECONDITION, "Setup has not been called yet"));
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet = fleet(directory, Duration.ofSeconds(5));
    directory.snapshot(fake("m"));
    assertThat(nextEvent(FleetEvent.Kind.CONNECTED).modelId()).isEqualTo("m");

    hasInstance.set(false); // a Rest from someone else
    for (int i = 0; i < 5; i++) {
      CallOutcome lost = fleet.callAndWait(FanOut.of("predict")).outcomes().get(0);
      if (lost.status() != CallStatus.FAILURE) {
        break;
      }
      assertThat(lost.failure().orElseThrow().code()).isEqualTo("FAILED_PRECONDITION");
    }
    FleetEvent restarted = nextEvent(FleetEvent.Kind.RESTARTED);
    assertThat(restarted.reason()).contains("no instance");
    assertThat(model.setups.get()).isEqualTo(2);
    assertThat(fleet.callAndWait(FanOut.of("predict")).outcomes().get(0).status())
        .isEqualTo(CallStatus.SUCCESS);
    assertThat(directory.reports).isEmpty();
    assertThat(fleet.models().get(0).consecutiveFailures()).isZero();
  }

  @Test
  void callsAlreadySentToAModelTheFleetSetsUpAgainGetTheRunnersAnswers() throws Exception {
    AtomicBoolean hasInstance = new AtomicBoolean();
    CompletableFuture<Reply> first = new CompletableFuture<>();
    CompletableFuture<Reply> second = new CompletableFuture<>();
    FakeTransportProvider.FakeModel model = modelWhoseSetupCreates(hasInstance);
    model.call =
        (method, a, t) ->
            switch (method) {
              case "first" -> first;
              case "second" -> second;
              default -> CompletableFuture.completedFuture(Reply.of(StatusCode.SUCCESS, ""));
            };
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet = fleet(directory, Duration.ofSeconds(30));
    directory.snapshot(fake("m"));
    assertThat(nextEvent(FleetEvent.Kind.CONNECTED).modelId()).isEqualTo("m");

    // The second call waits in the model's mailbox behind the first, whose answer says the runner
    // lost its instance: the fleet sets the model up again while the second is still to answer.
    CompletableFuture<FanOutResult> lost = fleet.call(FanOut.of("first"));
    CompletableFuture<FanOutResult> queued = fleet.call(FanOut.of("second"));
    hasInstance.set(false); // a Rest from someone else
    first.complete(Reply.of(StatusCode.FAILED_PRECONDITION, "Setup has not been called yet"));
    CallOutcome failed = lost.get(10, TimeUnit.SECONDS).outcomes().get(0);
    assertThat(failed.failure().orElseThrow().code()).isEqualTo("FAILED_PRECONDITION");
    assertThat(nextEvent(FleetEvent.Kind.RESTARTED).reason()).contains("no instance");
    assertThat(hasInstance).isTrue();
    assertThat(model.closes.get())
        .as("the old connection stays open for the call it carries")
        .isZero();

    second.complete(Reply.of(StatusCode.SUCCESS, ""));
    CallOutcome answered = queued.get(10, TimeUnit.SECONDS).outcomes().get(0);
    assertThat(answered.status()).as("%s", answered).isEqualTo(CallStatus.SUCCESS);
    assertThat(fleet.callAndWait(FanOut.of("predict")).outcomes().get(0).status())
        .isEqualTo(CallStatus.SUCCESS);

    fleet.close(); // before the old connection's call timeout is over
    assertThat(model.closes.get()).as("both connections are closed with the fleet").isEqualTo(2);
  }

  @Test
  void listenersSeeEveryReportThePolicysBeforeItsEventAndTheCoordinators() throws Exception {
    define("bad", FakeTransportProvider.status(StatusCode.MODEL_FAILED, "x"));
    define("good", answering(1, Duration.ZERO));
    RecordingDirectory directory = new RecordingDirectory();
    List<FleetReport> reports = new CopyOnWriteArrayList<>();
    List<Integer> reportsSeenAtDisconnect = new CopyOnWriteArrayList<>();
    ModelFleet fleet =
        ModelFleet.builder()
            .directory(directory)
            .baseClass(BASE)
            .callTimeout(Duration.ofSeconds(5))
            .maxConsecutiveFailures(2)
            .listener(
                new FleetListener() {
                  @Override
                  public void onEvent(FleetEvent event) {
                    if (event.kind() == FleetEvent.Kind.DISCONNECTED) {
                      reportsSeenAtDisconnect.add(reports.size());
                    }
                    events.add(event);
                  }

                  @Override
                  public void onReport(FleetReport report) {
                    reports.add(report);
                  }
                })
            .build();
    fleets.add(fleet);
    directory.snapshot(fake("bad"), fake("good"));
    assertThat(fleet.awaitConnected(2, WAIT)).isTrue();
    for (int i = 0; i < 3; i++) {
      fleet.callAndWait(FanOut.of("predict"));
    }
    FleetEvent disconnected = FleetTesting.nextEvent(events, FleetEvent.Kind.DISCONNECTED);
    assertThat(disconnected.modelId()).isEqualTo("bad");
    assertThat(reportsSeenAtDisconnect).containsExactly(1);

    fleet.report("good", "POOR_PREDICTIONS", "mean error 3.2");
    FleetTesting.quiesce(fleet);
    assertThat(reports)
        .extracting(FleetReport::modelId, FleetReport::code, FleetReport::byCoordinator)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("bad", "MULTIPLE_FAILED", false),
            org.assertj.core.groups.Tuple.tuple("good", "POOR_PREDICTIONS", true));
    assertThat(reports.get(1).reason()).isEqualTo("mean error 3.2");
    assertThat(directory.reports).hasSize(2);
  }

  @Test
  void withReportFailuresOffAFailingModelIsLoggedNotReportedAndKept() throws Exception {
    define("bad", FakeTransportProvider.status(StatusCode.MODEL_FAILED, "x"));
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet =
        ModelFleet.builder()
            .directory(directory)
            .baseClass(BASE)
            .callTimeout(Duration.ofSeconds(5))
            .maxConsecutiveFailures(2)
            .reportFailures(false)
            .listener(events::add)
            .build();
    fleets.add(fleet);
    directory.snapshot(fake("bad"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();
    for (int i = 0; i < 6; i++) {
      assertThat(fleet.callAndWait(FanOut.of("predict")).outcomes()).hasSize(1);
    }
    ModelStatus status = fleet.models().get(0);
    assertThat(status.state()).as("kept").isEqualTo(ModelStatus.State.CONNECTED);
    assertThat(status.consecutiveFailures()).isEqualTo(6);
    assertThat(directory.reports).isEmpty();
    assertThat(FleetTesting.nextEvent(events).kind()).isEqualTo(FleetEvent.Kind.CONNECTED);
    FleetTesting.assertNoMoreEvents(fleet, events, "no DISCONNECTED");
  }

  @Test
  void aNullArgumentIsNone() throws Exception {
    FakeTransportProvider.FakeModel model = define("m", answering(1, Duration.ZERO));
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet = fleet(directory, Duration.ofSeconds(5));
    directory.snapshot(fake("m"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();

    fleet.callAndWait(FanOut.of("echo", (Object) null));
    assertThat(model.lastArguments.positional()).hasSize(1);
    assertThat(model.lastArguments.positional().get(0).value().type())
        .isEqualTo(org.modelrunner.spi.VariantType.NONE);
    fleet.callAndWait(FanOut.builder("echo").arguments((Object) null).arguments(1, null).build());
    assertThat(model.lastArguments.positional())
        .extracting(argument -> argument.value().type())
        .containsExactly(
            org.modelrunner.spi.VariantType.NONE,
            org.modelrunner.spi.VariantType.INT,
            org.modelrunner.spi.VariantType.NONE);
  }

  @Test
  void perModelArgumentsCarryPositionalAndKeywordArguments() throws Exception {
    FakeTransportProvider.FakeModel a = define("a", answering(1, Duration.ZERO));
    FakeTransportProvider.FakeModel b = define("b", answering(1, Duration.ZERO));
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet = fleet(directory, Duration.ofSeconds(5));
    directory.snapshot(fake("a"), fake("b"));
    assertThat(fleet.awaitConnected(2, WAIT)).isTrue();
    Map<String, Double> metrics = Map.of("a", 0.5, "b", 0.9);

    fleet.callAndWait(
        FanOut.builder("predict")
            .keyword("horizon", 60)
            .keyword("performance_metrics", "shared")
            .perModel(
                model ->
                    ModelArguments.of("tick-" + model.modelId())
                        .keyword("performance_metrics", metrics.get(model.modelId())))
            .build());

    ValueConverter converter = ValueConverter.create();
    for (var entry : Map.of("a", a, "b", b).entrySet()) {
      org.modelrunner.spi.Arguments seen = entry.getValue().lastArguments;
      assertThat(converter.decode(seen.positional().get(0).value()))
          .isEqualTo("tick-" + entry.getKey());
      Map<String, Object> keywords = new java.util.TreeMap<>();
      seen.keyword().forEach(k -> keywords.put(k.keyword(), converter.decode(k.value())));
      assertThat(keywords)
          .containsEntry("horizon", 60L)
          .containsEntry("performance_metrics", metrics.get(entry.getKey()))
          .hasSize(2);
    }
    assertThatThrownBy(() -> FanOut.builder("x").arguments(1).perModel(m -> ModelArguments.of()))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(
            () ->
                FanOut.builder("x")
                    .argumentsPerModel(m -> List.of())
                    .perModel(m -> ModelArguments.of()))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void aDirectoryThatListsAnEndpointNoTransportServesFailsTheBuild() {
    assertThatThrownBy(
            () ->
                ModelFleet.builder()
                    .directory(StaticModelDirectory.of("fake://ok", "nope://model"))
                    .baseClass(BASE)
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("No transport for the endpoint nope://model");
  }

  @Test
  void theDirectoryDrivesMembership() throws Exception {
    define("a", answering("a", Duration.ZERO));
    define("b", answering("b", Duration.ZERO));
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet = fleet(directory, Duration.ofSeconds(5));
    directory.snapshot(fake("a"), fake("b"));
    assertThat(fleet.awaitConnected(2, WAIT)).isTrue();

    directory.update(fake("b"), ModelState.STOPPED);
    assertThat(nextEvent(FleetEvent.Kind.LEFT).modelId()).isEqualTo("b");
    assertThat(fleet.connectedModelIds()).containsExactly("a");

    // A STOPPED for a deployment the fleet does not hold changes nothing.
    directory.update(fake("a", "a-old"), ModelState.STOPPED);
    // A new snapshot without "a" removes it.
    define("c", answering("c", Duration.ZERO));
    directory.snapshot(fake("c"));
    assertThat(nextEvent(FleetEvent.Kind.LEFT).modelId()).isEqualTo("a");
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();
    assertThat(fleet.connectedModelIds()).containsExactly("c");
  }

  @Test
  void aNewDeploymentReplacesTheOldOnlyOnceItIsReady() throws Exception {
    define("m-v1", answering("v1", Duration.ZERO));
    FakeTransportProvider.FakeModel v2 = define("m-v2", answering("v2", Duration.ZERO));
    CompletableFuture<Reply> v2Ready = v2.holdSetup();
    RecordingDirectory directory = new RecordingDirectory();
    ModelFleet fleet = fleet(directory, Duration.ofSeconds(5));
    directory.snapshot(fake("m", "m-v1"));
    assertThat(fleet.awaitConnected(1, WAIT)).isTrue();

    directory.update(fake("m", "m-v2"), ModelState.RUNNING);
    assertThat(fleet.callAndWait(FanOut.of("predict")).outcomes().get(0).value()).isEqualTo("v1");

    v2Ready.complete(FakeTransportProvider.CREATED);
    FleetEvent replaced = nextEvent(FleetEvent.Kind.REPLACED);
    assertThat(replaced.model().deploymentId()).isEqualTo("m-v2");
    assertThat(replaced.reason()).isEqualTo("replaces deployment m-v1");
    CallOutcome outcome = fleet.callAndWait(FanOut.of("predict")).outcomes().get(0);
    assertThat(outcome.value()).isEqualTo("v2");
    assertThat(outcome.deploymentId()).isEqualTo("m-v2");
  }

  @Test
  void aMissingTransportIsOneClearError() {
    assertThatThrownBy(
            () ->
                ModelFleet.builder()
                    .directory(StaticModelDirectory.of("grpc://127.0.0.1:50051"))
                    .baseClass(BASE)
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("grpc://127.0.0.1:50051")
        .hasMessageContaining("add org.modelrunner:model-runner-transport-grpc to the class path")
        .hasMessageContaining("TransportProvider providers: ");
  }

  @Test
  void callbacksRunOnTheFleetsExecutorNotOnTransportThreads() throws Exception {
    // The answer is held until thenApply is registered (a stage added to a completed future runs on
    // the thread that adds it), then given on a transport thread.
    CompletableFuture<Reply> answer = new CompletableFuture<>();
    define("a", (m, a, t) -> answer);
    ModelFleet fleet = connectedFleet(Duration.ofSeconds(5), "a");
    List<String> threads = new CopyOnWriteArrayList<>();
    CompletableFuture<FanOutResult> pending =
        fleet
            .call(
                FanOut.builder("predict")
                    .onOutcome(o -> threads.add(Thread.currentThread().getName()))
                    .build())
            .thenApply(
                r -> {
                  threads.add(Thread.currentThread().getName());
                  return r;
                });
    FakeTransportProvider.THREADS.execute(() -> answer.complete(Reply.success(Variant.ofLong(1))));
    FanOutResult result = pending.get(10, TimeUnit.SECONDS);
    assertThat(result.size()).isEqualTo(1);
    assertThat(threads).hasSize(2).allSatisfy(name -> assertThat(name).endsWith("-callbacks"));
  }

  @Test
  void closeCompletesFanOutsInFlightAndStopsTheFleetsThreads() throws Exception {
    define("hung", silent());
    ModelFleet fleet = connectedFleet(Duration.ofSeconds(30), "hung");
    CompletableFuture<FanOutResult> pending = fleet.call(FanOut.of("predict"));
    fleet.close();
    CallOutcome outcome = pending.get(10, TimeUnit.SECONDS).outcomes().get(0);
    assertThat(outcome.failure().orElseThrow().code()).isEqualTo("FLEET_CLOSED");
    assertThatThrownBy(() -> fleet.call(FanOut.of("predict")))
        .isInstanceOf(IllegalStateException.class);
    FleetTesting.eventually(() -> assertThat(fleetThreads()).isZero());
  }

  private static long fleetThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith("modelrunner-fleet-"))
        .count();
  }
}
