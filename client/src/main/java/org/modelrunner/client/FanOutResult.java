package org.modelrunner.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * The result of one fan-out: exactly one {@link CallOutcome} for every model it targeted, in the
 * order the models were targeted.
 */
public final class FanOutResult {
  private final List<CallOutcome> outcomes;
  private final Duration elapsed;

  FanOutResult(List<CallOutcome> outcomes, Duration elapsed) {
    this.outcomes = Collections.unmodifiableList(outcomes);
    this.elapsed = elapsed;
  }

  /** Returns every outcome, one per targeted model. */
  public List<CallOutcome> outcomes() {
    return outcomes;
  }

  /** Returns the outcome of the given model, if it was targeted. */
  public Optional<CallOutcome> outcome(String modelId) {
    for (CallOutcome outcome : outcomes) {
      if (outcome.modelId().equals(modelId)) {
        return Optional.of(outcome);
      }
    }
    return Optional.empty();
  }

  /** Returns the outcomes with the given status. */
  public List<CallOutcome> withStatus(CallStatus status) {
    // Counted first, so that the list is made at its size: grown from empty, its array was copied
    // a dozen times for a thousand outcomes.
    List<CallOutcome> selected = new ArrayList<>(count(status));
    for (CallOutcome outcome : outcomes) {
      if (outcome.status() == status) {
        selected.add(outcome);
      }
    }
    return selected;
  }

  private int count(CallStatus status) {
    int count = 0;
    for (CallOutcome outcome : outcomes) {
      if (outcome.status() == status) {
        count++;
      }
    }
    return count;
  }

  /** Returns the successful outcomes. */
  public List<CallOutcome> successes() {
    return withStatus(CallStatus.SUCCESS);
  }

  /** Returns the number of targeted models. */
  public int size() {
    return outcomes.size();
  }

  /** Returns the time from the start of the fan-out to its last outcome. */
  public Duration elapsed() {
    return elapsed;
  }

  @Override
  public String toString() {
    return "FanOutResult{"
        + outcomes.size()
        + " outcomes, "
        + count(CallStatus.SUCCESS)
        + " successes, "
        + elapsed.toMillis()
        + " ms}";
  }
}
