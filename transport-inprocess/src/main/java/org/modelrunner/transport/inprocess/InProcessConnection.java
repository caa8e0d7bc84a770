package org.modelrunner.transport.inprocess;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.PreparedCall;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportException;

/**
 * A connection to one {@code inproc://name} endpoint. It holds no runner: the name is looked up in
 * {@link InProcessModels} on every request, so a connection made before its model is registered (or
 * after it crashed and was registered again) works as soon as the name is there.
 *
 * <p>A request is encoded on the caller's thread (a call's bytes come from {@link
 * org.modelrunner.spi.ModelTransport#prepare}), given a deadline on the shared timer, and handed to
 * the runner, which checks and claims the model on the same thread and runs it on a worker.
 * Failures found before the model is reached (unknown name, busy, too large, closed) complete the
 * future before the method returns.
 */
final class InProcessConnection implements ModelConnection {
  private static final byte[] EMPTY_NAME = new byte[0];
  private static final byte[] RESET_REQUEST =
      WireFormat.encodeRequest(
          WireFormat.RESET,
          EMPTY_NAME,
          Arguments.none(),
          WireFormat.requestSize(EMPTY_NAME, Arguments.none()));

  private final InProcessTransport transport;
  private final URI endpoint;
  private final String name;

  /** The runner last found under the name, while it stays registered. */
  private volatile HostedRunner runner;

  // Requests in flight: a doubly linked list through the exchanges; guarded by this.
  private Exchange inFlight;
  private boolean closed;

  InProcessConnection(InProcessTransport transport, URI endpoint, String name) {
    this.transport = transport;
    this.endpoint = endpoint;
    this.name = name;
  }

  @Override
  public URI endpoint() {
    return endpoint;
  }

  int maxMessageBytes() {
    return transport.maxMessageBytes;
  }

  @Override
  public CompletableFuture<Reply> setup(String className, Arguments arguments, Duration timeout) {
    Objects.requireNonNull(arguments, "arguments");
    Objects.requireNonNull(timeout, "timeout");
    String baseClass = className == null ? "" : className;
    byte[] nameBytes = baseClass.getBytes(StandardCharsets.UTF_8);
    long size = WireFormat.requestSize(nameBytes, arguments);
    if (size > transport.maxMessageBytes) {
      return CompletableFuture.failedFuture(transport.tooLarge(size));
    }
    byte[] request = WireFormat.encodeRequest(WireFormat.SETUP, nameBytes, arguments, size);
    return send(
        new Exchange(this, WireFormat.SETUP, baseClass, arguments, request, nanos(timeout)));
  }

  @Override
  public CompletableFuture<Reply> call(PreparedCall call, Duration timeout) {
    Objects.requireNonNull(call, "call");
    Objects.requireNonNull(timeout, "timeout");
    EncodedCall encoded;
    try {
      encoded = transport.encode(call);
    } catch (TransportException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (encoded.request.length > transport.maxMessageBytes) {
      return CompletableFuture.failedFuture(transport.tooLarge(encoded.request.length));
    }
    return send(
        new Exchange(
            this,
            WireFormat.CALL,
            encoded.methodName(),
            encoded.arguments(),
            encoded.request,
            nanos(timeout)));
  }

  @Override
  public CompletableFuture<Reply> reset(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    return send(
        new Exchange(this, WireFormat.RESET, "", Arguments.none(), RESET_REQUEST, nanos(timeout)));
  }

  /** Sends raw request bytes, as a broken peer could: for tests of malformed input. */
  CompletableFuture<Reply> sendRaw(byte kind, byte[] request, Duration timeout) {
    return send(new Exchange(this, kind, "", Arguments.none(), request, nanos(timeout)));
  }

  @Override
  public CompletableFuture<HealthStatus> checkHealth(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    synchronized (this) {
      if (closed) {
        return CompletableFuture.failedFuture(cancelled());
      }
    }
    HostedRunner runner = runner();
    if (runner == null) {
      return CompletableFuture.failedFuture(notRegistered());
    }
    try {
      return CompletableFuture.completedFuture(runner.health());
    } catch (TransportException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private CompletableFuture<Reply> send(Exchange exchange) {
    if (!link(exchange)) {
      return CompletableFuture.failedFuture(cancelled());
    }
    long timeoutNanos = exchange.timeoutNanos();
    if (timeoutNanos <= 0) {
      exchange.expire();
      return exchange.future;
    }
    exchange.scheduleDeadline(transport.resources.timer);
    HostedRunner runner = runner();
    if (runner == null) {
      exchange.fail(notRegistered());
    } else {
      runner.accept(exchange);
    }
    return exchange.future;
  }

  /** Returns the runner registered under the name now, or null. */
  private HostedRunner runner() {
    HostedRunner known = runner;
    if (known == null || !known.registered) {
      known = InProcessModels.lookup(name);
      runner = known;
    }
    return known;
  }

  private TransportException notRegistered() {
    return new TransportException(
        TransportException.Kind.UNAVAILABLE, "No model is registered at " + endpoint);
  }

  private TransportException cancelled() {
    return new TransportException(
        TransportException.Kind.CANCELLED, "The connection to " + endpoint + " is closed");
  }

  private synchronized boolean link(Exchange exchange) {
    if (closed) {
      return false;
    }
    exchange.nextInFlight = inFlight;
    if (inFlight != null) {
      inFlight.previousInFlight = exchange;
    }
    inFlight = exchange;
    exchange.inFlight = true;
    return true;
  }

  /** Removes a completed request from the list of requests in flight. Idempotent. */
  synchronized void unlink(Exchange exchange) {
    if (!exchange.inFlight) {
      return;
    }
    exchange.inFlight = false;
    Exchange previous = exchange.previousInFlight;
    Exchange next = exchange.nextInFlight;
    if (previous == null) {
      inFlight = next;
    } else {
      previous.nextInFlight = next;
    }
    if (next != null) {
      next.previousInFlight = previous;
    }
    exchange.previousInFlight = null;
    exchange.nextInFlight = null;
  }

  /** Closes the connection: requests in flight fail {@code CANCELLED}; their model calls go on. */
  @Override
  public void close() {
    List<Exchange> cancelled = new ArrayList<>();
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      for (Exchange exchange = inFlight; exchange != null; ) {
        Exchange next = exchange.nextInFlight;
        exchange.inFlight = false;
        exchange.previousInFlight = null;
        exchange.nextInFlight = null;
        cancelled.add(exchange);
        exchange = next;
      }
      inFlight = null;
    }
    transport.forget(this);
    for (Exchange exchange : cancelled) {
      exchange.fail(cancelled());
    }
  }

  private static long nanos(Duration timeout) {
    return HostedRunner.saturatedNanos(timeout);
  }

  @Override
  public String toString() {
    return "InProcessConnection{" + endpoint + "}";
  }
}
