package org.modelrunner.examples.models.nothing;

import org.modelrunner.examples.tracker.Prediction;
import org.modelrunner.examples.tracker.Tick;

/**
 * A model that has the right methods but does not extend {@code TrackerBase}, as a participant used
 * to duck typing might write it. The runner looks for a subclass of the base class, finds none in
 * this submission, and answers setup with {@code BAD_IMPLEMENTATION}: the coordinator disconnects
 * it at once.
 */
public class DuckTypedTracker {
  private double last;

  /** Remembers the price. */
  public void tick(Tick data) {
    last = data.price();
  }

  /** Predicts the last price. */
  public Prediction predict() {
    return Prediction.of(last);
  }
}
