package org.modelrunner.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.modelrunner.client.FakeTransportProvider.answering;
import static org.modelrunner.client.FakeTransportProvider.define;
import static org.modelrunner.client.FakeTransportProvider.silent;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.StatusCode;
import org.modelrunner.spi.TransportException;
import org.modelrunner.testsupport.JavaSources;

/**
 * The fan-out strategies: what each does, and the invariant they all keep (one outcome each, on
 * time).
 */
class FanOutStrategyTest {
  private static final Duration BOUND = Duration.ofSeconds(1);

  private final List<ModelFleet> fleets = new ArrayList<>();
  private final BlockingQueue<FleetEvent> events = new LinkedBlockingQueue<>();
  private final RecordingDirectory directory = new RecordingDirectory();

  @AfterEach
  void closeFleets() {
    fleets.forEach(ModelFleet::close);
    FakeTransportProvider.MODELS.clear();
  }

  private ModelFleet fleet(
      Function<ModelFleet.Builder, ModelFleet.Builder> configure, String... names)
      throws InterruptedException {
    ModelFleet fleet = configure.apply(FleetTesting.fleetBuilder(directory, events)).build();
    fleets.add(fleet);
    directory.snapshot(
        java.util.Arrays.stream(names)
            .map(RecordingDirectory::fake)
            .toArray(org.modelrunner.spi.ModelEndpoint[]::new));
    assertThat(fleet.awaitConnected(names.length, FleetTesting.WAIT)).isTrue();
    return fleet;
  }

  /**
   * Answers after {@code delay}, or fails DEADLINE_EXCEEDED at the call's deadline, as a real
   * transport.
   */
  private static FakeTransportProvider.Behaviour takes(Duration delay) {
    return (method, arguments, timeout) -> {
      CompletableFuture<Reply> reply = new CompletableFuture<>();
      if (delay.compareTo(timeout) <= 0) {
        FakeTransportProvider.THREADS.schedule(
            () -> reply.complete(Reply.of(StatusCode.SUCCESS, "")),
            delay.toNanos(),
            TimeUnit.NANOSECONDS);
      } else {
        FakeTransportProvider.THREADS.schedule(
            () ->
                reply.completeExceptionally(
                    new TransportException(
                        TransportException.Kind.DEADLINE_EXCEEDED, "deadline " + timeout)),
            timeout.toNanos(),
            TimeUnit.NANOSECONDS);
      }
      return reply;
    };
  }

  private static Map<String, CallStatus> statuses(FanOutResult result) {
    return result.outcomes().stream()
        .collect(Collectors.toMap(CallOutcome::modelId, CallOutcome::status));
  }

  private static void assertOneOutcomeEachOnTime(
      FanOutResult result, int models, Duration deadline) {
    assertThat(result.outcomes()).hasSize(models);
    assertThat(result.outcomes().stream().map(CallOutcome::modelId)).doesNotHaveDuplicates();
    assertThat(result.elapsed()).isLessThanOrEqualTo(deadline.plus(BOUND));
  }

  @Test
  void allIsTheDefault() throws Exception {
    define("a", answering(1, Duration.ZERO));
    define("b", answering(2, Duration.ZERO));
    ModelFleet fleet = fleet(b -> b, "a", "b");
    FanOutResult result = fleet.callAndWait(FanOut.of("predict"));
    assertThat(statuses(result))
        .containsOnly(Map.entry("a", CallStatus.SUCCESS), Map.entry("b", CallStatus.SUCCESS));
    assertThat(FanOutStrategy.named("all", Map.of())).isSameAs(FanOutStrategy.all());
  }

  @Test
  void quorumCompletesOnceEnoughModelsAnsweredAndCancelsTheRest() throws Exception {
    define("fast1", answering(1, Duration.ZERO));
    define("fast2", answering(2, Duration.ofMillis(20)));
    FakeTransportProvider.FakeModel slow = define("slow", answering(3, Duration.ofSeconds(3)));
    define("hung", silent());
    ModelFleet fleet =
        fleet(b -> b.callTimeout(Duration.ofSeconds(5)), "fast1", "fast2", "slow", "hung");

    FanOutResult result =
        fleet.callAndWait(FanOut.builder("predict").strategy(FanOutStrategy.quorum(2)).build());

    assertOneOutcomeEachOnTime(result, 4, Duration.ofSeconds(5));
    assertThat(result.elapsed()).as("no wait for the slow ones").isLessThan(Duration.ofSeconds(2));
    assertThat(statuses(result))
        .containsOnly(
            Map.entry("fast1", CallStatus.SUCCESS), Map.entry("fast2", CallStatus.SUCCESS),
            Map.entry("slow", CallStatus.CANCELLED), Map.entry("hung", CallStatus.CANCELLED));
    assertThat(result.outcome("slow").orElseThrow().failure().orElseThrow().code())
        .isEqualTo(CallFailure.NOT_NEEDED);
    assertThat(slow.calls.get()).as("the call was sent").isEqualTo(1);
    assertThat(fleet.models())
        .allSatisfy(
            model -> {
              assertThat(model.consecutiveTimeouts()).as("cancelled is not counted").isZero();
              assertThat(model.consecutiveFailures()).isZero();
            });
  }

  @Test
  void aQuorumNeverReachedEndsWithEveryOutcome() throws Exception {
    define("ok", answering(1, Duration.ZERO));
    define("bad", FakeTransportProvider.status(StatusCode.MODEL_FAILED, "x"));
    define("hung", silent());
    ModelFleet fleet = fleet(b -> b.callTimeout(Duration.ofMillis(300)), "ok", "bad", "hung");

    FanOutResult result =
        fleet.callAndWait(FanOut.builder("predict").strategy(FanOutStrategy.quorum(2)).build());

    assertOneOutcomeEachOnTime(result, 3, Duration.ofMillis(300));
    assertThat(statuses(result))
        .containsOnly(
            Map.entry("ok", CallStatus.SUCCESS),
            Map.entry("bad", CallStatus.FAILURE),
            Map.entry("hung", CallStatus.TIMEOUT));
  }

  @Test
  void boundedKeepsAtMostMCallsInFlightAndSendsTheRestInOrder() throws Exception {
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger peak = new AtomicInteger();
    FakeTransportProvider.Behaviour counted =
        (method, arguments, timeout) -> {
          peak.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
          CompletableFuture<Reply> reply = new CompletableFuture<>();
          FakeTransportProvider.THREADS.schedule(
              () -> {
                inFlight.decrementAndGet();
                reply.complete(Reply.of(StatusCode.SUCCESS, ""));
              },
              50,
              TimeUnit.MILLISECONDS);
          return reply;
        };
    String[] names = {"m1", "m2", "m3", "m4", "m5", "m6"};
    for (String name : names) {
      define(name, counted);
    }
    ModelFleet fleet = fleet(b -> b.fanOutStrategy(FanOutStrategy.bounded(2)), names);

    FanOutResult result = fleet.callAndWait(FanOut.of("predict"));

    assertOneOutcomeEachOnTime(result, 6, Duration.ofSeconds(5));
    assertThat(result.withStatus(CallStatus.SUCCESS)).hasSize(6);
    assertThat(peak.get()).isEqualTo(2);
    assertThat(result.elapsed())
        .as("three rounds of two")
        .isGreaterThanOrEqualTo(Duration.ofMillis(140));
  }

  @Test
  void boundedCallsNotSentByTheDeadlineAreSkippedNotTimedOut() throws Exception {
    define("first", silent()); // holds the only slot until the deadline
    define("second", answering(2, Duration.ZERO));
    define("third", answering(3, Duration.ZERO));
    ModelFleet fleet =
        fleet(
            b ->
                b.callTimeout(Duration.ofMillis(200))
                    .fanOutStrategy("bounded", Map.of("maxInFlight", "1")),
            "first",
            "second",
            "third");

    FanOutResult result = fleet.callAndWait(FanOut.of("predict"));

    assertOneOutcomeEachOnTime(result, 3, Duration.ofMillis(200));
    assertThat(statuses(result))
        .containsOnly(
            Map.entry("first", CallStatus.TIMEOUT),
            Map.entry("second", CallStatus.SKIPPED),
            Map.entry("third", CallStatus.SKIPPED));
    assertThat(result.outcome("third").orElseThrow().failure().orElseThrow().code())
        .isEqualTo(CallFailure.NOT_SENT);
    ModelStatus second =
        fleet.models().stream().filter(m -> m.modelId().equals("second")).findFirst().orElseThrow();
    assertThat(second.consecutiveTimeouts()).as("not sent: not the model's fault").isZero();
  }

  @Test
  void perModelDeadlinesComeFromEachModelsStatus() throws Exception {
    define("top", takes(Duration.ofMillis(300)));
    define("other", takes(Duration.ofMillis(300)));
    ModelFleet fleet = fleet(b -> b.callTimeout(Duration.ofMillis(100)), "top", "other");
    FanOutStrategy budget =
        FanOutStrategy.perModelDeadlines(
            status -> status.modelId().equals("top") ? Duration.ofSeconds(1) : null);

    FanOutResult result = fleet.callAndWait(FanOut.builder("predict").strategy(budget).build());

    assertOneOutcomeEachOnTime(result, 2, Duration.ofSeconds(1));
    assertThat(statuses(result))
        .containsOnly(Map.entry("top", CallStatus.SUCCESS), Map.entry("other", CallStatus.TIMEOUT));
    assertThat(result.outcome("other").orElseThrow().latencyMicros()).isLessThan(300_000);
  }

  @Test
  void latencyBudgetGivesEachModelAMultipleOfItsOwnLatency() throws Exception {
    FakeTransportProvider.FakeModel fast = define("fast", takes(Duration.ofMillis(5)));
    define("steady", takes(Duration.ofMillis(150)));
    ModelFleet fleet = fleet(b -> b.callTimeout(Duration.ofSeconds(2)), "fast", "steady");
    for (int i = 0; i < 5; i++) {
      fleet.callAndWait(FanOut.of("warm-up"));
    }
    // Now far slower than its own record: beyond three times any warm-up latency but the slowest.
    fast.call = takes(Duration.ofMillis(1000));
    FanOutStrategy budget =
        FanOutStrategy.named("latency-budget", Map.of("factor", "3", "min", "100ms", "max", "2s"));

    FanOutResult result = fleet.callAndWait(FanOut.builder("predict").strategy(budget).build());

    assertThat(statuses(result))
        .containsOnly(
            Map.entry("fast", CallStatus.TIMEOUT), Map.entry("steady", CallStatus.SUCCESS));
    assertThat(result.elapsed())
        .as("bounded by the steady model's budget")
        .isLessThan(Duration.ofMillis(1500));
  }

  @Test
  void everyStrategyKeepsTheInvariantUnderTimeoutsAndFailures() throws Exception {
    define("ok", answering(1, Duration.ZERO));
    define("late", answering(2, Duration.ofSeconds(2)));
    define("hung", silent());
    define("failing", FakeTransportProvider.status(StatusCode.MODEL_FAILED, "x"));
    define("broken", FakeTransportProvider.transportError(TransportException.Kind.INTERNAL));
    String[] names = {"ok", "late", "hung", "failing", "broken"};
    Duration timeout = Duration.ofMillis(200);
    ModelFleet fleet =
        fleet(
            b ->
                b.callTimeout(timeout)
                    .maxConsecutiveFailures(0)
                    .maxConsecutiveTimeouts(0)
                    .timeoutCooldown(false),
            names);
    List<FanOutStrategy> strategies =
        List.of(
            FanOutStrategy.all(),
            FanOutStrategy.quorum(1),
            FanOutStrategy.quorum(5),
            FanOutStrategy.bounded(1),
            FanOutStrategy.bounded(3),
            FanOutStrategy.perModelDeadlines(s -> Duration.ofMillis(100)),
            FanOutStrategy.latencyBudget(2, Duration.ofMillis(50), timeout));
    for (FanOutStrategy strategy : strategies) {
      for (int round = 0; round < 2; round++) {
        FanOutResult result =
            fleet.callAndWait(FanOut.builder("predict").strategy(strategy).build());
        assertThat(result.outcomes()).as("%s", strategy).hasSize(names.length);
        assertThat(result.outcomes().stream().map(CallOutcome::modelId))
            .as("%s", strategy)
            .doesNotHaveDuplicates();
        assertThat(result.elapsed()).as("%s", strategy).isLessThanOrEqualTo(timeout.plus(BOUND));
      }
    }
  }

  @Test
  void anUnknownNameListsTheStrategiesAvailable() {
    assertThatThrownBy(() -> FanOutStrategy.named("fastest", Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'fastest'")
        .hasMessageContaining("[all, bounded, latency-budget, quorum]");
    assertThatThrownBy(() -> FanOutStrategy.named("quorum", Map.of()))
        .hasMessageContaining("needs the option 'successes'");
    assertThatThrownBy(() -> FanOutStrategy.named("bounded", Map.of("maxInFlight", "many")))
        .hasMessageContaining("not a whole number");
    assertThatThrownBy(() -> FanOutStrategy.named("quorum", Map.of("successes", "2", "extra", "1")))
        .hasMessageContaining("no option [extra]");
    assertThatThrownBy(() -> FanOutStrategy.quorum(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> FanOutStrategy.bounded(0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aStrategyInAJarOfItsOwnIsFoundByNameAndUsed(@TempDir Path folder) throws Exception {
    Path jar =
        JavaSources.create(FanOutStrategyProvider.class)
            .add(
                "com.example.fanout.FirstAnswer",
                """
            package com.example.fanout;
            import java.util.Map;
            import org.modelrunner.client.FanOutStrategy;
            import org.modelrunner.client.FanOutStrategyProvider;
            /** Completes on the first outcome, whatever it is. */
            public class FirstAnswer extends FanOutStrategyProvider {
              @Override public String name() { return "first-answer"; }
              @Override public FanOutStrategy create(Map<String, String> options) {
                return (targets, timeout) -> new FanOutStrategy.Plan() {
                  @Override public boolean completeAfter(org.modelrunner.client.CallOutcome outcome) { return true; }
                };
              }
            }
            """)
            .resource(
                "META-INF/services/org.modelrunner.client.FanOutStrategyProvider",
                "com.example.fanout.FirstAnswer\n")
            .jarTo(folder.resolve("first-answer.jar"));
    define("fast", answering(1, Duration.ZERO));
    define("slow", answering(2, Duration.ofSeconds(3)));
    ModelFleet fleet = fleet(b -> b, "fast", "slow");

    Thread thread = Thread.currentThread();
    ClassLoader before = thread.getContextClassLoader();
    try (URLClassLoader loader =
        new URLClassLoader(
            new URL[] {jar.toUri().toURL()}, FanOutStrategy.class.getClassLoader())) {
      thread.setContextClassLoader(loader);
      FanOutStrategy firstAnswer = FanOutStrategy.named("first-answer", Map.of());
      assertThat(firstAnswer.getClass().getClassLoader()).isSameAs(loader);
      FanOutResult result =
          fleet.callAndWait(FanOut.builder("predict").strategy(firstAnswer).build());
      assertThat(statuses(result))
          .containsOnly(
              Map.entry("fast", CallStatus.SUCCESS), Map.entry("slow", CallStatus.CANCELLED));
    } finally {
      thread.setContextClassLoader(before);
    }
  }
}
