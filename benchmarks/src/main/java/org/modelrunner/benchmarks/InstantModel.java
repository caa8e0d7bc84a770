package org.modelrunner.benchmarks;

/** A model that answers at once: what is measured is the library's own cost. */
public class InstantModel extends BenchBase {
  private double last;

  @Override
  public void tick(Object data) {
    last = data instanceof Number n ? n.doubleValue() : last;
  }

  @Override
  public double predict() {
    return last;
  }
}
