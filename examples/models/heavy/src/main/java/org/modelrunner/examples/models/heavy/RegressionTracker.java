package org.modelrunner.examples.models.heavy;

import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;
import org.apache.commons.math3.stat.regression.SimpleRegression;
import org.modelrunner.examples.tracker.Prediction;
import org.modelrunner.examples.tracker.Tick;
import org.modelrunner.examples.tracker.TrackerBase;

/**
 * A model with a dependency of its own: it fits a linear trend to the last {@value #WINDOW} prices
 * with Apache Commons Math and extrapolates it one tick ahead. The commons-math3 jar travels in the
 * submission folder beside this model's jar; the host does not have it, and other submissions do
 * not see it.
 */
public class RegressionTracker extends TrackerBase {
  private static final int WINDOW = 20;

  private final DescriptiveStatistics window = new DescriptiveStatistics(WINDOW);

  @Override
  public void tick(Tick data) {
    window.addValue(data.price());
  }

  @Override
  public Prediction predict() {
    double[] prices = window.getValues();
    if (prices.length == 0) {
      throw new IllegalStateException("predict() before the first tick");
    }
    if (prices.length < 3) {
      return Prediction.of(prices[prices.length - 1]);
    }
    SimpleRegression trend = new SimpleRegression();
    for (int i = 0; i < prices.length; i++) {
      trend.addData(i, prices[i]);
    }
    double next = trend.predict(prices.length);
    double error = Math.sqrt(trend.getMeanSquareError());
    return new Prediction(next, Double.isFinite(error) ? error : 0);
  }
}
