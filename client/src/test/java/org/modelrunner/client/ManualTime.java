package org.modelrunner.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;

/** Time a test moves by hand: a {@link Scheduler} and a {@link Ticker} that agree. */
final class ManualTime implements Scheduler, Ticker {
  private static final class Task extends CompletableFuture<Void> implements Comparable<Task> {
    final long due;
    final long order;
    final Runnable work;

    Task(long due, long order, Runnable work) {
      this.due = due;
      this.order = order;
      this.work = work;
    }

    @Override
    public int compareTo(Task other) {
      int byDue = Long.compare(due, other.due);
      return byDue != 0 ? byDue : Long.compare(order, other.order);
    }
  }

  private final PriorityQueue<Task> tasks = new PriorityQueue<>();
  private long now = 1_000_000_000L;
  private long scheduled;

  @Override
  public synchronized Future<?> schedule(Runnable task, Duration delay) {
    Task entry = new Task(now + delay.toNanos(), scheduled++, task);
    tasks.add(entry);
    return entry;
  }

  @Override
  public synchronized long read() {
    return now;
  }

  /** Returns how many tasks wait to run (cancelled ones excluded). */
  synchronized int pending() {
    return (int) tasks.stream().filter(task -> !task.isDone()).count();
  }

  /** Moves time on by {@code step} and runs the tasks that came due, in order. */
  void advance(Duration step) {
    List<Task> due = new ArrayList<>();
    synchronized (this) {
      now += step.toNanos();
      while (!tasks.isEmpty() && tasks.peek().due <= now) {
        due.add(tasks.poll());
      }
    }
    for (Task task : due) {
      if (task.complete(null)) {
        task.work.run();
      }
    }
  }
}
