package org.modelrunner.client;

/**
 * A source of nanosecond time for an {@link OrchestratorDirectory}'s timing decisions (how long
 * since the last warning): {@link System#nanoTime()} by default; a test gives one it moves by hand,
 * with a matching {@link Scheduler}.
 */
@FunctionalInterface
public interface Ticker {
  /** Returns the current time in nanoseconds, from an arbitrary origin. */
  long read();

  /** Returns the system's ticker, {@link System#nanoTime()}. */
  static Ticker system() {
    return System::nanoTime;
  }
}
