package org.modelrunner.examples.demo;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Scores predictions as a coordinator would: each prediction of the next price is compared with the
 * price that tick brings, and each model's mean absolute error is kept.
 */
final class Scoreboard {
  private final Map<String, Double> pending = new HashMap<>();
  private final Map<String, double[]> totals = new TreeMap<>(); // id -> {sum of errors, count}

  /** Scores the predictions made for this price, and forgets them. */
  void observe(double price) {
    for (Map.Entry<String, Double> prediction : pending.entrySet()) {
      double[] total = totals.computeIfAbsent(prediction.getKey(), id -> new double[2]);
      total[0] += Math.abs(prediction.getValue() - price);
      total[1]++;
    }
    pending.clear();
  }

  /** Records a prediction of the next price. */
  void predicted(String id, double price) {
    if (Double.isFinite(price)) {
      pending.put(id, price);
    }
  }

  /** Returns the mean absolute error of each model scored so far. */
  Map<String, Double> meanAbsoluteErrors() {
    Map<String, Double> errors = new TreeMap<>();
    totals.forEach((id, total) -> errors.put(id, total[0] / total[1]));
    return errors;
  }
}
