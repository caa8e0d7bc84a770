package org.modelrunner.examples.models.throwing;

import org.modelrunner.examples.tracker.Prediction;
import org.modelrunner.examples.tracker.Tick;
import org.modelrunner.examples.tracker.TrackerBase;

/**
 * A buggy model: it was written for a feed with more fields than the competition sends, so every
 * {@link #tick} throws, and {@link #predict()}, with nothing to go on, throws too. Every call is a
 * {@code FAILURE} (status {@code MODEL_FAILED}, with the exception's message); after more
 * consecutive failures than the coordinator allows (3 by default), the model is disconnected with
 * {@code MULTIPLE_FAILED}.
 */
public class ThrowingTracker extends TrackerBase {
  private int rejected;

  @Override
  public void tick(Tick data) {
    rejected++;
    throw new IllegalArgumentException(
        "tick: this model needs a 'volume' field, but the tick has only symbol, time and price");
  }

  @Override
  public Prediction predict() {
    throw new IllegalStateException("predict: no usable tick yet (" + rejected + " rejected)");
  }
}
