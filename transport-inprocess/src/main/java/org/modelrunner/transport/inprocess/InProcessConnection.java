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
 * org.modelrunner.spi.ModelTransport#prepare}), linked into the connection's list of requests in
 * flight with its due time, and handed to the runner, which checks and claims the model on the same
 * thread and runs it on a worker. Failures found before the model is reached (unknown name, busy,
 * too large, closed) complete the future before the method returns.
 *
 * <p>Deadlines: the connection keeps one entry on the shared timer, due no later than its earliest
 * request in flight (the armed {@link Expiry}). When it fires, the connection fails the requests
 * that are due and arms a new entry for the earliest of the rest. A request only arms an entry when
 * it is due before the armed one, so a fleet calling its models over and over with one timeout arms
 * about one entry per model per timeout, not one per call: nothing per call stays on the timer (nor
 * reachable from it) after the call completes, and the calling thread does no atomic operation for
 * the deadline.
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

  /**
   * Requests in flight: a doubly linked list through the exchanges, whose first is kept in the
   * transport's {@link InFlightHeads} (in {@code heads[head]}); guarded by this, and given back
   * when the connection closes.
   */
  private final Exchange[] heads;

  private final int head;
  private final int slot; // its id in the transport's InFlightHeads
  private boolean closed;

  /**
   * The timer entry that is due no later than every request in flight, or null; guarded by this. It
   * stays armed after the requests complete, until it fires: then only requests still in flight arm
   * the next. Only the armed entry refers to the connection (those it replaced, and the one a close
   * disarms, let go of it), so a closed connection is not kept reachable until a due time.
   */
  private Expiry armed;

  /**
   * The due time of {@link #armed} (the entry itself does not keep it): a request compares against
   * it without reading the entry, one cache line less per call; guarded by this.
   */
  private long armedDueNanos;

  InProcessConnection(InProcessTransport transport, URI endpoint, String name) {
    this.transport = transport;
    this.endpoint = endpoint;
    this.name = name;
    InFlightHeads.Slot taken = transport.inFlightHeads.take();
    this.heads = taken.chunk();
    this.head = taken.index();
    this.slot = taken.id();
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
    exchange.dueNanos = DeadlineTimer.dueIn(exchange.timeoutNanos());
    if (!link(exchange)) {
      return CompletableFuture.failedFuture(cancelled());
    }
    if (exchange.timeoutNanos() <= 0) {
      exchange.expire();
      return exchange;
    }
    HostedRunner runner = runner();
    if (runner == null) {
      exchange.fail(notRegistered());
    } else {
      runner.accept(exchange);
    }
    return exchange;
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

  /**
   * Adds a request to the list of requests in flight, and arms the timer if it is due first (not
   * for a request without time, which its sender expires at once).
   */
  private synchronized boolean link(Exchange exchange) {
    if (closed) {
      return false;
    }
    Exchange first = heads[head];
    exchange.nextInFlight = first;
    if (first != null) {
      first.previousInFlight = exchange;
    }
    heads[head] = exchange;
    exchange.inFlight = true;
    if (exchange.timeoutNanos() > 0 && (armed == null || exchange.dueNanos - armedDueNanos < 0)) {
      arm(exchange.dueNanos);
    }
    return true;
  }

  /** Schedules a new timer entry at {@code dueNanos}, replacing the armed one; holds the lock. */
  private void arm(long dueNanos) {
    disarm();
    Expiry entry = new Expiry(this);
    armed = entry;
    armedDueNanos = dueNanos;
    transport.resources.timer.scheduleAt(entry, dueNanos);
  }

  /** Lets go of the armed entry, which then fires and does nothing; holds the lock. */
  private void disarm() {
    if (armed != null) {
      armed.connection = null;
      armed = null;
    }
  }

  /**
   * Runs on the timer thread when {@code entry} fires: fails the requests in flight that are due,
   * and arms the timer for the earliest of the rest.
   */
  private void expireDue(Expiry entry) {
    Exchange due = null;
    synchronized (this) {
      if (entry != armed) {
        return; // replaced by an earlier entry, or the connection closed
      }
      disarm();
      long now = System.nanoTime();
      Exchange earliest = null;
      for (Exchange exchange = heads[head]; exchange != null; exchange = exchange.nextInFlight) {
        if (exchange.dueNanos - now <= 0) {
          exchange.nextDue = due;
          due = exchange;
        } else if (earliest == null || exchange.dueNanos - earliest.dueNanos < 0) {
          earliest = exchange;
        }
      }
      if (earliest != null) {
        arm(earliest.dueNanos);
      }
    }
    while (due != null) {
      Exchange next = due.nextDue;
      due.nextDue = null;
      due.expire();
      due = next;
    }
  }

  /**
   * Returns how many deadline entries of connections wait on the shared timer, armed or not (an
   * entry stays there until its due time); for tests.
   */
  long pendingDeadlineEntries() {
    return transport.resources.timer.countPending(task -> task instanceof Expiry);
  }

  /** A timer entry of the connection's deadlines. */
  private static final class Expiry extends DeadlineTimer.Timed {
    /** The connection, until it disarms this entry (read racily: expireDue checks). */
    private InProcessConnection connection;

    Expiry(InProcessConnection connection) {
      this.connection = connection;
    }

    @Override
    void fire() {
      InProcessConnection owner = connection;
      if (owner != null) {
        owner.expireDue(this);
      }
    }
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
      heads[head] = next;
    } else {
      previous.nextInFlight = next;
    }
    if (next != null) {
      next.previousInFlight = previous;
    }
    exchange.previousInFlight = null;
    exchange.nextInFlight = null;
  }

  /**
   * Returns the requests in flight that hold the model of {@code runner}: claimed, and not released
   * (at most one).
   */
  synchronized List<Exchange> claimsOn(HostedRunner runner) {
    List<Exchange> claims = new ArrayList<>(1);
    if (closed) {
      return claims; // its requests were cancelled, and its slot given back
    }
    for (Exchange exchange = heads[head]; exchange != null; exchange = exchange.nextInFlight) {
      if (exchange.holds(runner)) {
        claims.add(exchange);
      }
    }
    return claims;
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
      disarm();
      for (Exchange exchange = heads[head]; exchange != null; ) {
        Exchange next = exchange.nextInFlight;
        exchange.inFlight = false;
        exchange.previousInFlight = null;
        exchange.nextInFlight = null;
        cancelled.add(exchange);
        exchange = next;
      }
      heads[head] = null;
      transport.inFlightHeads.give(slot);
    }
    transport.forget(this);
    for (Exchange exchange : cancelled) {
      exchange.fail(cancelled()); // one whose model code runs becomes its runner's orphan
    }
    HostedRunner known = runner;
    if (known != null) {
      known.forget(this);
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
