package org.modelrunner.client;

import java.util.Objects;

/**
 * Why a model's call failed: where the failure came from, its code and its message. Nothing is
 * dropped: the runner's status message or the transport's error text is kept whole.
 *
 * @param source who reported the failure
 * @param code the runner's status code (such as {@code MODEL_FAILED}), the transport's error kind
 *     (such as {@code UNAVAILABLE} or {@code BUSY}), or the client's reason (such as {@code
 *     NOT_CONNECTED})
 * @param message the explanation
 */
public record CallFailure(Source source, String code, String message) {
  /** Who reported a failure. */
  public enum Source {
    /** The runner answered with a status other than {@code SUCCESS}. */
    MODEL,
    /** The transport could not deliver the call or its answer. */
    TRANSPORT,
    /**
     * The client did not send the call (the model was not connected, its queue was full, or it is
     * sitting out calls after timeouts).
     */
    CLIENT
  }

  /** The client code for a model that is known but not connected when the call starts. */
  public static final String NOT_CONNECTED = "NOT_CONNECTED";

  /**
   * The client code of a {@link CallStatus#SKIPPED} outcome: the model sits out calls after
   * timeouts.
   */
  public static final String COOLDOWN = "COOLDOWN";

  /**
   * The client code of a {@link CallStatus#SKIPPED} outcome: the model is between two deployments
   * (the old one stopped, the new one is being set up; {@link ModelStatus.State#REDEPLOYING}).
   */
  public static final String REDEPLOYING = "REDEPLOYING";

  /**
   * The client code of a {@link CallStatus#SKIPPED} outcome: the model's process is restarting, or
   * the fleet is setting it up again ({@link ModelStatus.State#RECOVERING}, or a restart being set
   * up).
   */
  public static final String RECOVERING = "RECOVERING";

  /**
   * The client code of a {@link CallStatus#CANCELLED} outcome: the fan-out completed without this
   * answer (its strategy needed no more).
   */
  public static final String NOT_NEEDED = "NOT_NEEDED";

  /**
   * The client code of a {@link CallStatus#SKIPPED} outcome: the call could not be sent before its
   * deadline, because the fan-out's strategy bounds the calls in flight.
   */
  public static final String NOT_SENT = "NOT_SENT";

  /** The client code of the calls still running when the fleet was closed. */
  public static final String FLEET_CLOSED = "FLEET_CLOSED";

  /** The client code for a call refused because the model's queue of pending calls is full. */
  public static final String QUEUE_FULL = "QUEUE_FULL";

  /**
   * Creates the failure.
   *
   * @throws NullPointerException if an argument is null
   */
  public CallFailure {
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(message, "message");
  }

  @Override
  public String toString() {
    return source + " " + code + (message.isEmpty() ? "" : ": " + message);
  }
}
