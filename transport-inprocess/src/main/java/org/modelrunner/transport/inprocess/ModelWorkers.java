package org.modelrunner.transport.inprocess;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The shared pool of threads that run model code for every in-process runner: a few workers (as
 * many as processors, at least two) take requests from one queue, so ten thousand models cost no
 * more threads than ten.
 *
 * <h2>Hand-off</h2>
 *
 * A model that hangs or runs slow must never delay another model's call. While requests wait in the
 * queue, a watcher thread looks at the workers every {@link #WATCH_PERIOD_NANOS}; a worker that has
 * been inside one request for longer than {@link #HAND_OFF_NANOS} while its model code waits,
 * sleeps or is blocked (as a hung model usually does), or {@link #HAND_OFF_RUNNING_NANOS} while it
 * runs or waits for a processor, is <em>handed off</em>: it is no longer counted as one of the
 * pool's workers, and a new worker starts at once to take the queue. The pool is therefore at most
 * {@link #BASE_WORKERS} plus one thread per request that has been running longer than the hand-off
 * time right now (at most {@link #MAX_HANDED_OFF}). When a handed-off request returns, its worker
 * is counted again, and the pool shrinks back: the extra threads end once idle for {@link
 * #KEEP_ALIVE_NANOS}. The watcher sleeps while the queue is empty, and the first request queued
 * wakes it.
 *
 * <p>With the busy rule (one request per model at a time), a model that never returns holds one
 * thread and no more; its later requests are refused {@code BUSY} without a worker.
 */
final class ModelWorkers extends ThreadPoolExecutor {
  /** The number of workers when none is handed off. */
  static final int BASE_WORKERS = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());

  /**
   * How long a worker may be in one request, while others wait, before it is handed off, when its
   * model code is not running (it waits, sleeps or is blocked: a model that hangs usually is).
   */
  static final long HAND_OFF_NANOS = TimeUnit.MICROSECONDS.toNanos(100);

  /**
   * How long a worker whose model code is running (or ready to run: a worker the scheduler has not
   * given a processor looks the same) may be in one request, while others wait, before it is handed
   * off: longer, so that workers merely waiting for a processor are not replaced by more threads.
   */
  static final long HAND_OFF_RUNNING_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

  /** How often the watcher looks at the workers while requests wait. */
  static final long WATCH_PERIOD_NANOS = TimeUnit.MICROSECONDS.toNanos(50);

  /** At most this many workers are handed off at once (threads that model code keeps). */
  static final int MAX_HANDED_OFF = 4096;

  /**
   * How long a thread above the pool's size stays when idle: a spare for the next hand-off, which
   * then costs no thread creation (about a millisecond each on a small machine).
   */
  static final long KEEP_ALIVE_NANOS = TimeUnit.SECONDS.toNanos(2);

  private static final long IDLE = Long.MIN_VALUE;

  /** A worker thread, with the time it started its current request. */
  static final class Worker extends Thread {
    // Guarded by this: the worker writes them around each request, the watcher reads them.
    private long busySince = IDLE;
    private boolean handedOff;

    Worker(Runnable body, String name) {
      super(body, name);
    }
  }

  private final Set<Worker> workers = ConcurrentHashMap.newKeySet();
  private final AtomicInteger handedOff = new AtomicInteger();
  private final Thread watcher;
  private volatile boolean watcherParked;

  ModelWorkers() {
    this(true);
  }

  /**
   * @param watched whether a watcher thread hands off long-running workers; without it, {@link
   *     #handOffLongRunning} is called by hand (tests)
   */
  ModelWorkers(boolean watched) {
    super(
        BASE_WORKERS,
        BASE_WORKERS + MAX_HANDED_OFF,
        KEEP_ALIVE_NANOS,
        TimeUnit.NANOSECONDS,
        new LinkedBlockingQueue<>());
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
    watcher = watched ? TransportThreads.newThread("workers-watch", this::watch) : null;
    if (watcher != null) {
      watcher.start();
    }
  }

  @Override
  public void execute(Runnable task) {
    super.execute(task);
    if (watcherParked && watcher != null) {
      LockSupport.unpark(watcher);
    }
  }

  @Override
  protected void beforeExecute(Thread thread, Runnable task) {
    Worker worker = (Worker) thread;
    synchronized (worker) {
      worker.busySince = System.nanoTime();
    }
  }

  @Override
  protected void afterExecute(Runnable task, Throwable error) {
    Worker worker = (Worker) Thread.currentThread();
    boolean wasHandedOff;
    synchronized (worker) {
      worker.busySince = IDLE;
      wasHandedOff = worker.handedOff;
      worker.handedOff = false;
    }
    if (wasHandedOff) {
      handedOff.decrementAndGet();
      resize();
    }
  }

  @Override
  public List<Runnable> shutdownNow() {
    List<Runnable> pending = super.shutdownNow();
    if (watcher != null) {
      LockSupport.unpark(watcher);
    }
    return pending;
  }

  @Override
  public void shutdown() {
    super.shutdown();
    if (watcher != null) {
      LockSupport.unpark(watcher);
    }
  }

  /** Returns the number of workers handed off now (inside a request that runs long). */
  int handedOffWorkers() {
    return handedOff.get();
  }

  /** Returns the number of worker threads alive. */
  int liveWorkers() {
    return workers.size();
  }

  /** The watcher's loop: hands off long-running workers while requests wait; sleeps otherwise. */
  private void watch() {
    while (!isShutdown()) {
      if (getQueue().isEmpty()) {
        watcherParked = true;
        if (getQueue().isEmpty() && !isShutdown()) {
          LockSupport.park(this);
        }
        watcherParked = false;
        continue;
      }
      handOffLongRunning(System.nanoTime());
      LockSupport.parkNanos(this, WATCH_PERIOD_NANOS);
    }
  }

  /** Hands off every worker inside one request for longer than the hand-off time. */
  void handOffLongRunning(long now) {
    int added = 0;
    for (Worker worker : workers) {
      synchronized (worker) {
        if (worker.busySince != IDLE
            && !worker.handedOff
            && now - worker.busySince > handOffAfter(worker.getState())
            && handedOff.get() < MAX_HANDED_OFF) {
          worker.handedOff = true;
          handedOff.incrementAndGet();
          added++;
        }
      }
    }
    if (added > 0) {
      resize();
    }
  }

  /** Returns how long a worker in {@code state} may be in one request before it is handed off. */
  static long handOffAfter(Thread.State state) {
    return state == Thread.State.RUNNABLE ? HAND_OFF_RUNNING_NANOS : HAND_OFF_NANOS;
  }

  /**
   * Sizes the pool to the base workers plus the handed-off ones. Threads above that size (handed
   * off ones that came back) stay as spares while idle for {@link #KEEP_ALIVE_NANOS}: the queue is
   * unbounded, so the pool never starts threads beyond its size on its own.
   */
  private synchronized void resize() {
    if (!isShutdown()) {
      setCorePoolSize(BASE_WORKERS + handedOff.get());
    }
  }
}
