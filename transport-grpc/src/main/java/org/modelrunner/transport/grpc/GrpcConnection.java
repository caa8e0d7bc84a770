package org.modelrunner.transport.grpc;

import com.google.protobuf.Empty;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.PreparedCall;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportException;
import org.modelrunner.transport.grpc.proto.CallRequest;
import org.modelrunner.transport.grpc.proto.CallResponse;
import org.modelrunner.transport.grpc.proto.DynamicSubclassServiceGrpc;
import org.modelrunner.transport.grpc.proto.RestResponse;
import org.modelrunner.transport.grpc.proto.SetupRequest;
import org.modelrunner.transport.grpc.proto.SetupResponse;

/**
 * A connection to one {@code grpc://host:port} endpoint. It holds no channel of its own: each
 * request looks up the endpoint's channels in its transport (so that every connection to an
 * endpoint shares them, and an endpoint evicted while unused is opened again) and runs as one
 * {@link ClientExchange}.
 *
 * <p>Requests are sent as they come (the caller sends one at a time; a runner still busy answers
 * {@code BUSY}); each has a deadline. Failures found before anything is sent (a closed connection,
 * a request over the size limit, a timeout that is not positive) complete the future before the
 * method returns.
 */
final class GrpcConnection implements ModelConnection {
  private final GrpcTransport transport;
  private final URI endpoint;
  private final GrpcAddress address;
  private final SecureSession secure;

  /**
   * The transport's options of calls, other requests and health checks, each with the model's id
   * (for gateway tokens) set once here rather than on every request.
   */
  private final CallOptions callOptions;

  private final CallOptions requestOptions;
  private final CallOptions healthOptions;
  private final Set<ClientExchange<?, ?, ?>> inFlight = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  /**
   * @param modelId the model's id (named in gateway tokens), or null if unknown
   * @param secure the connection's own channels in secure mode, or null to share the endpoint's
   */
  GrpcConnection(
      GrpcTransport transport,
      URI endpoint,
      GrpcAddress address,
      String modelId,
      SecureSession secure) {
    this.transport = transport;
    this.endpoint = endpoint;
    this.address = address;
    this.secure = secure;
    this.callOptions = forModel(transport.callOptions, modelId);
    this.requestOptions = forModel(transport.requestOptions, modelId);
    this.healthOptions = forModel(transport.healthOptions, modelId);
  }

  private static CallOptions forModel(CallOptions options, String modelId) {
    return modelId == null ? options : options.withOption(GatewayTokens.MODEL_ID, modelId);
  }

  /** Starts connecting in the background (in secure mode: probing the runner). */
  void requestConnection() {
    if (secure != null) {
      secure.channels();
    } else {
      transport.channelsFor(address).requestConnection();
    }
  }

  @Override
  public URI endpoint() {
    return endpoint;
  }

  /** Sends {@code Setup}; a null class name is sent as empty. */
  @Override
  public CompletableFuture<Reply> setup(String className, Arguments arguments, Duration timeout) {
    Objects.requireNonNull(arguments, "arguments");
    Objects.requireNonNull(timeout, "timeout");
    SetupRequest request =
        SetupRequest.newBuilder()
            .setClassName(className == null ? "" : className)
            .addAllInstanceArguments(Protos.positional(arguments))
            .addAllInstanceKwArguments(Protos.keyword(arguments))
            .build();
    try {
      transport.checkSize(request.getSerializedSize(), "setup", null);
    } catch (TransportException e) {
      return CompletableFuture.failedFuture(e);
    }
    return send(
        DynamicSubclassServiceGrpc.getSetupMethod(),
        request,
        false,
        "setup",
        null,
        timeout,
        GrpcConnection::setupReply);
  }

  @Override
  public CompletableFuture<Reply> call(PreparedCall call, Duration timeout) {
    Objects.requireNonNull(call, "call");
    Objects.requireNonNull(timeout, "timeout");
    CallRequest request;
    try {
      request = transport.requestOf(call);
    } catch (TransportException e) {
      return CompletableFuture.failedFuture(e);
    }
    return send(
        DynamicSubclassServiceGrpc.getCallMethod(),
        request,
        false,
        "call",
        request.getMethodName(),
        timeout,
        GrpcConnection::callReply);
  }

  /** Sends {@code Rest} (the protocol's name for reset). */
  @Override
  public CompletableFuture<Reply> reset(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    return send(
        DynamicSubclassServiceGrpc.getRestMethod(),
        Empty.getDefaultInstance(),
        false,
        "reset",
        null,
        timeout,
        GrpcConnection::resetReply);
  }

  /**
   * Sends {@code grpc.health.v1.Health/Check} for the service {@code ""} on the endpoint's health
   * channel, without waiting for a connection: a runner that cannot be reached fails at once {@code
   * UNAVAILABLE}. A gRPC {@code NOT_FOUND} (the runner does not know the service) is {@code
   * SERVICE_UNKNOWN}.
   */
  @Override
  public CompletableFuture<HealthStatus> checkHealth(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    return send(
        HealthGrpc.getCheckMethod(),
        HealthCheckRequest.getDefaultInstance(),
        true,
        "health check",
        null,
        timeout,
        HEALTH);
  }

  private <Q, R, T> CompletableFuture<T> send(
      MethodDescriptor<Q, R> method,
      Q message,
      boolean health,
      String request,
      String methodName,
      Duration timeout,
      ClientExchange.Answer<R, T> answer) {
    if (closed) {
      return CompletableFuture.failedFuture(closedException());
    }
    long timeoutNanos = saturatedNanos(timeout);
    if (timeoutNanos <= 0) {
      return CompletableFuture.failedFuture(
          new TransportException(
              TransportException.Kind.DEADLINE_EXCEEDED,
              ClientExchange.label(request, methodName)
                  + " on "
                  + endpoint
                  + ": the timeout "
                  + timeout
                  + " is not positive; not sent"));
    }
    ClientExchange<Q, R, T> exchange =
        new ClientExchange<>(this, health, request, methodName, timeoutNanos, answer);
    inFlight.add(exchange);
    if (closed) {
      inFlight.remove(exchange);
      return CompletableFuture.failedFuture(closedException());
    }
    Deadline deadline = Deadline.after(timeoutNanos, TimeUnit.NANOSECONDS);
    if (secure == null) {
      EndpointChannels channels;
      try {
        channels = transport.channelsFor(address);
      } catch (IllegalStateException e) {
        inFlight.remove(exchange);
        return CompletableFuture.failedFuture(closedException());
      }
      start(exchange, channels, method, message, deadline);
      return exchange.future;
    }
    CompletableFuture<EndpointChannels> ready = secure.channels();
    if (ready.isDone() && !ready.isCompletedExceptionally()) {
      start(exchange, ready.join(), method, message, deadline);
      return exchange.future;
    }
    // The runner is being probed: the request waits for its channels, within its deadline.
    long millis = TimeUnit.NANOSECONDS.toMillis(timeoutNanos);
    transport.schedule(
        () ->
            exchange.expireUnlessStarted(
                new TransportException(
                    TransportException.Kind.DEADLINE_EXCEEDED,
                    exchange.request()
                        + " on "
                        + endpoint
                        + ": DEADLINE_EXCEEDED: the TLS probe of the runner did not end within the"
                        + " deadline of "
                        + millis
                        + " ms; the request was not sent")),
        timeoutNanos);
    ready.whenCompleteAsync(
        (channels, error) -> {
          if (error == null) {
            start(exchange, channels, method, message, deadline);
            return;
          }
          Throwable cause = error instanceof CompletionException ? error.getCause() : error;
          if (isClosed()) {
            exchange.expire(closedException());
          } else if (cause instanceof TransportException probe) {
            exchange.expire(
                new TransportException(
                    probe.kind(),
                    exchange.request()
                        + " on "
                        + endpoint
                        + ": "
                        + probe.kind()
                        + ": "
                        + probe.getMessage(),
                    probe));
          } else {
            exchange.expire(
                new TransportException(
                    TransportException.Kind.INTERNAL,
                    exchange.request() + " on " + endpoint + ": the TLS probe failed: " + cause,
                    cause));
          }
        },
        transport.callbacks());
    return exchange.future;
  }

  private <Q, R, T> void start(
      ClientExchange<Q, R, T> exchange,
      EndpointChannels channels,
      MethodDescriptor<Q, R> method,
      Q message,
      Deadline deadline) {
    boolean health = exchange.onHealthChannel();
    ManagedChannel channel;
    try {
      if (health) {
        channel = channels.health();
      } else {
        channels.requestConnection();
        channel = channels.main;
      }
    } catch (IllegalStateException e) {
      exchange.expire(closedException());
      return;
    }
    exchange.bind(channels);
    CallOptions options =
        (health
                ? healthOptions
                : method == DynamicSubclassServiceGrpc.getCallMethod()
                    ? callOptions
                    : requestOptions)
            .withDeadline(deadline)
            .withOption(ClientExchange.KEY, exchange);
    ClientCall<Q, R> call = channel.newCall(method, options);
    exchange.start(call, message);
  }

  void forget(ClientExchange<?, ?, ?> exchange) {
    inFlight.remove(exchange);
  }

  boolean isClosed() {
    return closed || transport.isClosed();
  }

  /** Returns the number of requests in flight; for tests. */
  int inFlight() {
    return inFlight.size();
  }

  TransportException closedException() {
    return new TransportException(
        TransportException.Kind.CANCELLED, "The connection to " + endpoint + " is closed");
  }

  /**
   * Closes the connection: its requests in flight fail {@code CANCELLED} (and their gRPC calls are
   * cancelled), later ones fail {@code CANCELLED} at once. The endpoint's channels stay open for
   * the transport's other connections. Idempotent, never throws.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    transport.forget(this);
    if (secure != null) {
      secure.close();
    }
    List<ClientExchange<?, ?, ?>> cancelled = new ArrayList<>(inFlight);
    inFlight.clear();
    TransportException reason = closedException();
    for (ClientExchange<?, ?, ?> exchange : cancelled) {
      exchange.cancel(reason);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Answers

  private static final ClientExchange.Answer<HealthCheckResponse, HealthStatus> HEALTH =
      new ClientExchange.Answer<>() {
        @Override
        public HealthStatus convert(HealthCheckResponse response) {
          return switch (response.getStatus()) {
            case SERVING -> HealthStatus.SERVING;
            case NOT_SERVING -> HealthStatus.NOT_SERVING;
            case SERVICE_UNKNOWN -> HealthStatus.SERVICE_UNKNOWN;
            default ->
                throw new IllegalArgumentException(
                    "the health service answered " + response.getStatus());
          };
        }

        @Override
        public HealthStatus onStatus(Status status) {
          return status.getCode() == Status.Code.NOT_FOUND ? HealthStatus.SERVICE_UNKNOWN : null;
        }
      };

  private static Reply setupReply(SetupResponse response) {
    requireStatus(response.hasStatus());
    return Reply.of(Protos.fromProto(response.getStatus()));
  }

  private static Reply callReply(CallResponse response) {
    requireStatus(response.hasStatus());
    return Protos.reply(response);
  }

  private static Reply resetReply(RestResponse response) {
    requireStatus(response.hasStatus());
    return Reply.of(Protos.fromProto(response.getStatus()));
  }

  private static void requireStatus(boolean present) {
    if (!present) {
      throw new IllegalArgumentException("the response has no status");
    }
  }

  private static long saturatedNanos(Duration timeout) {
    try {
      return timeout.toNanos();
    } catch (ArithmeticException e) {
      return timeout.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
  }

  @Override
  public String toString() {
    return "GrpcConnection{" + endpoint + (closed ? ", closed" : "") + "}";
  }
}
