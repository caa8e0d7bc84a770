package org.modelrunner.transport.inprocess;

import static org.assertj.core.api.Assertions.assertThat;
import static org.modelrunner.transport.inprocess.TestModels.TIMEOUT;
import static org.modelrunner.transport.inprocess.TestModels.await;
import static org.modelrunner.transport.inprocess.TestModels.call;
import static org.modelrunner.transport.inprocess.TestModels.failure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.CallProgress;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.ModelBusyException;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.Variant;
import org.modelrunner.transport.inprocess.fixtures.ClassPathTracker;
import org.modelrunner.transport.inprocess.fixtures.Gates;

/**
 * Threads, the busy rule and deadlines: model code runs on the transport's workers, one request at
 * a time per model, and a slow or hung model never holds up another.
 */
@ExtendWith(TestModels.NoLeaks.class)
class ConcurrencyTest {
  private static final Duration SHORT = Duration.ofMillis(200);

  /** Retries {@code echo} until the model is no longer busy; fails after 10 s. */
  private static Reply echoWhenFree(ModelTransport transport, ModelConnection connection)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (true) {
      CompletableFuture<Reply> echo = call(transport, connection, "echo", Variant.ofString("free"));
      try {
        return echo.get(TestModels.WAIT_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        assertThat(e.getCause()).isInstanceOf(TransportException.class);
        assertThat(((TransportException) e.getCause()).kind())
            .isEqualTo(TransportException.Kind.BUSY);
      } catch (Exception e) {
        throw new AssertionError(e);
      }
      assertThat(System.nanoTime()).as("still busy after 10 s").isLessThan(deadline);
      Thread.sleep(2);
    }
  }

  @Test
  void modelCodeNeverRunsOnTheCallersThread() {
    try (InProcessRunner runner = InProcessModels.register("threads", TestModels.submission());
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      String caller = Thread.currentThread().getName();
      for (int i = 0; i < 5; i++) {
        String worker =
            await(call(transport, connection, "threadName")).value().orElseThrow().asString();
        assertThat(worker).isNotEqualTo(caller).matches("modelrunner-inproc-\\d+");
      }
    }
  }

  @Test
  void aRequestWhileTheModelRunsAnotherIsBusyAndTheModelIsFreeOnceItReturns() throws Exception {
    String gate = "busy-" + System.nanoTime();
    try (InProcessRunner runner = InProcessModels.register("busy", TestModels.submission());
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint());
        ModelConnection other = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      CompletableFuture<Reply> held = call(transport, connection, "hold", Variant.ofString(gate));
      assertThat(Gates.awaitEntered(gate, 1)).isTrue();

      for (CompletableFuture<Reply> overlapping :
          List.of(
              call(transport, other, "echo", Variant.ofString("x")),
              other.setup(TestModels.BASE, Arguments.none(), TIMEOUT),
              other.reset(TIMEOUT))) {
        TransportException busy = failure(overlapping);
        assertThat(busy.kind()).isEqualTo(TransportException.Kind.BUSY);
        assertThat(busy).hasMessage(ModelBusyException.MESSAGE);
      }
      assertThat(await(other.checkHealth(TIMEOUT))).isEqualTo(HealthStatus.SERVING);

      Gates.open(gate);
      assertThat(await(held)).isEqualTo(Reply.success(Variant.ofString("released")));
      // The claim is released before the caller is answered: the next request is never busy.
      assertThat(await(call(transport, other, "echo", Variant.ofString("x"))))
          .isEqualTo(Reply.success(Variant.ofString("x")));
    } finally {
      Gates.open(gate);
    }
  }

  @Test
  void aSlowModelTimesOutWhileAnotherOnTheSameTransportAnswersPromptly() throws Exception {
    String gate = "slow-" + System.nanoTime();
    try (InProcessRunner slow = InProcessModels.register("slow", TestModels.submission());
        InProcessRunner fast = InProcessModels.register("fast", TestModels.submission());
        ModelTransport transport = TestModels.transport();
        ModelConnection toSlow = transport.connect(slow.endpoint());
        ModelConnection toFast = transport.connect(fast.endpoint())) {
      TestModels.setUp(toSlow);
      TestModels.setUp(toFast);

      long start = System.nanoTime();
      CompletableFuture<Reply> held =
          call(transport, toSlow, "hold", SHORT, Variant.ofString(gate));
      assertThat(Gates.awaitEntered(gate, 1)).isTrue();
      Reply prompt = await(call(transport, toFast, "echo", Variant.ofString("prompt")));
      assertThat(prompt).isEqualTo(Reply.success(Variant.ofString("prompt")));
      assertThat(held).as("the fast answer did not wait for the slow one").isNotDone();

      TransportException timedOut = failure(held);
      long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
      assertThat(timedOut.kind()).isEqualTo(TransportException.Kind.DEADLINE_EXCEEDED);
      assertThat(timedOut).hasMessageContaining("inproc://slow");
      assertThat(elapsedMillis).isBetween(SHORT.toMillis(), 5_000L);

      // The model's call goes on after the deadline: the model is busy until it returns.
      assertThat(await(toSlow.checkHealth(TIMEOUT))).isEqualTo(HealthStatus.SERVING);
      assertThat(failure(call(transport, toSlow, "echo", Variant.ofString("x"))).kind())
          .isEqualTo(TransportException.Kind.BUSY);
      Gates.open(gate);
      assertThat(echoWhenFree(transport, toSlow))
          .isEqualTo(Reply.success(Variant.ofString("free")));
    } finally {
      Gates.open(gate);
    }
  }

  /**
   * A request whose deadline passes while it waits for a worker never reaches its model, and says
   * so ({@link CallProgress}): its timeout is the coordinator's delay; one the model was running
   * says it reached it.
   */
  @Test
  void aRequestThatWaitedForAWorkerPastItsDeadlineNeverReachesTheModelAndSaysSo() throws Exception {
    String gate = "waited-" + System.nanoTime();
    try (InProcessRunner runner = InProcessModels.register("waited", TestModels.submission());
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);

      // Due a nanosecond after it is sent: before any worker can take it (the clock moves on).
      CompletableFuture<Reply> waited =
          call(transport, connection, "hold", Duration.ofNanos(1), Variant.ofString(gate));
      assertThat(failure(waited).kind()).isEqualTo(TransportException.Kind.DEADLINE_EXCEEDED);
      assertThat(waited).isInstanceOf(CallProgress.class);
      assertThat(((CallProgress) waited).waitsInCoordinator())
          .as("it waited for a worker until its deadline")
          .isTrue();
      assertThat(echoWhenFree(transport, connection))
          .isEqualTo(Reply.success(Variant.ofString("free")));
      assertThat(Gates.entered(gate)).as("the model never ran it").isZero();

      // Its model is free by the time its caller hears of the timeout: a next request sent from
      // the callback (as a fleet sends it) finds the model free, not BUSY.
      for (int i = 0; i < 500; i++) {
        CompletableFuture<CompletableFuture<Reply>> next = new CompletableFuture<>();
        call(transport, connection, "hold", Duration.ofNanos(1), Variant.ofString(gate))
            .whenComplete(
                (reply, error) ->
                    next.complete(call(transport, connection, "echo", Variant.ofString("next"))));
        assertThat(await(await(next))).isEqualTo(Reply.success(Variant.ofString("next")));
      }
      assertThat(Gates.entered(gate)).as("the model never ran them").isZero();

      CompletableFuture<Reply> held =
          call(transport, connection, "hold", SHORT, Variant.ofString(gate));
      assertThat(Gates.awaitEntered(gate, 1)).isTrue();
      assertThat(failure(held).kind()).isEqualTo(TransportException.Kind.DEADLINE_EXCEEDED);
      assertThat(((CallProgress) held).waitsInCoordinator())
          .as("the model was running it at its deadline")
          .isFalse();
    } finally {
      Gates.open(gate);
    }
  }

  @Test
  void aRequestDueBeforeTheRequestsBeforeItExpiresAtItsOwnDeadline() throws Exception {
    String gate = "earlier-" + System.nanoTime();
    try (InProcessRunner runner = InProcessModels.register("earlier", TestModels.submission());
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection); // due in 10 s: the connection's timer entry is due then

      assertAHeldCallExpiresAtItsDeadline(transport, connection, gate, SHORT);
    } finally {
      Gates.open(gate);
    }
  }

  @Test
  void aRequestDueAfterAnEarlierOneThatAnsweredExpiresAtItsDeadlineAndNotBefore() throws Exception {
    String gate = "later-" + System.nanoTime();
    Duration later = Duration.ofMillis(700);
    try (InProcessRunner runner = InProcessModels.register("later", TestModels.submission());
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      // Answered at once, but its deadline (the connection's earliest) fires while the next waits.
      assertThat(await(call(transport, connection, "echo", SHORT, Variant.ofString("x"))))
          .isEqualTo(Reply.success(Variant.ofString("x")));

      assertAHeldCallExpiresAtItsDeadline(transport, connection, gate, later);
    } finally {
      Gates.open(gate);
    }
  }

  /**
   * Calls a model that holds the call open until {@code gate} opens, with {@code timeout}, and
   * checks that the call fails {@code DEADLINE_EXCEEDED} once the timeout has passed, within 5 s.
   */
  private static void assertAHeldCallExpiresAtItsDeadline(
      ModelTransport transport, ModelConnection connection, String gate, Duration timeout) {
    long start = System.nanoTime();
    TransportException timedOut =
        failure(call(transport, connection, "hold", timeout, Variant.ofString(gate)));
    long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
    assertThat(timedOut.kind()).isEqualTo(TransportException.Kind.DEADLINE_EXCEEDED);
    assertThat(elapsedMillis).isBetween(timeout.toMillis(), 5_000L);
  }

  @Test
  void requestsThatAnsweredLeaveNothingOnTheTimerUntilTheirDeadlines() {
    try (InProcessRunner runner = InProcessModels.register("answered", TestModels.submission());
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      for (int i = 0; i < 1_000; i++) {
        assertThat(await(call(transport, connection, "echo", Variant.ofString("x"))))
            .isEqualTo(Reply.success(Variant.ofString("x")));
      }
      // One entry (the setup's), however many calls answered after it: not one per call, each
      // waiting on the timer for its 10 s.
      assertThat(((InProcessConnection) connection).pendingDeadlineEntries()).isEqualTo(1);
    }
  }

  @Test
  void aZeroOrNegativeTimeoutExpiresAtOnce() {
    try (InProcessRunner runner = InProcessModels.register("no-time", TestModels.submission());
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      assertThat(failure(connection.reset(Duration.ZERO)).kind())
          .isEqualTo(TransportException.Kind.DEADLINE_EXCEEDED);
      assertThat(failure(connection.reset(Duration.ofSeconds(-1))).kind())
          .isEqualTo(TransportException.Kind.DEADLINE_EXCEEDED);
      assertThat(((InProcessConnection) connection).pendingDeadlineEntries())
          .as("requests expired at once leave nothing on the timer")
          .isZero();
      TestModels.setUp(connection); // the model saw none of them
    }
  }

  @Test
  void healthIsServingWhileACallHangs() throws Exception {
    String gate = "health-" + System.nanoTime();
    try (InProcessRunner runner = InProcessModels.register("health", TestModels.submission());
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint());
        ModelConnection health = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      CompletableFuture<Reply> held = call(transport, connection, "hold", Variant.ofString(gate));
      assertThat(Gates.awaitEntered(gate, 1)).isTrue();
      assertThat(await(health.checkHealth(TIMEOUT))).isEqualTo(HealthStatus.SERVING);
      assertThat(await(connection.checkHealth(TIMEOUT))).isEqualTo(HealthStatus.SERVING);
      Gates.open(gate);
      assertThat(await(held).status().isSuccess()).isTrue();
    } finally {
      Gates.open(gate);
    }
  }

  /**
   * More models hang than there are workers: the watcher hands off the workers they hold, so
   * another model still answers within a deadline far shorter than a second (the hand-off takes
   * about a millisecond), and the threads are the base workers plus one per hung call.
   */
  @Test
  void hungModelsBeyondTheWorkerCountDoNotBlockAnotherModel() throws Exception {
    String gate = "hand-off-" + System.nanoTime();
    int hung = Math.max(4, ModelWorkers.BASE_WORKERS + 2);
    List<InProcessRunner> runners = new ArrayList<>();
    try (ModelTransport transport = TestModels.transport()) {
      List<ModelConnection> connections = new ArrayList<>();
      for (int i = 0; i < hung; i++) {
        InProcessRunner runner = InProcessModels.register("hung-" + i, ClassPathTracker.class);
        runners.add(runner);
        connections.add(transport.connect(runner.endpoint()));
        TestModels.setUp(connections.get(i));
      }
      InProcessRunner free = InProcessModels.register("not-hung", ClassPathTracker.class);
      runners.add(free);
      ModelConnection toFree = transport.connect(free.endpoint());
      TestModels.setUp(toFree);
      List<CompletableFuture<Reply>> held = new ArrayList<>();
      for (ModelConnection connection : connections) {
        held.add(
            call(transport, connection, "hold", Duration.ofSeconds(30), Variant.ofString(gate)));
      }
      // Sent right behind the hung calls: it waits for a worker they hold, until they are handed
      // off.
      Reply echo =
          await(call(transport, toFree, "echo", Duration.ofMillis(300), Variant.ofString("alive")));
      assertThat(echo).isEqualTo(Reply.success(Variant.ofString("alive")));
      assertThat(Gates.awaitEntered(gate, hung))
          .as("every hung model runs on its own thread")
          .isTrue();
      assertThat(held).allMatch(future -> !future.isDone());

      ModelWorkers workers = SharedResources.peek().workers;
      assertThat(workers.handedOffWorkers())
          .as("handed-off workers: only while requests waited behind them")
          .isBetween(hung - ModelWorkers.BASE_WORKERS, hung);
      assertThat(workers.liveWorkers())
          .as("threads: the base workers plus one per hung call")
          .isLessThanOrEqualTo(ModelWorkers.BASE_WORKERS + hung);
      Gates.open(gate);
      for (CompletableFuture<Reply> future : held) {
        assertThat(await(future)).isEqualTo(Reply.success(Variant.ofString("released")));
      }
      // Once the hung calls return, the pool shrinks to its base size.
      Awaitility.await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () -> {
                assertThat(workers.handedOffWorkers()).isZero();
                assertThat(workers.getCorePoolSize()).isEqualTo(ModelWorkers.BASE_WORKERS);
                assertThat(workers.liveWorkers()).isLessThanOrEqualTo(ModelWorkers.BASE_WORKERS);
              });
    } finally {
      Gates.open(gate);
      runners.forEach(InProcessRunner::close);
    }
  }
}
