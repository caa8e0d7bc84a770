package org.modelrunner.client;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.modelrunner.spi.ModelEndpoint;

/**
 * A snapshot of one model of the fleet: its deployment, connection state, failure counters, call
 * counts and latency. Counts and latency cover the current connection of the deployment (they start
 * again when the model is replaced, restarted or reconnected).
 *
 * @param model the deployment (its id, address and infos)
 * @param state the connection state
 * @param consecutiveFailures failures since the last success
 * @param consecutiveTimeouts timeouts since the last success, counting {@code BUSY} answers and
 *     unreachable runners ({@code UNAVAILABLE}) as timeouts
 * @param counts the outcomes of the calls that targeted the model
 * @param cooldown the calls the model still sits out after timeouts (0 when it takes calls)
 * @param latency how long its answered calls took
 * @param lastError the last failure or timeout, if any
 * @param ejections how many times the failure policy ejected this deployment, less one for every
 *     maximum ejection time it served since (see {@link ModelFleet.Builder#ejection}); it sets the
 *     length of the next ejection, and starts again at 0 for a new deployment or a restart the
 *     directory announces
 * @param ejectedUntil while the model is ejected ({@link State#DISCONNECTED}, to be re-admitted):
 *     when its ejection time is over and the fleet checks its health and sets it up again; empty
 *     otherwise (including while that check runs, {@link State#CONNECTING})
 */
public record ModelStatus(
    ModelEndpoint model,
    State state,
    int consecutiveFailures,
    int consecutiveTimeouts,
    Counts counts,
    int cooldown,
    LatencyPercentiles latency,
    Optional<String> lastError,
    int ejections,
    Optional<Instant> ejectedUntil) {
  /**
   * Creates the snapshot of a model that was never ejected.
   *
   * @param model the deployment (its id, address and infos)
   * @param state the connection state
   * @param consecutiveFailures failures since the last success
   * @param consecutiveTimeouts timeouts since the last success
   * @param counts the outcomes of the calls that targeted the model
   * @param cooldown the calls the model still sits out after timeouts
   * @param latency how long its answered calls took
   * @param lastError the last failure or timeout, if any
   */
  public ModelStatus(
      ModelEndpoint model,
      State state,
      int consecutiveFailures,
      int consecutiveTimeouts,
      Counts counts,
      int cooldown,
      LatencyPercentiles latency,
      Optional<String> lastError) {
    this(
        model,
        state,
        consecutiveFailures,
        consecutiveTimeouts,
        counts,
        cooldown,
        latency,
        lastError,
        0,
        Optional.empty());
  }

  /** The connection states of a model. */
  public enum State {
    /** Connecting or setting up (or reconnecting); receives no calls yet. */
    CONNECTING,
    /** Set up: receives calls. */
    CONNECTED,
    /**
     * The directory reports the model's process restarting; it receives calls again once it runs
     * and is set up. Its calls end {@link CallStatus#SKIPPED} ({@link CallFailure#RECOVERING})
     * meanwhile.
     */
    RECOVERING,
    /**
     * The directory stopped the deployment that served the model while a new deployment of it is
     * being set up (the Model Orchestrator stops the old process at once on a redeploy): the model
     * has not left, and a {@link FleetEvent.Kind#REPLACED} follows once the new deployment is
     * ready. Its calls end {@link CallStatus#SKIPPED} ({@link CallFailure#REDEPLOYING}) meanwhile.
     * The status shows the new deployment.
     */
    REDEPLOYING,
    /**
     * Could not be connected or set up, or was disconnected (by the failure policy or by the
     * coordinator); it stays out until the directory announces a new deployment or a restart.
     * Unless it is {@linkplain ModelStatus#isEjected() ejected}: then the fleet takes it back
     * itself once {@link ModelStatus#ejectedUntil()} has passed, if it is healthy.
     */
    DISCONNECTED
  }

  /**
   * How the calls that targeted a model ended.
   *
   * @param calls calls sent to the model
   * @param successes calls that succeeded
   * @param failures calls that failed (the model's status, or a transport error)
   * @param timeouts calls with no answer by their deadline
   * @param skipped calls the model sat out after timeouts ({@link CallStatus#SKIPPED})
   */
  public record Counts(long calls, long successes, long failures, long timeouts, long skipped) {}

  /**
   * Returns whether the model sits out an ejection: disconnected by the failure policy, and to be
   * checked and taken back at {@link #ejectedUntil()}.
   */
  public boolean isEjected() {
    return ejectedUntil.isPresent();
  }

  /** Returns the model's id. */
  public String modelId() {
    return model.modelId();
  }

  /** Returns the id of the deployment. */
  public String deploymentId() {
    return model.deploymentId();
  }

  /** Returns the deployment's descriptive information (values may be null). */
  public Map<String, String> infos() {
    return model.infos();
  }
}
