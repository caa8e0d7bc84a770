package org.modelrunner.transport.inprocess;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The shared pool of threads that run model code for every in-process runner: a few workers (as
 * many as processors, at least two) take requests from one queue, so ten thousand models cost no
 * more threads than ten.
 *
 * <p>A model that never returns would hold its worker forever and, with enough of them, starve
 * every other model. The {@linkplain #watchdog(DeadlineTimer) watchdog} therefore looks at the
 * workers a few times a second and, for every worker that has been inside one request for longer
 * than {@link #STUCK_AFTER_NANOS}, adds a worker; when the stuck workers come back, the extra
 * workers leave. A model hanging forever costs its own thread, never the others' throughput (the
 * runner's busy rule lets at most one request per model be stuck).
 */
final class ModelWorkers extends ThreadPoolExecutor {
  /** The number of workers when none is stuck. */
  static final int BASE_WORKERS = Math.max(2, Runtime.getRuntime().availableProcessors());

  /** How long a worker must be in one request to count as stuck. */
  static final long STUCK_AFTER_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** How often the watchdog looks at the workers. */
  static final long WATCHDOG_PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

  private static final long IDLE = Long.MIN_VALUE;

  /** A worker thread, with the time it started its current request. */
  static final class Worker extends Thread {
    volatile long busySince = IDLE;

    Worker(Runnable body, String name) {
      super(body, name);
    }
  }

  private final Set<Worker> workers = ConcurrentHashMap.newKeySet();

  ModelWorkers() {
    super(BASE_WORKERS, BASE_WORKERS, 1, TimeUnit.SECONDS, new LinkedBlockingQueue<>());
    setThreadFactory(
        body -> {
          Worker[] self = new Worker[1];
          self[0] =
              TransportThreads.newWorker(
                  () -> {
                    try {
                      body.run();
                    } finally {
                      workers.remove(self[0]);
                    }
                  });
          workers.add(self[0]);
          return self[0];
        });
  }

  @Override
  protected void beforeExecute(Thread thread, Runnable task) {
    ((Worker) thread).busySince = System.nanoTime();
  }

  @Override
  protected void afterExecute(Runnable task, Throwable error) {
    ((Worker) Thread.currentThread()).busySince = IDLE;
  }

  /** Returns the number of workers currently inside one request for longer than the stuck limit. */
  int stuckWorkers() {
    long now = System.nanoTime();
    int stuck = 0;
    for (Worker worker : workers) {
      long since = worker.busySince;
      if (since != IDLE && now - since > STUCK_AFTER_NANOS) {
        stuck++;
      }
    }
    return stuck;
  }

  /** Adds a worker per stuck worker, or removes the extra ones when they are no longer stuck. */
  void adjust() {
    if (isShutdown()) {
      return;
    }
    int target = BASE_WORKERS + stuckWorkers();
    int current = getCorePoolSize();
    if (target > current) {
      setMaximumPoolSize(target);
      setCorePoolSize(target); // starts workers at once for the queued requests
    } else if (target < current) {
      setCorePoolSize(target);
      setMaximumPoolSize(target); // idle extra workers leave now, busy ones when they finish
    }
  }

  /**
   * Returns the watchdog task, which reschedules itself on {@code timer} until this pool shuts
   * down.
   */
  DeadlineTimer.Timed watchdog(DeadlineTimer timer) {
    return new DeadlineTimer.Timed() {
      @Override
      void fire() {
        if (isShutdown()) {
          return;
        }
        adjust();
        timer.schedule(this, WATCHDOG_PERIOD_NANOS);
      }
    };
  }
}
