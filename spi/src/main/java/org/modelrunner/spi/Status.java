package org.modelrunner.spi;

import java.util.Objects;

/**
 * The outcome a runner reports for a setup, call or reset: a code and a message (the protocol's
 * {@code commons.Status}).
 *
 * <p>The code is kept as a string because a peer may send codes this library does not know; {@link
 * #is(StatusCode)} compares it with a known one.
 *
 * @param code the outcome's code, such as {@code "SUCCESS"}
 * @param message a human-readable explanation; empty when there is none
 */
public record Status(String code, String message) {
  /**
   * Creates a status.
   *
   * @throws NullPointerException if an argument is null
   */
  public Status {
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(message, "message");
  }

  /** Returns a status with a known code. */
  public static Status of(StatusCode code, String message) {
    return new Status(code.name(), message);
  }

  /** Returns whether this status has the given code. */
  public boolean is(StatusCode expected) {
    return code.equals(expected.name());
  }

  /** Returns whether this is a {@link StatusCode#SUCCESS}. */
  public boolean isSuccess() {
    return is(StatusCode.SUCCESS);
  }

  @Override
  public String toString() {
    return message.isEmpty() ? code : code + ": " + message;
  }
}
