package org.modelrunner.conformance;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.PreparedCall;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportException;

/**
 * The suite's side of one connection: sends setups, calls (prepared by the connection's transport),
 * resets and health checks, and returns them as {@link Pending} requests whose bound is enforced
 * when awaited.
 */
final class Caller {
  private final String label;
  private final ModelTransport transport;
  private final ModelConnection connection;
  private final Duration tolerance;

  Caller(String label, ModelTransport transport, ModelConnection connection, Duration tolerance) {
    this.label = label;
    this.transport = transport;
    this.connection = connection;
    this.tolerance = tolerance;
  }

  ModelConnection connection() {
    return connection;
  }

  ModelTransport transport() {
    return transport;
  }

  Pending<Reply> sendSetup(String className, Arguments arguments, Duration timeout) {
    return send(
        "setup(\"" + className + "\") on " + label,
        timeout,
        () -> connection.setup(className, arguments, timeout));
  }

  Pending<Reply> sendCall(String method, Arguments arguments, Duration timeout) {
    String what = "call " + method + " on " + label;
    long start = System.nanoTime();
    PreparedCall prepared;
    try {
      prepared = transport.prepare(method, arguments);
    } catch (TransportException e) {
      return Pending.rejected(what + " (refused by prepare)", start, e);
    }
    return send(what, timeout, () -> connection.call(prepared, timeout));
  }

  Pending<Reply> sendReset(Duration timeout) {
    return send("reset on " + label, timeout, () -> connection.reset(timeout));
  }

  Pending<HealthStatus> sendHealthCheck(Duration timeout) {
    return send("health check on " + label, timeout, () -> connection.checkHealth(timeout));
  }

  Outcome<Reply> setup(String className, Arguments arguments, Duration timeout) {
    return sendSetup(className, arguments, timeout).await();
  }

  Outcome<Reply> call(String method, Arguments arguments, Duration timeout) {
    return sendCall(method, arguments, timeout).await();
  }

  Outcome<Reply> reset(Duration timeout) {
    return sendReset(timeout).await();
  }

  Outcome<HealthStatus> checkHealth(Duration timeout) {
    return sendHealthCheck(timeout).await();
  }

  private <T> Pending<T> send(
      String what, Duration timeout, Supplier<CompletableFuture<T>> request) {
    long start = System.nanoTime();
    CompletableFuture<T> future;
    try {
      future = request.get();
    } catch (RuntimeException e) {
      throw new AssertionError(
          what
              + " threw "
              + e
              + " instead of returning a future: ModelConnection operations report every"
              + " failure through their future",
          e);
    }
    return Pending.of(what, start, timeout, tolerance, future);
  }

  @Override
  public String toString() {
    return label;
  }
}
