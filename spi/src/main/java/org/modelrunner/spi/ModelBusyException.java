package org.modelrunner.spi;

/**
 * Thrown when a setup, call or reset reaches a hosted model while another one is still running on
 * it. The request is rejected at once, never queued; the gRPC runner answers it with {@code
 * RESOURCE_EXHAUSTED} and the details {@value #MESSAGE}.
 */
public class ModelBusyException extends RuntimeException {
  /** The message the protocol uses for this rejection. */
  public static final String MESSAGE = StatusMessages.SERVER_BUSY;

  /** Creates the exception with the protocol's message. */
  public ModelBusyException() {
    super(MESSAGE);
  }
}
