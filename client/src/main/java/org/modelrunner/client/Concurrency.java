package org.modelrunner.client;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the fleet and the orchestrator directory share about threads, futures and their settings.
 */
final class Concurrency {
  private Concurrency() {}

  /**
   * The name the fleet's parts log under (the façade's, so that one logger configures the fleet;
   * named as text so that no part refers to the façade).
   */
  static final String FLEET_LOGGER = "org.modelrunner.client.ModelFleet";

  /**
   * The name the orchestrator directory's parts log under (the directory's, for the same reason as
   * {@link #FLEET_LOGGER}).
   */
  static final String DIRECTORY_LOGGER = "org.modelrunner.client.OrchestratorDirectory";

  /**
   * Returns a factory of daemon threads named {@code name}, or {@code name1}, {@code name2}... when
   * {@code numbered}.
   */
  static ThreadFactory daemonThreads(String name, boolean numbered) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, numbered ? name + count.incrementAndGet() : name);
      thread.setDaemon(true);
      return thread;
    };
  }

  /**
   * Returns the failure a future's {@link CompletionException} or {@link ExecutionException} wraps.
   */
  static Throwable cause(Throwable error) {
    Throwable cause = error;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }

  /**
   * Returns the duration if it is positive.
   *
   * @throws NullPointerException if it is null
   * @throws IllegalArgumentException if it is zero or negative; the message names {@code what}
   */
  static int requireNonNegative(int value, String what) {
    if (value < 0) {
      throw new IllegalArgumentException(what + " cannot be negative, got " + value);
    }
    return value;
  }

  static Duration requirePositive(Duration duration, String what) {
    if (duration == null) {
      throw new NullPointerException(what);
    }
    if (duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException(what + " must be positive, got " + duration);
    }
    return duration;
  }

  /** Nanoseconds, saturated (durations beyond ~292 years are as good as forever). */
  static long nanos(Duration duration) {
    try {
      return duration.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE / 4;
    }
  }

  /** A delay for a log line: {@code 250 ms}, {@code 1.5 s}, {@code 30 s}. */
  static String millis(long nanos) {
    long ms = TimeUnit.NANOSECONDS.toMillis(nanos);
    if (ms < 10_000 && ms % 1000 != 0) {
      return ms < 1000 ? ms + " ms" : String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
    }
    return TimeUnit.MILLISECONDS.toSeconds(ms) + " s";
  }
}
