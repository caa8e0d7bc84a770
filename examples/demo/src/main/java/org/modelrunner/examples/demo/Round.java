package org.modelrunner.examples.demo;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.modelrunner.client.CallOutcome;
import org.modelrunner.client.FanOutResult;
import org.modelrunner.client.ModelStatus;
import org.modelrunner.examples.tracker.Prediction;
import org.modelrunner.examples.tracker.Tick;

/**
 * What one round of the demo produced.
 *
 * @param number the round, from 1
 * @param tick the data sent
 * @param ticks the outcomes of the {@code tick} fan-out, one per connected model
 * @param predictions the outcomes of the {@code predict} fan-out, one per connected model
 * @param predicted the decoded prediction of each model whose {@code predict} succeeded
 * @param statuses every model the fleet knows, at the end of the round
 * @param meanAbsoluteErrors each model's mean absolute error so far (its predictions against the
 *     next ticks), once it has one
 * @param benchmark the prediction of the benchmark, run by the coordinator itself
 * @param benchmarkError the benchmark's mean absolute error so far, NaN before it has one
 */
record Round(
    int number,
    Tick tick,
    FanOutResult ticks,
    FanOutResult predictions,
    Map<String, Prediction> predicted,
    List<ModelStatus> statuses,
    Map<String, Double> meanAbsoluteErrors,
    Prediction benchmark,
    double benchmarkError) {

  /** Returns the model's {@code tick} outcome, if it was called. */
  Optional<CallOutcome> tickOutcome(String modelId) {
    return ticks.outcome(modelId);
  }

  /** Returns the model's {@code predict} outcome, if it was called. */
  Optional<CallOutcome> predictOutcome(String modelId) {
    return predictions.outcome(modelId);
  }

  /** Returns the model's status at the end of the round. */
  Optional<ModelStatus> status(String modelId) {
    return statuses.stream().filter(status -> status.modelId().equals(modelId)).findFirst();
  }
}
