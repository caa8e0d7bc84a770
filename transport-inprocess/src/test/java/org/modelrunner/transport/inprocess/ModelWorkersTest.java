package org.modelrunner.transport.inprocess;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The worker pool's hand-off, driven by hand (no watcher thread, time given explicitly). */
class ModelWorkersTest {
  private final ModelWorkers workers = new ModelWorkers(false);
  private final CountDownLatch release = new CountDownLatch(1);

  @AfterEach
  void tearDown() throws InterruptedException {
    release.countDown();
    workers.shutdownNow();
    assertThat(workers.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void aWorkerInOneRequestPastTheHandOffTimeIsReplacedAndComesBackWhenItReturns() throws Exception {
    long before = System.nanoTime();
    CountDownLatch running = new CountDownLatch(ModelWorkers.BASE_WORKERS);
    for (int i = 0; i < ModelWorkers.BASE_WORKERS; i++) {
      workers.execute(
          () -> {
            running.countDown();
            awaitRelease();
          });
    }
    assertThat(running.await(10, TimeUnit.SECONDS)).isTrue();
    // A time when every base worker has been in its request for longer than either hand-off time
    // (it may not be parked yet), and a worker that starts later has not.
    long later = System.nanoTime() + ModelWorkers.HAND_OFF_RUNNING_NANOS + 1;
    CountDownLatch queued = new CountDownLatch(1);
    workers.execute(queued::countDown);

    workers.handOffLongRunning(before + ModelWorkers.HAND_OFF_NANOS);
    assertThat(workers.handedOffWorkers())
        .as("no worker has been in its request for the hand-off time yet")
        .isZero();
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
  void aWorkerWhoseModelCodeRunsOrWaitsForAProcessorIsHandedOffOnlyAfterTheLongerTime() {
    assertThat(ModelWorkers.handOffAfter(Thread.State.RUNNABLE))
        .isEqualTo(ModelWorkers.HAND_OFF_RUNNING_NANOS)
        .isGreaterThan(ModelWorkers.HAND_OFF_NANOS);
    for (Thread.State state :
        new Thread.State[] {
          Thread.State.WAITING, Thread.State.TIMED_WAITING, Thread.State.BLOCKED
        }) {
      assertThat(ModelWorkers.handOffAfter(state))
          .as("%s", state)
          .isEqualTo(ModelWorkers.HAND_OFF_NANOS);
    }
  }

  private void awaitRelease() {
    try {
      release.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
