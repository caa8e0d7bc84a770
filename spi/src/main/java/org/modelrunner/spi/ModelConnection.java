package org.modelrunner.spi;

import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A client's connection to one model endpoint, made by {@link ModelTransport#connect}.
 *
 * <p>Every operation is asynchronous and bounded: its future completes normally with the runner's
 * {@link Reply} (whatever its status code), or exceptionally with a {@link TransportException}, no
 * later than its timeout plus a small bound, whatever the model does. Futures may complete on a
 * transport thread: callers must not block in their callbacks. The connection does not queue or
 * serialise requests: the caller sends one at a time, and a runner that is still busy answers
 * {@link TransportException.Kind#BUSY}. Health checks are answered even while a call runs.
 */
public interface ModelConnection extends AutoCloseable {
  /** Returns the endpoint this connection reaches. */
  URI endpoint();

  /** Sends a setup: the base class name and the instance arguments. */
  CompletableFuture<Reply> setup(String className, Arguments arguments, Duration timeout);

  /** Sends a call prepared by the same transport (or any {@link PreparedCall}). */
  CompletableFuture<Reply> call(PreparedCall call, Duration timeout);

  /** Sends a reset (the protocol's {@code Rest}). */
  CompletableFuture<Reply> reset(Duration timeout);

  /** Asks the runner's health service about the runner ({@code ""} service). */
  CompletableFuture<HealthStatus> checkHealth(Duration timeout);

  /**
   * Closes the connection; requests still running complete exceptionally with {@link
   * TransportException.Kind#CANCELLED}. Idempotent, never throws.
   */
  @Override
  void close();
}
