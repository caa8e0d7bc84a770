package org.modelrunner.client;

/** How one model's part of a fan-out ended. */
public enum CallStatus {
  /** The model answered with {@code SUCCESS}; the outcome carries its value (if any). */
  SUCCESS,
  /**
   * The model answered with another status, the transport failed, or the client could not send the call;
   * the outcome carries the {@link CallFailure}.
   */
  FAILURE,
  /** No answer arrived before the fan-out's deadline. */
  TIMEOUT,
  /**
   * The client did not send the call: the model is sitting out calls after timeouts (the cooldown), so
   * that a runner still busy with an earlier call gets time to finish. The outcome's {@link CallFailure}
   * (code {@link CallFailure#COOLDOWN}) says how many calls it still sits out. Not a timeout: it does not
   * count towards the failure policy.
   */
  SKIPPED
}
