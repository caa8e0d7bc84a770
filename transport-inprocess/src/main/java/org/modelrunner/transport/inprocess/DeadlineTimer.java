package org.modelrunner.transport.inprocess;

import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;

/**
 * One thread that fires {@link Timed} tasks at their due time, shared by every transport and
 * runner: the deadlines of requests and injected latencies.
 *
 * <p>It is built for many tasks with close due times (a fan-out can arm one deadline per model, all
 * about equal): due times are rounded up to the next {@link #TICK_NANOS tick} and tasks of one tick
 * are pushed onto a lock-free stack (one compare-and-set; the task is its own list node, so
 * scheduling allocates nothing). Tasks are never cancelled: a request that completes early is
 * simply skipped when its tick fires. A task fires at or after its due time, at most about one tick
 * plus the wake-up latency late.
 */
final class DeadlineTimer {
  private static final System.Logger LOG = System.getLogger(DeadlineTimer.class.getName());

  /** The timer's resolution. */
  static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  /**
   * Longer delays are shortened to this (about 73 years): far enough to be never, without overflow.
   */
  static final long MAX_DELAY_NANOS = Long.MAX_VALUE / 4;

  /** A task the timer fires; a task is scheduled at most once at a time. */
  abstract static class Timed {
    /**
     * The next task of the same tick; written before the task is published by a compare-and-set.
     */
    Timed nextInTick;

    /**
     * Runs on the timer thread at (or just after) the due time; must be quick and must not block.
     */
    abstract void fire();
  }

  /** The marker of a tick whose tasks have been taken for firing. */
  private static final Timed FIRED =
      new Timed() {
        @Override
        void fire() {}
      };

  /** The tasks due in one tick: a Treiber stack, closed once its tasks are taken. */
  private static final class Tick extends AtomicReference<Timed> {
    boolean push(Timed task) {
      for (; ; ) {
        Timed head = get();
        if (head == FIRED) {
          return false;
        }
        task.nextInTick = head;
        if (compareAndSet(head, task)) {
          return true;
        }
      }
    }

    Timed takeAll() {
      return getAndSet(FIRED);
    }
  }

  /** A tick and its tasks. */
  private record Bucket(long tick, Tick tasks) {}

  private final long origin = System.nanoTime();
  private final ConcurrentSkipListMap<Long, Tick> ticks = new ConcurrentSkipListMap<>();

  /**
   * The tick last scheduled into: the tasks of one fan-out (thousands) mostly fall in one tick, and
   * this spares each the map's look-up (a walk down the skip list, a few cache misses).
   */
  private volatile Bucket last = new Bucket(-1, new Tick());

  private final Thread thread;

  /**
   * The tick the timer thread sleeps until; {@code Long.MAX_VALUE} when it sleeps without a limit.
   */
  private volatile long sleepingUntil = Long.MAX_VALUE;

  private volatile boolean running = true;

  DeadlineTimer() {
    thread = TransportThreads.newThread("timer", this::loop);
    thread.start();
  }

  /** Schedules {@code task} to fire {@code delayNanos} from now (at once if not positive). */
  void schedule(Timed task, long delayNanos) {
    scheduleAt(task, dueIn(delayNanos));
  }

  /**
   * Returns the {@link System#nanoTime()} value {@code delayNanos} from now: now if not positive,
   * {@link #MAX_DELAY_NANOS} from now at most.
   */
  static long dueIn(long delayNanos) {
    return System.nanoTime() + Math.min(Math.max(0, delayNanos), MAX_DELAY_NANOS);
  }

  /** Schedules {@code task} to fire at {@code dueNanos}, a {@link System#nanoTime()} value. */
  void scheduleAt(Timed task, long dueNanos) {
    long elapsed = dueNanos - origin;
    long tick = elapsed <= 0 ? 0 : (elapsed + TICK_NANOS - 1) / TICK_NANOS;
    Bucket recent = last;
    if (recent.tick() != tick || !recent.tasks().push(task)) {
      Long key = tick;
      for (; ; ) {
        Tick bucket = ticks.get(key);
        if (bucket == null) {
          bucket = ticks.computeIfAbsent(key, k -> new Tick());
        }
        if (bucket.push(task)) {
          last = new Bucket(tick, bucket);
          break;
        }
        // That tick was taken for firing in the meantime: it is due, a new bucket fires at once.
        ticks.remove(key, bucket);
      }
    }
    if (tick < sleepingUntil) {
      LockSupport.unpark(thread);
    }
  }

  /**
   * Returns how many scheduled tasks, not yet fired, {@code which} accepts; for tests (it reads the
   * ticks without stopping the timer thread, so call it while no task is due).
   */
  long countPending(Predicate<Timed> which) {
    long count = 0;
    for (Tick tick : ticks.values()) {
      for (Timed task = tick.get(); task != null && task != FIRED; task = task.nextInTick) {
        if (which.test(task)) {
          count++;
        }
      }
    }
    return count;
  }

  /** Stops the timer thread; tasks not yet fired never fire. */
  void shutdown() {
    running = false;
    LockSupport.unpark(thread);
  }

  private void loop() {
    while (running) {
      sleepingUntil = Long.MAX_VALUE;
      Map.Entry<Long, Tick> first = ticks.firstEntry();
      if (first == null) {
        LockSupport.park(this);
        continue;
      }
      long tick = first.getKey();
      long waitNanos = origin + tick * TICK_NANOS - System.nanoTime();
      if (waitNanos > 0) {
        sleepingUntil = tick;
        // A task scheduled earlier than this between firstEntry() and the write above saw MAX_VALUE
        // and
        // unparked us: the permit makes parkNanos return at once and the loop looks again.
        LockSupport.parkNanos(this, waitNanos);
        continue;
      }
      ticks.remove(tick, first.getValue());
      for (Timed task = first.getValue().takeAll(); task != null; ) {
        Timed next = task.nextInTick;
        task.nextInTick = null;
        try {
          task.fire();
        } catch (RuntimeException | Error e) {
          LOG.log(System.Logger.Level.ERROR, "A timed task failed: " + e, e);
        }
        task = next;
      }
    }
    ticks.clear();
  }
}
