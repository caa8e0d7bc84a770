package org.modelrunner.client;

import java.util.Objects;
import org.modelrunner.spi.ModelEndpoint;

/**
 * Something that happened to a model of the fleet: it connected, left, failed to connect, or was
 * disconnected by the failure policy.
 *
 * @param kind what happened
 * @param model the deployment it happened to
 * @param code for {@link Kind#DISCONNECTED} and {@link Kind#CONNECTION_FAILED}: the failure code, such as
 *     {@code MULTIPLE_TIMEOUT}, {@code MULTIPLE_FAILED}, {@code BAD_IMPLEMENTATION} or
 *     {@code CONNECTION_FAILED}; empty otherwise
 * @param reason a human-readable explanation; empty when there is none
 */
public record FleetEvent(Kind kind, ModelEndpoint model, String code, String reason) {
  /** The kinds of event. */
  public enum Kind {
    /** The model was set up and now receives calls. */
    CONNECTED,
    /** The model could not be connected or set up (after retries); it receives no calls. */
    CONNECTION_FAILED,
    /** The directory no longer lists the model; it receives no more calls. */
    LEFT,
    /** The failure policy disconnected the model; it receives no more calls. */
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
