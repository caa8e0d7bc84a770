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
    /**
     * The runner refused the caller's credentials (gRPC {@code UNAUTHENTICATED}: a coordinator key
     * that is not registered, a gateway token refused).
     */
    UNAUTHENTICATED,
    /**
     * The runner could not be authenticated: its TLS certificate (authority, name, the one pinned)
     * or its signed identity failed verification, or it closed the connection after the handshake
     * (it refused the client certificate). Not retried: the runner is not the one expected.
     */
    AUTHENTICATION_FAILED,
    /**
     * The runner requires TLS (secure mode, or a gateway) and the transport was given no
     * credentials: the coordinator's configuration error, not the model's.
     */
    CREDENTIALS_REQUIRED,
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
