package org.modelrunner.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Delayed;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.modelrunner.loader.fixtures.TrackerBase;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.ModelBusyException;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.StatusMessages;
import org.modelrunner.spi.Variant;

/**
 * The runner's rules shared by every transport: serving, the one claim, the call and setup time
 * limits.
 */
class RunnerCoreTest {
  private static final String BASE = TrackerBase.class.getName();

  /** A model whose {@code hold} waits until the test lets it return. */
  public static class Held extends TrackerBase {
    static volatile CountDownLatch entered = new CountDownLatch(1);
    static volatile CountDownLatch exit = new CountDownLatch(1);

    @Override
    public void tick(Object data) {}

    @Override
    public Object predict() {
      return 42L;
    }

    public String hold() throws InterruptedException {
      entered.countDown();
      exit.await();
      return "held";
    }
  }

  /** A model whose constructor waits until the test lets it return. */
  public static class SlowSetup extends TrackerBase {
    static volatile CountDownLatch entered = new CountDownLatch(1);
    static volatile CountDownLatch exit = new CountDownLatch(1);

    public SlowSetup() throws InterruptedException {
      entered.countDown();
      exit.await();
    }

    @Override
    public void tick(Object data) {}

    @Override
    public Object predict() {
      return 7L;
    }
  }

  private HostedModel model;
  private ExecutorService modelThread;

  @BeforeEach
  void setUp() {
    Held.entered = new CountDownLatch(1);
    Held.exit = new CountDownLatch(1);
    SlowSetup.entered = new CountDownLatch(1);
    SlowSetup.exit = new CountDownLatch(1);
    model = HostedModel.forImplementation(Held.class);
    assertThat(model.setup(BASE, Arguments.none()).status().isSuccess()).isTrue();
    modelThread = Executors.newSingleThreadExecutor();
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    Held.exit.countDown();
    SlowSetup.exit.countDown();
    modelThread.shutdownNow();
    assertThat(modelThread.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    model.close();
  }

  @Test
  void oneRequestHoldsTheModelAndTheOthersAreRefusedBusyAtOnce() {
    RunnerCore core = RunnerCore.of(model);
    RunnerCore.Claim first = core.claim();
    assertThat(first.isGranted()).isTrue();
    assertThat(core.isBusy()).isTrue();

    RunnerCore.Claim second = core.claim();
    assertThat(second.isGranted()).isFalse();
    assertThat(second.refusal()).isEqualTo(RunnerCore.Refusal.BUSY);
    assertThat(second.answer()).as("a refusal is answered by the transport, not claimed").isFalse();
    assertThat(core.claim()).as("refusals cost nothing: a shared object").isSameAs(second);

    // The claim is the model's own: a direct user of the hosted model is refused too.
    assertThatThrownBy(() -> model.call("predict", Arguments.none()))
        .isInstanceOf(ModelBusyException.class)
        .hasMessage(StatusMessages.SERVER_BUSY);

    assertThat(first.call("predict", Arguments.none()).value()).contains(Variant.ofLong(42));
    first.release();
    first.release(); // idempotent: must not free a claim someone else took meanwhile
    RunnerCore.Claim third = core.claim();
    assertThat(third.isGranted()).isTrue();
    first.release();
    assertThat(core.claim().refusal())
        .as("a second release of an old claim does not free the model")
        .isEqualTo(RunnerCore.Refusal.BUSY);
    third.release();
    assertThat(model.call("predict", Arguments.none()).value()).contains(Variant.ofLong(42));
  }

  @Test
  void aClaimIsAnsweredExactlyOnce() {
    RunnerCore core = RunnerCore.of(model);
    RunnerCore.Claim claim = core.claim();
    assertThat(claim.isAnswered()).isFalse();
    assertThat(claim.answer()).isTrue();
    assertThat(claim.answer()).isFalse();
    assertThat(claim.isAnswered()).isTrue();
    claim.release();
  }

  @Test
  void stoppingRefusesNewRequestsAndWaitsForTheOneInFlight() throws Exception {
    RunnerCore core = RunnerCore.of(model);
    assertThat(core.health()).isEqualTo(HealthStatus.SERVING);
    RunnerCore.Claim running = core.claim();
    Future<Reply> held = modelThread.submit(() -> running.call("hold", Arguments.none()));
    assertThat(Held.entered.await(10, TimeUnit.SECONDS)).isTrue();

    core.stopServing();
    assertThat(core.state()).isEqualTo(RunnerCore.State.STOPPING);
    assertThat(core.health()).isEqualTo(HealthStatus.NOT_SERVING);
    assertThat(core.claim().refusal()).isEqualTo(RunnerCore.Refusal.NOT_SERVING);
    assertThat(core.awaitIdle(Duration.ZERO)).as("the model runs").isFalse();

    Held.exit.countDown();
    assertThat(held.get(10, TimeUnit.SECONDS).value()).contains(Variant.ofString("held"));
    running.release();
    assertThat(core.awaitIdle(Duration.ZERO)).as("released but not answered yet").isFalse();
    assertThat(running.answer()).isTrue();
    assertThat(core.awaitIdle(Duration.ofSeconds(10))).isTrue();
    core.stopped();
    assertThat(core.state()).isEqualTo(RunnerCore.State.STOPPED);
    assertThat(core.claim().refusal()).isEqualTo(RunnerCore.Refusal.NOT_SERVING);
  }

  @Test
  void aClosedModelIsNotServed() {
    RunnerCore core = RunnerCore.of(model);
    model.close();
    assertThat(core.claim().refusal()).isEqualTo(RunnerCore.Refusal.NOT_SERVING);
  }

  @Test
  void theCallTimeLimitAnswersOnceAndTheModelKeepsTheClaimUntilItReturns() throws Exception {
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    try {
      RunnerCore core =
          RunnerCore.builder(model).callTimeLimit(Duration.ofMillis(1), timer).build();
      assertThat(core.callTimeLimitMessage())
          .isEqualTo(
              "The model did not return within the runner's call time limit of 1 ms; it keeps"
                  + " running and the runner is busy until it returns");
      AtomicInteger limits = new AtomicInteger();
      RunnerCore.Claim claim = core.claim();
      claim.limitTime(limits::incrementAndGet);
      Future<Reply> held = modelThread.submit(() -> claim.call("hold", Arguments.none()));

      await().atMost(Duration.ofSeconds(10)).until(() -> limits.get() == 1);
      assertThat(claim.isAnswered()).isTrue();
      assertThat(claim.answer()).as("the model's late answer is not sent").isFalse();
      assertThat(core.claim().refusal())
          .as("the model still runs: busy")
          .isEqualTo(RunnerCore.Refusal.BUSY);

      Held.exit.countDown();
      held.get(10, TimeUnit.SECONDS);
      claim.release();
      assertThat(core.claim().isGranted()).isTrue();
      assertThat(limits).hasValue(1);
    } finally {
      timer.shutdownNow();
    }
  }

  @Test
  void theSetupTimeLimitAnswersOnceAndTheConstructorKeepsTheClaimUntilItReturns() throws Exception {
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    try (HostedModel slow = HostedModel.forImplementation(SlowSetup.class)) {
      RunnerCore core =
          RunnerCore.builder(slow).setupTimeLimit(Duration.ofMillis(1), timer).build();
      assertThat(core.setupTimeLimit()).isEqualTo(Duration.ofMillis(1));
      assertThat(core.callTimeLimit()).isZero();
      assertThat(core.setupTimeLimitMessage())
          .isEqualTo(core.timeLimitMessage(RunnerCore.TimeLimit.SETUP))
          .isEqualTo(
              "The model's setup (its constructor) did not return within the runner's setup time"
                  + " limit of 1 ms; it keeps running and the runner is busy until it returns");
      AtomicInteger limits = new AtomicInteger();
      RunnerCore.Claim claim = core.claim();
      claim.limitTime(RunnerCore.TimeLimit.SETUP, limits::incrementAndGet);
      Future<Reply> setup = modelThread.submit(() -> claim.setup(BASE, Arguments.none()));

      await().atMost(Duration.ofSeconds(10)).until(() -> limits.get() == 1);
      assertThat(SlowSetup.entered.getCount()).as("the constructor runs").isZero();
      assertThat(claim.isAnswered()).isTrue();
      assertThat(claim.answer()).as("the setup's late answer is not sent").isFalse();
      assertThat(core.claim().refusal())
          .as("the constructor still runs: busy")
          .isEqualTo(RunnerCore.Refusal.BUSY);
      assertThat(core.isBusy()).isTrue();

      SlowSetup.exit.countDown();
      assertThat(setup.get(10, TimeUnit.SECONDS).status().message())
          .isEqualTo(StatusMessages.INSTANCE_CREATED);
      claim.release();
      // The constructor returned late: its instance is kept, as a late call's effects are.
      RunnerCore.Claim next = core.claim();
      assertThat(next.isGranted()).isTrue();
      assertThat(next.setup(BASE, Arguments.none()).status().message())
          .isEqualTo(StatusMessages.INSTANCE_EXISTS);
      next.release();
      assertThat(limits).hasValue(1);
    } finally {
      timer.shutdownNow();
    }
  }

  @Test
  void eachLimitAppliesToItsOwnRequests() {
    ManualTimer timer = new ManualTimer();
    RunnerCore callOnly =
        RunnerCore.builder(model).callTimeLimit(Duration.ofHours(1), timer).build();
    RunnerCore.Claim setup = callOnly.claim();
    setup.limitTime(RunnerCore.TimeLimit.SETUP, () -> {});
    assertThat(timer.tasks).as("no setup time limit").isEmpty();
    setup.release();
    assertThat(setup.answer()).isTrue();

    RunnerCore both =
        RunnerCore.builder(model)
            .callTimeLimit(Duration.ofHours(1), timer)
            .setupTimeLimit(Duration.ofHours(2), timer)
            .clock(() -> 0L)
            .build();
    assertThat(both.timeLimit(RunnerCore.TimeLimit.CALL)).isEqualTo(Duration.ofHours(1));
    assertThat(both.timeLimit(RunnerCore.TimeLimit.SETUP)).isEqualTo(Duration.ofHours(2));
    RunnerCore.Claim call = both.claim();
    call.limitTime(RunnerCore.TimeLimit.CALL, () -> {});
    assertThat(timer.tasks).hasSize(1);
    assertThat(timer.tasks.get(0).getDelay(TimeUnit.MINUTES)).isEqualTo(60L);
    call.release();
    assertThat(call.answer()).isTrue();
  }

  @Test
  void backToBackRequestsUnderALimitArmOneTimerTaskNotOnePerRequest() {
    ManualTimer timer = new ManualTimer();
    AtomicLong now = new AtomicLong();
    AtomicInteger limits = new AtomicInteger();
    RunnerCore core = tenSecondCalls(timer, now).build();
    for (int i = 0; i < 100; i++) {
      RunnerCore.Claim claim = core.claim();
      claim.limitTime(limits::incrementAndGet);
      now.addAndGet(TimeUnit.MILLISECONDS.toNanos(1));
      claim.release();
      assertThat(claim.answer()).isTrue();
    }
    assertThat(timer.tasks).as("one task, armed by the first request").hasSize(1);
    assertThat(timer.tasks.get(0).getDelay(TimeUnit.SECONDS)).isEqualTo(10L);

    now.set(TimeUnit.SECONDS.toNanos(10));
    timer.tasks.get(0).run();
    assertThat(limits).as("every request was answered in time").hasValue(0);
    assertThat(timer.tasks).as("nothing watched: the task lapses").hasSize(1);
  }

  @Test
  void aRequestIsAnsweredAtItsOwnDeadlineWhenAnEarlierOneArmedTheTask() {
    ManualTimer timer = new ManualTimer();
    AtomicLong now = new AtomicLong();
    List<RunnerCore.TimeLimit> reached = new ArrayList<>();
    RunnerCore core =
        tenSecondCalls(timer, now)
            .observer(
                new RunnerCore.Observer() {
                  @Override
                  public void timeLimitReached(RunnerCore.TimeLimit limit) {
                    reached.add(limit);
                  }
                })
            .build();
    answeredAtOnce(core); // arms the timer's task, due at 10 s

    now.set(TimeUnit.SECONDS.toNanos(4));
    AtomicInteger limits = new AtomicInteger();
    RunnerCore.Claim slow = core.claim();
    slow.limitTime(limits::incrementAndGet);
    assertThat(timer.tasks).as("the armed task is due first").hasSize(1);

    now.set(TimeUnit.SECONDS.toNanos(10));
    timer.tasks.get(0).run();
    assertThat(limits).as("not due before its own 10 s").hasValue(0);
    assertThat(slow.isAnswered()).isFalse();
    assertThat(timer.tasks).hasSize(2);
    assertThat(timer.tasks.get(1).getDelay(TimeUnit.SECONDS)).isEqualTo(4L);

    now.set(TimeUnit.SECONDS.toNanos(14));
    timer.tasks.get(1).run();
    assertThat(limits).hasValue(1);
    assertThat(reached).containsExactly(RunnerCore.TimeLimit.CALL);
    assertThat(slow.answer()).as("the model's late answer is not sent").isFalse();
    assertThat(core.claim().refusal())
        .as("the model still runs until it returns")
        .isEqualTo(RunnerCore.Refusal.BUSY);
    slow.release();
    assertThat(timer.tasks).as("nothing left to watch").hasSize(2);
  }

  @Test
  void aShorterLimitReplacesALongerArmedTask() {
    ManualTimer timer = new ManualTimer();
    AtomicLong now = new AtomicLong();
    RunnerCore core =
        RunnerCore.builder(model)
            .callTimeLimit(Duration.ofSeconds(10), timer)
            .setupTimeLimit(Duration.ofMinutes(5), timer)
            .clock(now::get)
            .build();
    RunnerCore.Claim setup = core.claim();
    setup.limitTime(RunnerCore.TimeLimit.SETUP, () -> {});
    setup.release();
    setup.answer();

    now.set(TimeUnit.SECONDS.toNanos(1));
    AtomicInteger limits = new AtomicInteger();
    RunnerCore.Claim call = core.claim();
    call.limitTime(RunnerCore.TimeLimit.CALL, limits::incrementAndGet);
    assertThat(timer.tasks).hasSize(2);
    assertThat(timer.tasks.get(0).isCancelled()).as("the setup's 5 min task").isTrue();
    assertThat(timer.tasks.get(1).getDelay(TimeUnit.SECONDS)).isEqualTo(10L);

    now.set(TimeUnit.SECONDS.toNanos(11));
    timer.tasks.get(1).run();
    assertThat(limits).hasValue(1);
    assertThat(call.isAnswered()).isTrue();
    call.release();
  }

  @Test
  void anAnswerBeforeTheLimitEndsIt() throws Exception {
    ScheduledThreadPoolExecutor pool = new ScheduledThreadPoolExecutor(1);
    try {
      AtomicInteger limits = new AtomicInteger();
      RunnerCore core =
          RunnerCore.builder(model).callTimeLimit(Duration.ofMillis(50), pool).build();
      RunnerCore.Claim claim = core.claim();
      claim.limitTime(limits::incrementAndGet);
      assertThat(pool.getQueue()).hasSize(1);
      claim.release();
      assertThat(claim.answer()).isTrue();

      await().atMost(Duration.ofSeconds(10)).until(() -> pool.getCompletedTaskCount() == 1);
      assertThat(limits).hasValue(0);
      assertThat(pool.getQueue()).as("the task lapsed").isEmpty();
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aRequestAnsweredBeforeItsLimitIsSetIsNotWatched() {
    ManualTimer timer = new ManualTimer();
    AtomicLong now = new AtomicLong();
    RunnerCore core = tenSecondCalls(timer, now).build();
    answeredAtOnce(core); // arms the timer's task, due at 10 s

    now.set(TimeUnit.SECONDS.toNanos(4));
    AtomicInteger limits = new AtomicInteger();
    RunnerCore.Claim answeredFirst = core.claim();
    answeredFirst.release();
    assertThat(answeredFirst.answer()).isTrue();
    answeredFirst.limitTime(limits::incrementAndGet); // its deadline: 14 s

    now.set(TimeUnit.SECONDS.toNanos(10));
    timer.tasks.get(0).run();
    assertThat(timer.tasks)
        .as("nothing watched: the task lapses rather than re-arming for the answered request")
        .hasSize(1);
    assertThat(limits).hasValue(0);
  }

  @Test
  void aStoppedTimerLeavesRequestsWithoutALimit() {
    ManualTimer timer = new ManualTimer();
    RunnerCore core = RunnerCore.builder(model).callTimeLimit(Duration.ofSeconds(1), timer).build();
    timer.shutdown();
    RunnerCore.Claim claim = core.claim();
    claim.limitTime(() -> {});
    assertThat(timer.tasks).isEmpty();
    claim.release();
    assertThat(claim.answer()).isTrue();
  }

  /**
   * A timer whose tasks run when a test runs them: it keeps what it is given, in order, with its
   * delay.
   */
  /** A core whose calls have a 10 s time limit, on {@code timer}, with {@code now} as its clock. */
  private RunnerCore.Builder tenSecondCalls(ManualTimer timer, AtomicLong now) {
    return RunnerCore.builder(model).callTimeLimit(Duration.ofSeconds(10), timer).clock(now::get);
  }

  /** Runs one request under the limit that is answered at once. */
  private static void answeredAtOnce(RunnerCore core) {
    RunnerCore.Claim claim = core.claim();
    claim.limitTime(() -> {});
    claim.release();
    assertThat(claim.answer()).isTrue();
  }

  private static final class ManualTimer extends ScheduledThreadPoolExecutor {
    final List<Task> tasks = new ArrayList<>();

    ManualTimer() {
      super(1);
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
      if (isShutdown()) {
        throw new RejectedExecutionException("shut down");
      }
      Task task = new Task(command, unit.toNanos(delay));
      tasks.add(task);
      return task;
    }
  }

  /** A task of a {@link ManualTimer}: runs once, when the test runs it, unless cancelled. */
  private static final class Task extends FutureTask<Void> implements ScheduledFuture<Void> {
    private final long delayNanos;

    Task(Runnable action, long delayNanos) {
      super(action, null);
      this.delayNanos = delayNanos;
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(delayNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed other) {
      return Long.compare(delayNanos, other.getDelay(TimeUnit.NANOSECONDS));
    }
  }

  @Test
  void describesDurationsForHumans() {
    assertThat(RunnerCore.describe(250_000_000L)).isEqualTo("250 ms");
    assertThat(RunnerCore.describe(2_500_000_000L)).isEqualTo("2.5 s");
    assertThat(RunnerCore.describe(10_000_000_000L)).isEqualTo("10 s");
    assertThat(RunnerCore.describe(90_000_000_000L)).isEqualTo("90 s");
    assertThat(RunnerCore.describe(Duration.ofMinutes(5).toNanos())).isEqualTo("5 min");
    assertThatThrownBy(
            () -> RunnerCore.builder(model).callTimeLimit(Duration.ofSeconds(-1), null).build())
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () -> RunnerCore.builder(model).setupTimeLimit(Duration.ofSeconds(-1), null).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("setup time limit");
    assertThatThrownBy(() -> RunnerCore.builder(model).setupTimeLimit(Duration.ofSeconds(1), null))
        .isInstanceOf(NullPointerException.class);
  }
}
