package org.modelrunner.client;

import java.util.Optional;
import org.modelrunner.spi.ModelEndpoint;

/**
 * A snapshot of one model of the fleet: its connection state, its failure counters and its call counts.
 *
 * @param model the deployment
 * @param state the connection state
 * @param consecutiveFailures failures since the last success
 * @param consecutiveTimeouts timeouts since the last success
 * @param calls calls sent to it
 * @param successes calls that succeeded
 * @param lastError the last failure or timeout, if any
 */
public record ModelStatus(
    ModelEndpoint model,
    State state,
    int consecutiveFailures,
    int consecutiveTimeouts,
    long calls,
    long successes,
    Optional<String> lastError) {
  /** The connection states of a model. */
  public enum State {
    /** Connecting or setting up; receives no calls yet. */
    CONNECTING,
    /** Set up: receives calls. */
    CONNECTED,
    /** Could not be connected or set up, or was disconnected by the failure policy. */
    DISCONNECTED
  }

  /** Returns the model's id. */
  public String modelId() {
    return model.modelId();
  }
}
