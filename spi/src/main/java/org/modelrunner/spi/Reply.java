package org.modelrunner.spi;

import java.util.Objects;
import java.util.Optional;

/**
 * What a hosted model answers to a setup, call or reset: a {@link Status} and, for a call that
 * returned a value, that value (the protocol's {@code SetupResponse}, {@code CallResponse} and
 * {@code RestResponse}).
 */
public final class Reply {
  private static final Status SUCCESS = Status.of(StatusCode.SUCCESS, "");

  private final Status status;

  /** Made once: transports and the fleet ask for it a few times per call. */
  private final Optional<Variant> value;

  private Reply(Status status, Variant value) {
    this.status = Objects.requireNonNull(status, "status");
    this.value = Optional.ofNullable(value);
  }

  /** Returns a reply without a value. */
  public static Reply of(Status status) {
    return new Reply(status, null);
  }

  /**
   * Returns a reply with a status and a value ({@code null} for none), as a transport received
   * them.
   */
  public static Reply of(Status status, Variant value) {
    return new Reply(status, value);
  }

  /** Returns a reply without a value, with a known code. */
  public static Reply of(StatusCode code, String message) {
    return new Reply(Status.of(code, message), null);
  }

  /**
   * Returns a successful call's reply. A {@code null} value means the method returned nothing; on
   * the wire the response value is then unset.
   */
  public static Reply success(Variant value) {
    return new Reply(SUCCESS, value);
  }

  /** Returns the status. */
  public Status status() {
    return status;
  }

  /**
   * Returns the returned value, or empty when the method returned nothing (or for setup and reset).
   */
  public Optional<Variant> value() {
    return value;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Reply other && status.equals(other.status) && value.equals(other.value);
  }

  @Override
  public int hashCode() {
    return Objects.hash(status, value);
  }

  @Override
  public String toString() {
    return value.isEmpty()
        ? "Reply{" + status + "}"
        : "Reply{" + status + ", " + value.orElseThrow() + "}";
  }
}
