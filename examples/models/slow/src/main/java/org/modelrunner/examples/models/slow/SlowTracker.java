package org.modelrunner.examples.models.slow;

import java.util.ArrayDeque;
import java.util.Deque;
import org.modelrunner.examples.tracker.Prediction;
import org.modelrunner.examples.tracker.Tick;
import org.modelrunner.examples.tracker.TrackerBase;

/**
 * A model that is sometimes too slow: a moving average of the last five prices, but every third
 * {@link #predict()} "recomputes everything" and takes {@value #SLOW_PREDICT_MILLIS} ms, longer
 * than the demo's 500 ms deadline. The coordinator records a {@code TIMEOUT} for that call; the
 * model answers in time again on the next tick, so it stays connected.
 */
public class SlowTracker extends TrackerBase {
  /**
   * How long a slow predict takes, unless the system property {@value #SLOW_PREDICT_PROPERTY} says
   * otherwise.
   */
  public static final long SLOW_PREDICT_MILLIS = 700;

  /**
   * The system property that sets how long a slow predict takes, in milliseconds: a test on a busy
   * machine spreads the demo's timing with it.
   */
  public static final String SLOW_PREDICT_PROPERTY = "modelrunner.examples.slowPredictMillis";

  private static final int WINDOW = 5;

  private final Deque<Double> prices = new ArrayDeque<>();
  private int predictions;

  @Override
  public void tick(Tick data) {
    prices.addLast(data.price());
    if (prices.size() > WINDOW) {
      prices.removeFirst();
    }
  }

  @Override
  public Prediction predict() {
    if (++predictions % 3 == 0) {
      try {
        Thread.sleep(Long.getLong(SLOW_PREDICT_PROPERTY, SLOW_PREDICT_MILLIS));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while recomputing", e);
      }
    }
    double sum = 0;
    for (double price : prices) {
      sum += price;
    }
    return Prediction.of(sum / prices.size());
  }
}
