package org.modelrunner.examples.models.good;

import org.modelrunner.examples.tracker.Prediction;
import org.modelrunner.examples.tracker.Tick;
import org.modelrunner.examples.tracker.TrackerBase;

/**
 * A well-behaved model: an exponentially weighted moving average of the price, with an
 * exponentially weighted variance for its uncertainty.
 */
public class EwmaTracker extends TrackerBase {
  private static final double ALPHA = 0.3;

  private double mean = Double.NaN;
  private double variance;

  @Override
  public void tick(Tick data) {
    double price = data.price();
    if (Double.isNaN(mean)) {
      mean = price;
      return;
    }
    double deviation = price - mean;
    mean += ALPHA * deviation;
    variance = (1 - ALPHA) * (variance + ALPHA * deviation * deviation);
  }

  @Override
  public Prediction predict() {
    if (Double.isNaN(mean)) {
      throw new IllegalStateException("predict() before the first tick");
    }
    return new Prediction(mean, Math.sqrt(variance));
  }
}
