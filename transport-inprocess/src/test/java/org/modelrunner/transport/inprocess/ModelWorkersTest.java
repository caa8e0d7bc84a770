package org.modelrunner.transport.inprocess;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The worker pool's hand-off, driven by hand (no watcher thread, time given explicitly). */
class ModelWorkersTest {
  private final ModelWorkers workers = new ModelWorkers(false, ModelWorkers::processorTime);
  private final CountDownLatch release = new CountDownLatch(1);

  @AfterEach
  void tearDown() throws InterruptedException {
    release.countDown();
    freeOne.countDown();
    workers.shutdownNow();
    assertThat(workers.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void aWorkerWaitingInModelCodeIsHandedOffAtTheSecondLookAndComesBackWhenItReturns()
      throws Exception {
    occupyWorkers(ModelWorkers.BASE_WORKERS, true);
    long later = System.nanoTime() + ModelWorkers.HAND_OFF_NANOS + 1;
    CountDownLatch queued = new CountDownLatch(1);
    workers.execute(queued::countDown);

    assertThat(workers.handOffLongRunning(later)).as("waiting in model code: suspect").isTrue();
    assertThat(workers.handedOffWorkers()).as("seen waiting once only").isZero();
    assertThat(queued.getCount()).as("the queued request still waits").isOne();

    workers.handOffLongRunning(later);
    assertThat(workers.handedOffWorkers()).isEqualTo(ModelWorkers.BASE_WORKERS);
    assertThat(queued.await(10, TimeUnit.SECONDS))
        .as("a new worker took the queued request")
        .isTrue();
    assertThat(workers.getCorePoolSize()).isEqualTo(2 * ModelWorkers.BASE_WORKERS);
    workers.handOffLongRunning(later);
    assertThat(workers.handedOffWorkers())
        .as("a worker is handed off once")
        .isEqualTo(ModelWorkers.BASE_WORKERS);

    release.countDown();
    Awaitility.await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              assertThat(workers.handedOffWorkers()).isZero();
              assertThat(workers.getCorePoolSize()).isEqualTo(ModelWorkers.BASE_WORKERS);
              assertThat(workers.liveWorkers()).isLessThanOrEqualTo(ModelWorkers.BASE_WORKERS);
            });
  }

  @Test
  void noRequestIsLeftWaitingWhileTheWorkersSleep() throws Exception {
    // Rounds of a few requests from two senders at once, each round awaited before the next: the
    // last request of a round has no later one to wake a worker for it, and the workers go to
    // sleep and wake up again around every round.
    ExecutorService senders = Executors.newFixedThreadPool(2);
    try {
      for (int round = 0; round < 3_000; round++) {
        int each = 1 + round % 8;
        CountDownLatch done = new CountDownLatch(2 * each);
        for (int sender = 0; sender < 2; sender++) {
          senders.execute(
              () -> {
                for (int i = 0; i < each; i++) {
                  workers.execute(done::countDown);
                }
              });
        }
        assertThat(done.await(10, TimeUnit.SECONDS))
            .as("every request of round %d ran", round)
            .isTrue();
      }
    } finally {
      senders.shutdownNow();
    }
  }

  @Test
  void thePoolIsBackToItsBaseSizeOnceHandedOffWorkersReturnEvenWhileRequestsKeepComing()
      throws Exception {
    long later = occupyWorkers(ModelWorkers.BASE_WORKERS, true) + ModelWorkers.HAND_OFF_NANOS + 1;
    workers.execute(() -> {});
    workers.handOffLongRunning(later);
    workers.handOffLongRunning(later);
    assertThat(workers.handedOffWorkers()).isEqualTo(ModelWorkers.BASE_WORKERS);
    // One request at a time, for as long as the test runs: every idle worker keeps getting its
    // turn, so a thread that ended only once idle for a while would never end.
    AtomicBoolean feeding = new AtomicBoolean(true);
    Runnable request =
        new Runnable() {
          @Override
          public void run() {
            if (feeding.get()) {
              workers.execute(this);
            }
          }
        };
    workers.execute(request);
    try {
      release.countDown();
      Awaitility.await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () -> {
                assertThat(workers.handedOffWorkers()).isZero();
                assertThat(workers.liveWorkers()).isEqualTo(ModelWorkers.BASE_WORKERS);
              });
    } finally {
      feeding.set(false);
    }
  }

  @Test
  void aWorkerIsHandedOffOnlyPastItsHandOffTime() throws Exception {
    long since = occupyWorkers(1, true);
    workers.handOffLongRunning(since + ModelWorkers.HAND_OFF_NANOS);
    workers.handOffLongRunning(since + ModelWorkers.HAND_OFF_NANOS);
    assertThat(workers.handedOffWorkers()).as("not past the hand-off time").isZero();
    workers.handOffLongRunning(since + ModelWorkers.HAND_OFF_NANOS + 1);
    assertThat(workers.handedOffWorkers()).isOne();
  }

  @Test
  void aWorkerWaitingOutsideModelCodeIsHandedOffOnlyAfterTheLongerTime() throws Exception {
    long since = occupyWorkers(1, false);
    long pastShort = since + ModelWorkers.HAND_OFF_NANOS + 1;
    assertThat(workers.handOffLongRunning(pastShort))
        .as("waiting outside model code: not suspect")
        .isFalse();
    workers.handOffLongRunning(pastShort);
    assertThat(workers.handedOffWorkers()).isZero();

    workers.handOffLongRunning(since + ModelWorkers.HAND_OFF_RUNNING_NANOS + 1);
    assertThat(workers.handedOffWorkers()).isOne();
  }

  @Test
  void aRunningWorkerIsHandedOffOnlyWhenItUsesAProcessor() throws Exception {
    AtomicLong cpu = new AtomicLong();
    ModelWorkers running = new ModelWorkers(false, thread -> cpu.get());
    AtomicBoolean spin = new AtomicBoolean(true);
    try {
      CountDownLatch started = new CountDownLatch(1);
      running.execute(
          () -> {
            started.countDown();
            while (spin.get()) {
              Thread.onSpinWait();
            }
          });
      assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
      long past = System.nanoTime() + ModelWorkers.HAND_OFF_RUNNING_NANOS + 1;

      assertThat(running.handOffLongRunning(past)).as("running long: suspect").isTrue();
      assertThat(running.handedOffWorkers()).as("first look: its processor time sampled").isZero();
      cpu.addAndGet(ModelWorkers.RUNNING_PROOF_NANOS - 1);
      running.handOffLongRunning(past);
      assertThat(running.handedOffWorkers())
          .as("it waited for a processor more than it ran: another thread would not help")
          .isZero();

      cpu.addAndGet(1);
      running.handOffLongRunning(past);
      assertThat(running.handedOffWorkers()).isOne();
    } finally {
      spin.set(false);
      running.shutdownNow();
      assertThat(running.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void aWorkerTakesSomeOfTheRequestsWaitingAndTheWatcherGivesBackThoseBehindAHungOne()
      throws Exception {
    CountDownLatch quick = new CountDownLatch(6);
    List<Runnable> requests = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      requests.add(quick::countDown);
    }
    long later = giveBackBehindAHungRequest(requests);
    assertThat(quick.getCount()).as("none ran: every worker is held").isEqualTo(6);
    workers.handOffLongRunning(later);
    assertThat(quick.await(10, TimeUnit.SECONDS))
        .as("every quick request ran, on the workers that replaced the hung ones")
        .isTrue();
  }

  @Test
  void requestsGivenBackFromABatchGoAheadOfThoseQueued() throws Exception {
    List<Runnable> requests = distinctRequests(6);
    giveBackBehindAHungRequest(requests);

    List<Runnable> order = new ArrayList<>();
    for (Runnable request = workers.getQueue().poll();
        request != null;
        request = workers.getQueue().poll()) {
      order.add(request);
    }
    assertThat(order).as("the three of the batch first, then the three queued").isEqualTo(requests);
  }

  @Test
  void aPoolThatStopsReturnsTheRequestsGivenBackAndThoseQueuedInTheirOrder() throws Exception {
    List<Runnable> requests = distinctRequests(6);
    giveBackBehindAHungRequest(requests);

    assertThat(workers.shutdownNow()).isEqualTo(requests);
  }

  @Test
  void aQueuedRequestCanBeRemovedAndTheOthersStayQueuedInTheirOrder() throws Exception {
    occupyAllButOne(); // and the last one waits until freed: every worker is busy
    List<Runnable> requests = distinctRequests(5);
    requests.forEach(workers::execute);

    assertThat(workers.remove(requests.get(2))).isTrue();
    assertThat(workers.remove(requests.get(2))).as("removed already").isFalse();
    List<Runnable> left = new ArrayList<>(requests);
    left.remove(2);
    assertThat(workers.getQueue()).as("walked in their order").containsExactlyElementsOf(left);
    assertThat(workers.getQueue()).hasSize(4);
    assertThat(workers.shutdownNow()).isEqualTo(left);
  }

  /**
   * Has the one free worker take a request that hangs (in model code) and half of {@code requests}
   * queued behind it, then looks once past the hand-off time: the requests of its batch not started
   * are given back. Returns that time, for the look that hands the workers off.
   */
  private long giveBackBehindAHungRequest(List<Runnable> requests) throws InterruptedException {
    int others = occupyAllButOne();
    CountDownLatch hangs = new CountDownLatch(1);
    workers.execute(waitingForRelease(hangs, true));
    requests.forEach(workers::execute);
    freeOne.countDown();
    assertThat(hangs.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(workers.getQueue())
        .as("the free worker took the hung request and half of those behind it")
        .hasSize(requests.size() - requests.size() / 2);

    awaitWaiting(others + 1);
    long later = workers.latestBusySince() + ModelWorkers.HAND_OFF_NANOS + 1;
    workers.handOffLongRunning(later);
    assertThat(workers.getQueue())
        .as("those of its batch not started, queued again")
        .hasSize(requests.size());
    return later;
  }

  /** Returns {@code count} requests that do nothing, each an object of its own. */
  private static List<Runnable> distinctRequests(int count) {
    List<Runnable> requests = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String name = "request " + i; // a lambda capturing nothing would be one shared object
      requests.add(name::length);
    }
    return requests;
  }

  @Test
  void anInterruptLeftByOneRequestOfABatchIsClearedBeforeTheNext() throws Exception {
    occupyAllButOne();
    List<Boolean> interrupted = Collections.synchronizedList(new ArrayList<>());
    CountDownLatch ran = new CountDownLatch(6);
    workers.execute(() -> Thread.currentThread().interrupt());
    for (int i = 0; i < 6; i++) {
      workers.execute(
          () -> {
            interrupted.add(Thread.currentThread().isInterrupted());
            ran.countDown();
          });
    }
    freeOne.countDown(); // the free worker takes the first request and three more, then the rest
    assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(interrupted).containsOnly(false);
  }

  @Test
  void theRequestsBehindOneThatFailsInABatchAreGivenBack() throws Exception {
    occupyAllButOne();
    CountDownLatch quick = new CountDownLatch(6);
    workers.execute(
        () -> {
          throw new IllegalStateException("a failing request");
        });
    for (int i = 0; i < 6; i++) {
      workers.execute(quick::countDown);
    }
    freeOne.countDown();
    assertThat(quick.await(10, TimeUnit.SECONDS)).isTrue();
  }

  private final CountDownLatch freeOne = new CountDownLatch(1);

  /**
   * Occupies every worker: one until {@link #freeOne} opens, the others (returned: how many) until
   * {@link #release} opens.
   */
  private int occupyAllButOne() throws InterruptedException {
    int others = ModelWorkers.BASE_WORKERS - 1;
    CountDownLatch running = new CountDownLatch(ModelWorkers.BASE_WORKERS);
    workers.execute(
        () -> {
          running.countDown();
          try {
            freeOne.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    for (int i = 0; i < others; i++) {
      workers.execute(waitingForRelease(running, true));
    }
    assertThat(running.await(10, TimeUnit.SECONDS)).isTrue();
    return others;
  }

  /** Waits until {@code count} workers wait. */
  private void awaitWaiting(int count) {
    Awaitility.await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                workers.workerStates().stream().filter(s -> s == Thread.State.WAITING).count()
                    >= count);
  }

  /**
   * Starts {@code count} requests that wait for {@link #release}, in model code or not, and waits
   * until that many workers wait; returns when the last of them started its request (at the
   * latest).
   */
  private long occupyWorkers(int count, boolean inModel) throws InterruptedException {
    CountDownLatch running = new CountDownLatch(count);
    for (int i = 0; i < count; i++) {
      workers.execute(waitingForRelease(running, inModel));
    }
    assertThat(running.await(10, TimeUnit.SECONDS)).isTrue();
    awaitWaiting(count); // the looks must see them waiting, not on their way to the latch
    return workers.latestBusySince();
  }

  /**
   * Returns a request that counts {@code started} down and waits for {@link #release}, in model
   * code or not.
   */
  private Runnable waitingForRelease(CountDownLatch started, boolean inModel) {
    return () -> {
      ModelWorkers.inModel(inModel);
      started.countDown();
      awaitRelease();
      ModelWorkers.inModel(false);
    };
  }

  private void awaitRelease() {
    try {
      release.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
