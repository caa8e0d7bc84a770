package org.modelrunner.client;

import java.time.Duration;
import java.util.concurrent.Future;

/**
 * Runs an {@link OrchestratorDirectory}'s timed work (reconnect backoff, pings, warnings) or a
 * {@link ModelFleet}'s delayed membership work (setup backoff, retirements) after a delay. By
 * default each uses its own thread; a test gives one it advances by hand (with a matching {@link
 * Ticker} for the directory) to check timing without waiting, as Caffeine's builder takes a
 * scheduler and a ticker. The task only hands work to the owner's thread, so it may run on any
 * thread.
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
