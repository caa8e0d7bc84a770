package org.modelrunner.client;

/** How one model's part of a fan-out ended. */
public enum CallStatus {
  /** The model answered with {@code SUCCESS}; the outcome carries its value (if any). */
  SUCCESS,
  /**
   * The model answered with another status, the transport failed, or the client could not send the
   * call; the outcome carries the {@link CallFailure}.
   */
  FAILURE,
  /** No answer arrived before the fan-out's deadline. */
  TIMEOUT,
  /**
   * The client did not send the call, and the model is not to blame; the outcome's {@link
   * CallFailure} says why:
   *
   * <ul>
   *   <li>{@link CallFailure#COOLDOWN}: the model sits out calls after timeouts, so that a runner
   *       still busy with an earlier call gets time to finish; the message says how many calls it
   *       still sits out;
   *   <li>{@link CallFailure#REDEPLOYING}: the model is between two deployments (the old one
   *       stopped, the new one is being set up);
   *   <li>{@link CallFailure#RECOVERING}: the model's process is restarting, or it is being set up
   *       again.
   * </ul>
   *
   * Not a timeout: it does not count towards the failure policy.
   */
  SKIPPED,
  /**
   * The fan-out completed without this model's answer: its {@link FanOutStrategy} needed no more (a
   * quorum was reached). A call already sent may still run on the runner; its answer is dropped.
   * Code {@link CallFailure#NOT_NEEDED}; not counted by the failure policy.
   */
  CANCELLED
}
