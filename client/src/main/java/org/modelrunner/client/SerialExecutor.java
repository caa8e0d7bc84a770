package org.modelrunner.client;

import java.util.Queue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jctools.queues.MpscUnboundedArrayQueue;

/**
 * Runs tasks one at a time, in submission order, on a delegate executor: many threads hand tasks
 * in, one drains them. A task that throws is logged and does not stop the ones after it.
 */
final class SerialExecutor implements Executor {
  private static final System.Logger LOG = System.getLogger(Concurrency.FLEET_LOGGER);

  private final Executor delegate;
  private final Queue<Runnable> tasks = new MpscUnboundedArrayQueue<>(64);
  private final AtomicBoolean scheduled = new AtomicBoolean();

  SerialExecutor(Executor delegate) {
    this.delegate = delegate;
  }

  @Override
  public void execute(Runnable task) {
    tasks.offer(task);
    schedule();
  }

  private void schedule() {
    if (scheduled.compareAndSet(false, true)) {
      try {
        delegate.execute(this::drain);
      } catch (RuntimeException rejected) {
        scheduled.set(false);
        LOG.log(System.Logger.Level.WARNING, "The fleet's executor rejected a task: " + rejected);
      }
    }
  }

  private void drain() {
    Runnable task;
    while ((task = tasks.poll()) != null) {
      try {
        task.run();
      } catch (RuntimeException | Error e) {
        LOG.log(System.Logger.Level.WARNING, "A fleet callback threw: " + e, e);
      }
    }
    scheduled.set(false);
    if (!tasks.isEmpty()) {
      schedule();
    }
  }
}
