package org.modelrunner.transport.grpc.fleet;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A coordinator's tick rate for the fleet tests: a timer releases one tick per period, and the test
 * loop takes them in turn, as a coordinator driven by a scheduler would (a slow tick is not made up
 * for by a burst: at most one tick waits).
 */
final class TickClock implements AutoCloseable {
  private final Semaphore ticks = new Semaphore(0);
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          runnable -> {
            Thread thread = new Thread(runnable, "fleet-test-ticks");
            thread.setDaemon(true);
            return thread;
          });

  TickClock(Duration period) {
    timer.scheduleAtFixedRate(
        () -> {
          if (ticks.availablePermits() == 0) {
            ticks.release();
          }
        },
        period.toNanos(),
        period.toNanos(),
        TimeUnit.NANOSECONDS);
  }

  /** Waits for the next tick. */
  void next() throws InterruptedException {
    if (!ticks.tryAcquire(10, TimeUnit.SECONDS)) {
      throw new AssertionError("no tick within 10 s");
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
