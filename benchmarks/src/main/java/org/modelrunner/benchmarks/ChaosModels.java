package org.modelrunner.benchmarks;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/** The misbehaving models of {@link InProcessChaosBenchmark}. */
final class ChaosModels {
  private ChaosModels() {}

  /** Set at the end of a run: lets the hung models out, so that their threads end. */
  static volatile boolean released;

  /** A model whose {@code predict} never returns and ignores interruption. */
  public static class Hung extends InstantModel {
    @Override
    public double predict() {
      while (!released) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100)); // an interrupt only wakes it
      }
      return 0;
    }
  }

  /** A model whose {@code predict} throws. */
  public static class Throwing extends InstantModel {
    @Override
    public double predict() {
      throw new IllegalStateException("no prediction");
    }
  }

  /** A model that takes {@code SLOW_MILLIS} per {@code predict}. */
  public static class Slow extends InstantModel {
    static volatile long slowMillis = 200;

    @Override
    public double predict() {
      long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(slowMillis);
      for (long left; (left = until - System.nanoTime()) > 0; ) {
        LockSupport.parkNanos(left);
      }
      return super.predict();
    }
  }
}
