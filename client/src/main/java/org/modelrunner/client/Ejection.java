package org.modelrunner.client;

import java.time.Duration;

/**
 * How long a model ejected by the failure policy sits out before the fleet checks it and takes it
 * back, as Envoy's outlier detection: the {@code n}th ejection of a model lasts {@code base ×
 * multiplier^(n-1)}, at most {@code max}. The count goes down by one for every {@code max} the
 * model then serves without being ejected again.
 *
 * @param readmission whether ejected models are re-admitted at all; if not, an ejection is a
 *     disconnection for good (until the directory announces the model again)
 * @param base the first ejection's time
 * @param multiplier the factor between one ejection's time and the next's (at least 1)
 * @param max the longest ejection time, and the time a re-admitted model serves for its count to go
 *     down by one
 */
record Ejection(boolean readmission, Duration base, double multiplier, Duration max) {
  /** The defaults: 30 s, doubled after each ejection, at most 10 min. */
  static final Duration DEFAULT_BASE = Duration.ofSeconds(30);

  static final double DEFAULT_MULTIPLIER = 2.0;
  static final Duration DEFAULT_MAX = Duration.ofMinutes(10);

  /** Returns how long the {@code ejection}th ejection (1 for the first) of a model lasts. */
  Duration time(int ejection) {
    return time(base, ejection);
  }

  /**
   * Returns how long the {@code ejection}th ejection of a model whose runner became unreachable
   * lasts: from a thirtieth of the base (1 s by default, then 2, 4, 8 s…), so that a runner
   * restarted on its address is found again within a second or two of serving, while one gone for
   * good is soon probed rarely; a model that misbehaves waits the full base.
   */
  Duration unreachableTime(int ejection) {
    return time(base.dividedBy(30), ejection);
  }

  private Duration time(Duration first, int ejection) {
    double nanos = first.toNanos() * Math.pow(multiplier, Math.max(0, ejection - 1));
    long maxNanos = Concurrency.nanos(max);
    return nanos >= maxNanos ? max : Duration.ofNanos((long) nanos);
  }
}
