package org.modelrunner.examples.demo;

import java.time.Duration;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * What one run of the demo does.
 *
 * @param rounds how many ticks to send (each one a {@code tick} then a {@code predict} fan-out)
 * @param callTimeout the fleet's deadline for one fan-out
 * @param interval the time from the start of one round to the start of the next (a coordinator's
 *     tick rate); the view is redrawn at the end of each interval, once the fleet has applied what
 *     the round caused
 * @param setupTimeout how long to wait for every model to be set up (or refused) before the first
 *     round
 * @param seed the seed of the random walk the ticks follow
 * @param clearScreen whether to clear the terminal before each view (ANSI), instead of printing one
 *     below the other
 * @param pagePort the port of the fleet's live page on 127.0.0.1 (0: a free one), served while the
 *     demo runs; empty for no page
 */
record DemoSettings(
    int rounds,
    Duration callTimeout,
    Duration interval,
    Duration setupTimeout,
    long seed,
    boolean clearScreen,
    OptionalInt pagePort) {
  /** Settings without the page. */
  DemoSettings(
      int rounds,
      Duration callTimeout,
      Duration interval,
      Duration setupTimeout,
      long seed,
      boolean clearScreen) {
    this(rounds, callTimeout, interval, setupTimeout, seed, clearScreen, OptionalInt.empty());
  }

  DemoSettings {
    if (rounds < 1) {
      throw new IllegalArgumentException("rounds must be at least 1, got " + rounds);
    }
    Objects.requireNonNull(callTimeout, "callTimeout");
    Objects.requireNonNull(interval, "interval");
    Objects.requireNonNull(setupTimeout, "setupTimeout");
    if (callTimeout.isNegative() || callTimeout.isZero()) {
      throw new IllegalArgumentException("the call timeout must be positive, got " + callTimeout);
    }
    if (interval.isNegative()) {
      throw new IllegalArgumentException("the interval cannot be negative, got " + interval);
    }
    Objects.requireNonNull(pagePort, "pagePort");
    if (pagePort.isPresent() && (pagePort.getAsInt() < 0 || pagePort.getAsInt() > 65_535)) {
      throw new IllegalArgumentException(
          "the page's port must be within 0 to 65535, got " + pagePort.getAsInt());
    }
  }
}
