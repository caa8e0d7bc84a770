package org.modelrunner.transport.inprocess;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The threads every in-process runner, transport and directory share: the {@link ModelWorkers} that
 * run model code (with the watcher that hands off long-running ones), the {@link DeadlineTimer}
 * (deadlines, injected latency) and one thread that delivers directory events.
 *
 * <p>They exist while something uses them: each registered runner, open transport and started
 * directory holds one {@linkplain #acquire() reference}; when the last one is released, every
 * thread is stopped (workers still inside model code are interrupted) and the next acquire starts a
 * fresh set. Two users alive at the same time always share one instance.
 */
final class SharedResources {
  private static final Object LOCK = new Object();
  private static SharedResources current; // guarded by LOCK
  private static int users; // guarded by LOCK

  final ModelWorkers workers;
  final DeadlineTimer timer;
  final ThreadPoolExecutor events;

  private SharedResources() {
    workers = new ModelWorkers();
    timer = new DeadlineTimer();
    events =
        new ThreadPoolExecutor(
            1,
            1,
            0,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            body -> TransportThreads.newThread("events", body));
  }

  /** One user's reference; {@link #release()} is idempotent. */
  static final class Reference {
    private final SharedResources resources;
    private final AtomicBoolean released = new AtomicBoolean();

    private Reference(SharedResources resources) {
      this.resources = resources;
    }

    SharedResources get() {
      return resources;
    }

    void release() {
      if (released.compareAndSet(false, true)) {
        resources.releaseOne();
      }
    }
  }

  /** Returns a reference to the shared resources, starting them if nobody uses them. */
  static Reference acquire() {
    synchronized (LOCK) {
      if (current == null) {
        current = new SharedResources();
      }
      users++;
      return new Reference(current);
    }
  }

  /** Returns the resources in use now, or null if nobody uses them; for tests. */
  static SharedResources peek() {
    synchronized (LOCK) {
      return current;
    }
  }

  /** Returns the number of users, for tests. */
  static int users() {
    synchronized (LOCK) {
      return users;
    }
  }

  private void releaseOne() {
    synchronized (LOCK) {
      if (current != this || --users > 0) {
        return;
      }
      current = null;
    }
    workers.shutdownNow();
    timer.shutdown();
    events.shutdownNow();
  }
}
