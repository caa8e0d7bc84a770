package org.modelrunner.client;

import java.time.Duration;
import java.util.concurrent.Future;

/**
 * Runs an {@link OrchestratorDirectory}'s timed work (reconnect backoff, pings, warnings) after a
 * delay. By default the directory uses its own thread; a test gives one it advances by hand, with a
 * matching {@link Ticker}, to check timing without waiting (as Caffeine's builder takes a scheduler
 * and a ticker). The task only hands work to the directory's thread, so it may run on any thread.
 */
@FunctionalInterface
public interface Scheduler {
  /**
   * Runs {@code task} once, after {@code delay}.
   *
   * @return a future whose {@code cancel} keeps the task from running
   */
  Future<?> schedule(Runnable task, Duration delay);
}
