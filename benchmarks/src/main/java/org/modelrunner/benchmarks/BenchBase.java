package org.modelrunner.benchmarks;

/** The base class of the benchmark's models. */
public abstract class BenchBase {
  /** Receives a tick. */
  public abstract void tick(Object data);

  /** Returns a prediction. */
  public abstract double predict();
}
