package org.modelrunner.examples.tracker;

/**
 * A model's forecast of the next tick's price, returned by {@link TrackerBase#predict()} (as JSON:
 * {@code {"price":101.7,"stdDev":0.8}}).
 *
 * @param price the expected price of the next tick
 * @param stdDev how uncertain the model is, as a standard deviation of the price; {@code 0} when
 *     the model does not say
 */
public record Prediction(double price, double stdDev) {
  /** Returns a point forecast, without uncertainty. */
  public static Prediction of(double price) {
    return new Prediction(price, 0);
  }
}
