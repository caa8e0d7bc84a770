package org.modelrunner.transport.grpc;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ClientStreamTracer;
import io.grpc.ConnectivityState;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.modelrunner.spi.TransportException;

/**
 * One request in flight on a {@link GrpcConnection}: a unary gRPC call, the listener of its answer,
 * and the future its caller holds. The future completes once (a call's on the event loop that
 * received its answer, other requests' on the transport's callback threads): with the converted
 * answer, with the {@link TransportException} its gRPC status maps to, or with {@code CANCELLED}
 * when the connection is closed.
 *
 * <p>It knows whether the request reached the runner: {@link #SENT_MARKER}, a stream tracer factory
 * on every call, marks it when gRPC creates its stream on a connected transport. A request whose
 * deadline passes before that never left the client; if the endpoint's last connection attempt
 * failed, it fails {@code UNAVAILABLE} with that error, since the runner could not be reached.
 *
 * @param <Q> the request message type
 * @param <R> the response message type
 * @param <T> the type of the future's value
 */
final class ClientExchange<Q, R, T> extends ClientCall.Listener<R> {
  /**
   * Converts a response message into the future's value; may throw a {@link TransportException}.
   */
  interface Answer<R, T> {
    T convert(R response);

    /** Returns the value a non-OK status stands for, or null if it is a failure. */
    default T onStatus(Status status) {
      return null;
    }
  }

  /** The call option that carries the exchange to {@link #SENT_MARKER}. */
  static final CallOptions.Key<ClientExchange<?, ?, ?>> KEY =
      CallOptions.Key.create("modelrunner-exchange");

  private static final ClientStreamTracer NO_TRACER = new ClientStreamTracer() {};

  /**
   * Marks an exchange sent when its stream is created on a connected transport. gRPC makes a tracer
   * for each attempt, before the attempt finds a transport: a new attempt starts unsent. A request
   * whose stream the runner's closing transport refused is retried transparently, and if that
   * attempt then waits for a connection until the deadline, the runner could not be reached: it did
   * not fail to answer.
   */
  static final ClientStreamTracer.Factory SENT_MARKER =
      new ClientStreamTracer.Factory() {
        @Override
        public ClientStreamTracer newClientStreamTracer(
            ClientStreamTracer.StreamInfo info, Metadata headers) {
          ClientExchange<?, ?, ?> exchange = info.getCallOptions().getOption(KEY);
          if (exchange == null) {
            return NO_TRACER;
          }
          exchange.sent = false;
          return exchange.new SentMarker();
        }
      };

  /** The future of the request: cancelling it cancels the gRPC call. */
  final class ReplyFuture extends CompletableFuture<T> {
    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      boolean cancelled = super.cancel(mayInterruptIfRunning);
      if (cancelled) {
        cancelCall("The caller cancelled the request");
      }
      return cancelled;
    }
  }

  final ReplyFuture future = new ReplyFuture();

  private final GrpcConnection connection;
  private volatile EndpointChannels channels; // set before the call starts
  private final boolean onHealthChannel;

  /**
   * The request's kind ({@code call}, {@code setup}, {@code reset}, {@code health check}), and the
   * method of a call (null for the others): named together by {@link #request()}.
   */
  private final String request;

  private final String method;
  private final long timeoutNanos;
  private final Answer<R, T> answer;

  private volatile boolean sent;
  private R response; // written and read on the call's serialized callbacks

  private ClientCall<Q, R> call; // guarded by this
  private boolean started; // guarded by this
  private boolean cancelled; // guarded by this

  ClientExchange(
      GrpcConnection connection,
      boolean onHealthChannel,
      String request,
      String method,
      long timeoutNanos,
      Answer<R, T> answer) {
    this.connection = connection;
    this.onHealthChannel = onHealthChannel;
    this.request = request;
    this.method = method;
    this.timeoutNanos = timeoutNanos;
    this.answer = answer;
  }

  /**
   * Starts the call and sends the request, unless the exchange was cancelled first. Never blocks.
   */
  void start(ClientCall<Q, R> newCall, Q message) {
    synchronized (this) {
      if (cancelled) {
        return;
      }
      call = newCall;
      try {
        newCall.start(this, new Metadata());
        newCall.request(2);
        newCall.sendMessage(message);
        newCall.halfClose();
      } catch (RuntimeException e) {
        newCall.cancel("The request could not be sent", e);
        fail(
            new TransportException(
                TransportException.Kind.INTERNAL,
                request() + " on " + connection.endpoint() + ": " + e,
                e));
      }
      started = true;
    }
  }

  /** Sets the channels the call runs on, before it starts. */
  void bind(EndpointChannels endpointChannels) {
    this.channels = endpointChannels;
  }

  boolean onHealthChannel() {
    return onHealthChannel;
  }

  /**
   * Fails the request with {@code reason} unless it completed, forgets it and cancels its gRPC call
   * if it started (a deadline that passed before it could start, a failed probe).
   */
  void expire(TransportException reason) {
    connection.forget(this);
    cancel(reason);
  }

  /** As {@link #expire}, unless the call started (its own deadline then applies). */
  void expireUnlessStarted(TransportException reason) {
    synchronized (this) {
      if (started) {
        return;
      }
    }
    expire(reason);
  }

  /** Fails the future with {@code reason} and cancels the gRPC call. */
  void cancel(TransportException reason) {
    future.completeExceptionally(reason);
    cancelCall(reason.getMessage());
  }

  private void cancelCall(String why) {
    ClientCall<Q, R> toCancel;
    synchronized (this) {
      cancelled = true;
      toCancel = started ? call : null;
    }
    if (toCancel != null) {
      toCancel.cancel(why, null);
    }
  }

  private void fail(TransportException failure) {
    connection.forget(this);
    future.completeExceptionally(failure);
  }

  @Override
  public void onMessage(R message) {
    if (response != null) {
      cancelCall("The runner sent more than one response");
      fail(
          new TransportException(
              TransportException.Kind.INTERNAL,
              request()
                  + " on "
                  + connection.endpoint()
                  + ": the runner sent more than one response"));
      return;
    }
    response = message;
  }

  @Override
  public void onClose(Status status, Metadata trailers) {
    connection.forget(this);
    if (future.isDone()) {
      return;
    }
    if (status.isOk()) {
      if (response == null) {
        future.completeExceptionally(
            new TransportException(
                TransportException.Kind.INTERNAL,
                request()
                    + " on "
                    + connection.endpoint()
                    + ": the runner closed the call without an answer"));
        return;
      }
      try {
        future.complete(answer.convert(response));
      } catch (TransportException e) {
        future.completeExceptionally(e);
      } catch (RuntimeException e) {
        future.completeExceptionally(
            new TransportException(
                TransportException.Kind.INTERNAL,
                request()
                    + " on "
                    + connection.endpoint()
                    + ": malformed answer: "
                    + e.getMessage(),
                e));
      }
      return;
    }
    T value = answer.onStatus(status);
    if (value != null) {
      future.complete(value);
      return;
    }
    TransportException failure = failure(status);
    EndpointChannels endpoint = channels;
    CompletableFuture<Boolean> speaksTls =
        failure.kind() == TransportException.Kind.UNAVAILABLE && endpoint != null
            ? endpoint.speaksTls()
            : null;
    if (speaksTls == null) {
      future.completeExceptionally(failure);
      return;
    }
    // A plaintext request that could not reach its runner: say so if the runner speaks TLS.
    speaksTls.whenComplete(
        (tls, error) ->
            future.completeExceptionally(
                Boolean.TRUE.equals(tls) ? credentialsRequired(failure) : failure));
  }

  private TransportException credentialsRequired(TransportException failure) {
    return new TransportException(
        TransportException.Kind.CREDENTIALS_REQUIRED,
        request()
            + " on "
            + connection.endpoint()
            + ": CREDENTIALS_REQUIRED: the runner speaks TLS and this transport is plaintext: The"
            + " Model Nodes are in secure mode and credentials were not provided for connection."
            + " Give the gRPC transport SecureCredentials, GatewayCredentials or TLS"
            + " (GrpcTransportProvider.builder())",
        failure);
  }

  /**
   * Maps a failed call's status, telling a runner that could not be reached from one that did not
   * answer.
   */
  private TransportException failure(Status status) {
    if (connection.isClosed()) {
      return connection.closedException();
    }
    if (status.getCode() != Status.Code.DEADLINE_EXCEEDED || sent) {
      return GrpcFailures.of(status, request(), connection.endpoint());
    }
    long millis = TimeUnit.NANOSECONDS.toMillis(timeoutNanos);
    EndpointChannels channels = this.channels;
    if (channels == null) {
      return GrpcFailures.of(status, request(), connection.endpoint());
    }
    ConnectivityState state = (onHealthChannel ? channels.health() : channels.main).getState(false);
    Status connectionError = channels.connectionError();
    if (connectionError != null && state != ConnectivityState.READY) {
      return new TransportException(
          TransportException.Kind.UNAVAILABLE,
          request()
              + " on "
              + connection.endpoint()
              + ": cannot connect to "
              + channels.address
              + ": "
              + GrpcFailures.describe(connectionError)
              + " (no connection within the deadline of "
              + millis
              + " ms)",
          connectionError.getCause());
    }
    return new TransportException(
        TransportException.Kind.DEADLINE_EXCEEDED,
        request()
            + " on "
            + connection.endpoint()
            + ": DEADLINE_EXCEEDED: no connection to "
            + channels.address
            + " within the deadline of "
            + millis
            + " ms (the channel is "
            + state
            + "); the request was not sent");
  }

  /**
   * Names the request in messages: its kind ({@code call}, {@code setup}, ...), then the method a
   * call calls. Made only when a message needs it (not on every call).
   */
  String request() {
    return label(request, method);
  }

  /** Names a request of kind {@code request} (and for a call, of {@code method}, else null). */
  static String label(String request, String method) {
    return method == null ? request : request + " " + method;
  }

  /** Returns whether the request's latest attempt reached a transport. */
  boolean sent() {
    return sent;
  }

  /** Marks the exchange sent. */
  private final class SentMarker extends ClientStreamTracer {
    @Override
    public void streamCreated(io.grpc.Attributes transportAttrs, Metadata headers) {
      sent = true;
    }
  }

  @Override
  public String toString() {
    return "ClientExchange{"
        + request()
        + " on "
        + connection.endpoint()
        + (sent ? ", sent" : "")
        + "}";
  }
}
