package org.modelrunner.transport.inprocess;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Makes and tracks every thread of the in-process transport: daemon threads named {@code
 * modelrunner-inproc-N} (workers), {@code modelrunner-inproc-timer} and {@code
 * modelrunner-inproc-events}, so that tests can check that none is left once everything is closed.
 */
final class TransportThreads {
  /** The prefix of every thread's name. */
  static final String PREFIX = "modelrunner-inproc";

  private static final Set<Thread> LIVE = ConcurrentHashMap.newKeySet();
  private static final AtomicInteger WORKER_NUMBERS = new AtomicInteger();

  private TransportThreads() {}

  /** Returns a new, unstarted worker thread running {@code body}. */
  static ModelWorkers.Worker newWorker(Runnable body) {
    return track(
        new ModelWorkers.Worker(tracked(body), PREFIX + "-" + WORKER_NUMBERS.incrementAndGet()));
  }

  /** Returns a new, unstarted thread named {@code PREFIX-role} running {@code body}. */
  static Thread newThread(String role, Runnable body) {
    return track(new Thread(tracked(body), PREFIX + "-" + role));
  }

  /** Returns whether any thread made here is still alive (or about to start). */
  static boolean anyAlive() {
    LIVE.removeIf(thread -> thread.getState() == Thread.State.TERMINATED);
    return !LIVE.isEmpty();
  }

  /**
   * Waits until no thread made here is alive; returns false if some still are after {@code
   * timeout}.
   */
  static boolean awaitNone(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (anyAlive()) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      for (Thread thread : LIVE) {
        TimeUnit.NANOSECONDS.timedJoin(thread, Math.min(left, TimeUnit.MILLISECONDS.toNanos(20)));
      }
      if (LIVE.stream().allMatch(t -> t.getState() == Thread.State.NEW)) {
        Thread.sleep(5); // a thread about to be started: give its starter a moment
      }
    }
    return true;
  }

  private static <T extends Thread> T track(T thread) {
    thread.setDaemon(true);
    LIVE.add(thread);
    return thread;
  }

  private static Runnable tracked(Runnable body) {
    return () -> {
      try {
        body.run();
      } finally {
        LIVE.remove(Thread.currentThread());
      }
    };
  }
}
