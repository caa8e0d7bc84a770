package org.modelrunner.examples.demo;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.modelrunner.client.ModelStatus;

/**
 * Everything a run of the demo saw, for its summary and its tests.
 *
 * @param setupComplete whether every model was set up or refused before the setup timeout
 * @param setupStatuses every model's status once setup ended
 * @param rounds the rounds, in order
 * @param events the fleet's events, with the round each arrived in
 * @param finalStatuses every model's status after the last round
 * @param elapsed the time the rounds took
 */
record DemoReport(
    boolean setupComplete,
    List<ModelStatus> setupStatuses,
    List<Round> rounds,
    List<EventLog.Entry> events,
    List<ModelStatus> finalStatuses,
    Duration elapsed) {

  /** Returns the model's status after the last round. */
  Optional<ModelStatus> finalStatus(String modelId) {
    return finalStatuses.stream().filter(status -> status.modelId().equals(modelId)).findFirst();
  }

  /** Returns the mean absolute error of each model after the last round. */
  Map<String, Double> meanAbsoluteErrors() {
    return rounds.isEmpty() ? Map.of() : rounds.get(rounds.size() - 1).meanAbsoluteErrors();
  }
}
