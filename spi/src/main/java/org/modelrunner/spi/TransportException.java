package org.modelrunner.spi;

import java.util.Objects;

/**
 * A failure to reach a model or to get its answer, as opposed to an application outcome (which is a
 * {@link Reply} with a {@link Status}). The {@link Kind} tells apart the failures a coordinator
 * treats differently: a runner that cannot be reached, one that is busy, a deadline that passed.
 */
public class TransportException extends RuntimeException {
  /** The kinds of transport failure. */
  public enum Kind {
    /** The endpoint cannot be reached (not listening, connection refused or lost, model gone). */
    UNAVAILABLE,
    /**
     * The runner is handling another request for this model ({@code RESOURCE_EXHAUSTED "Server
     * busy"}).
     */
    BUSY,
    /** The deadline passed before the answer arrived. */
    DEADLINE_EXCEEDED,
    /** A request or response is larger than the configured limit. */
    MESSAGE_TOO_LARGE,
    /** The runner refused the caller's credentials. */
    UNAUTHENTICATED,
    /** The request was cancelled, or the connection was closed while it ran. */
    CANCELLED,
    /** Any other failure: a malformed answer, a transport bug. */
    INTERNAL
  }

  private final Kind kind;

  /** Creates the exception. */
  public TransportException(Kind kind, String message) {
    super(message);
    this.kind = Objects.requireNonNull(kind, "kind");
  }

  /** Creates the exception with its cause. */
  public TransportException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = Objects.requireNonNull(kind, "kind");
  }

  /** Returns the kind of failure. */
  public Kind kind() {
    return kind;
  }

  @Override
  public String toString() {
    return kind + ": " + getMessage();
  }
}
