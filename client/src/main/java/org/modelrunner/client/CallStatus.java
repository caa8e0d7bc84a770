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
  TIMEOUT
}
