package org.modelrunner.examples.demo;

import java.util.Random;
import org.modelrunner.examples.tracker.Tick;

/**
 * The data of the demo: a seeded geometric random walk with a slight upward drift, one tick a
 * minute.
 */
final class RandomWalk {
  static final String SYMBOL = "DEMO";
  private static final long START_MILLIS = 1_700_000_000_000L;
  private static final long STEP_MILLIS = 60_000;
  private static final double DRIFT = 0.001;
  private static final double VOLATILITY = 0.01;

  private final Random random;
  private double price = 100;
  private long time = START_MILLIS;
  private boolean started;

  RandomWalk(long seed) {
    this.random = new Random(seed);
  }

  /** Returns the next tick; the first is at price 100. */
  Tick next() {
    if (started) {
      price *= Math.exp(DRIFT + VOLATILITY * random.nextGaussian());
      time += STEP_MILLIS;
    }
    started = true;
    return new Tick(SYMBOL, time, price);
  }
}
