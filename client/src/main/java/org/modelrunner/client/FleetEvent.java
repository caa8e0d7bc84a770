package org.modelrunner.client;

import java.util.Objects;
import org.modelrunner.spi.ModelEndpoint;

/**
 * Something that happened to a model of the fleet: it joined, its infos changed, a new deployment
 * or a restart took over, it is recovering, it left, it failed to connect, or it was disconnected.
 *
 * <p>An ejection (a model the failure policy disconnected, to be re-admitted later: see {@link
 * ModelFleet.Builder#ejection}) uses the kinds that already say what happens to the model's calls,
 * so that a listener written for them keeps working: the ejection is a {@link Kind#DISCONNECTED}
 * with the policy's failure code, whose reason tells how long the model is ejected; the
 * re-admission is a {@link Kind#RESTARTED} with the code {@link #READMITTED}. While ejected, the
 * model's {@link ModelStatus#ejectedUntil()} tells until when.
 *
 * @param kind what happened
 * @param model the deployment it happened to (for {@link Kind#REPLACED}, the new one)
 * @param code for {@link Kind#DISCONNECTED} and {@link Kind#CONNECTION_FAILED}: the failure code,
 *     such as {@code MULTIPLE_TIMEOUT}, {@code MULTIPLE_FAILED}, {@code BAD_IMPLEMENTATION}, {@code
 *     CONNECTION_FAILED}, or {@link #LOCAL} for a model the coordinator disconnected itself; for
 *     {@link Kind#RESTARTED}, {@link #READMITTED} when the model comes back from an ejection; empty
 *     otherwise
 * @param reason a human-readable explanation; empty when there is none
 */
public record FleetEvent(Kind kind, ModelEndpoint model, String code, String reason) {
  /**
   * The code of a {@link Kind#DISCONNECTED} event for a model the coordinator disconnected itself.
   */
  public static final String LOCAL = "LOCAL";

  /**
   * The code of a {@link Kind#RESTARTED} event for a model taken back after an ejection: its
   * ejection time was over, its runner answered a health check and it was set up again.
   */
  public static final String READMITTED = "READMITTED";

  /** The kinds of event. */
  public enum Kind {
    /** The model joined the fleet: it was set up and now receives calls. */
    CONNECTED,
    /**
     * The directory changed the model's infos (same deployment, same address); nothing else
     * changed.
     */
    INFOS_UPDATED,
    /**
     * A new deployment of the model (a new submission, a new deployment id) was set up and now
     * receives the calls; the previous deployment receives no more. The reason names the previous
     * deployment. If the directory stopped the previous deployment first (the Model Orchestrator
     * does, on a redeploy), the model was {@link ModelStatus.State#REDEPLOYING} meanwhile, and no
     * {@link #LEFT} was sent.
     */
    REPLACED,
    /**
     * The model was set up again on the same deployment and receives calls again: its process
     * restarted (the directory reported it {@code RECOVERING}, then {@code RUNNING}, or it moved to
     * a new address), the fleet reconnected it after it became unreachable or unhealthy, or the
     * fleet took it back after an ejection (code {@link FleetEvent#READMITTED}). It may have lost
     * its in-memory state: bring it up to date as a new model.
     */
    RESTARTED,
    /**
     * The directory reports the model's process restarting; it receives no calls until it runs
     * again.
     */
    RECOVERING,
    /** The model could not be connected or set up (after retries); it receives no calls. */
    CONNECTION_FAILED,
    /**
     * The directory no longer lists the model (it stopped, or a snapshot left it out); it receives
     * no more calls. Also sent for a model still connecting, which never got a {@link #CONNECTED}.
     * Not sent when the stopped deployment is being replaced by a newer one of the same model (a
     * redeploy: see {@link #REPLACED}).
     */
    LEFT,
    /**
     * The model was disconnected, by the failure policy (reported to the directory) or by the
     * coordinator ({@link ModelFleet#disconnect}, code {@link FleetEvent#LOCAL}, not reported); it
     * receives no more calls. Unless it was ejected: a model the failure policy disconnected for
     * its failures or timeouts while its directory does not act on reports sits out its ejection
     * time (the reason says how long; {@link ModelStatus#ejectedUntil()}), then comes back with a
     * {@link #RESTARTED} ({@link FleetEvent#READMITTED}) if it is healthy, or is ejected again for
     * longer (another event of this kind, not reported again).
     */
    DISCONNECTED
  }

  /**
   * Creates the event.
   *
   * @throws NullPointerException if an argument is null
   */
  public FleetEvent {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(reason, "reason");
  }

  /** Returns the model's id. */
  public String modelId() {
    return model.modelId();
  }
}
