package org.modelrunner.examples.tracker;

/**
 * The benchmark: predicts that the next price is the last one seen (a random walk's best guess).
 *
 * <p>It ships with the base class so that participants and the coordinator can compare against it,
 * and is public and concrete like a real model; the runner's discovery never picks it for a
 * submission, because it lives in the same jar as {@link TrackerBase}.
 */
public final class LastValueTracker extends TrackerBase {
  private double last = Double.NaN;

  /** Creates the benchmark. */
  public LastValueTracker() {}

  @Override
  public void tick(Tick data) {
    last = data.price();
  }

  @Override
  public Prediction predict() {
    return Prediction.of(last);
  }
}
