package org.modelrunner.transport.grpc;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.PreparedCall;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.TransportSettings;
import org.modelrunner.spi.Variant;
import org.modelrunner.transport.grpc.proto.CallRequest;
import org.modelrunner.transport.grpc.proto.CallResponse;
import org.modelrunner.transport.grpc.proto.DynamicSubclassServiceGrpc;

/**
 * The client side of the gRPC transport, for {@code grpc://host:port} endpoints.
 *
 * <h2>Channels</h2>
 *
 * One {@link EndpointChannels} per endpoint (a main channel and a lazily made health channel),
 * shared by every connection of this transport to that endpoint, kept in a Caffeine cache: an
 * endpoint unused for {@link #DEFAULT_CHANNEL_IDLE_TIME} is evicted and its removal listener shuts
 * its channels down gracefully (requests still running finish); closing the transport empties the
 * cache and shuts every channel down at once. Connections hold no channel: they look theirs up at
 * every request, so an evicted endpoint is simply opened again. Channels are plaintext, accept
 * responses up to {@link TransportSettings#maxMessageBytes()}, and resolve host names on the
 * transport's callback threads.
 *
 * <h2>Threads</h2>
 *
 * All channels share one Netty event loop group ({@link #ioThreads()} NIO threads, which also fire
 * deadlines and Caffeine's expiry) and one callback executor ({@link #callbackThreads()} threads,
 * where gRPC delivers the answers of setups, resets and health checks and their futures complete),
 * both named after the transport (see {@link GrpcThreads}). A call's answer is read and its future
 * completed on the event loop that received it: calls are the hot path, and their completions (the
 * fleet's bookkeeping) are short and never block. Nothing uses gRPC's JVM-wide shared pools, so
 * {@link #close()} ends every thread the transport started.
 *
 * <h2>Requests</h2>
 *
 * Every request carries a deadline and waits for the channel to be ready within it
 * (wait-for-ready), except health checks, which fail at once when the endpoint cannot be reached. A
 * request is never retried or queued by the transport (beyond gRPC's transparent retry of a stream
 * that never reached the runner).
 */
final class GrpcTransport implements ModelTransport {
  /** How long an endpoint's channels live unused before they are shut down. */
  static final Duration DEFAULT_CHANNEL_IDLE_TIME = Duration.ofMinutes(10);

  /** How long {@link #close()} waits for channels and threads to end. */
  private static final long CLOSE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(3);

  /** The longest a TLS probe may take (the Python client's). */
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(5);

  private static final System.Logger LOG = System.getLogger(GrpcTransport.class.getName());

  final int maxMessageBytes;
  private final TransportSettings settings;
  final ClientSecurity security;

  /** Made on first use: the context that tells whether a plaintext endpoint speaks TLS. */
  private volatile SslContext insecureContext;

  /** The options of setups and resets: wait-for-ready, the size limit, the "sent" marker. */
  final CallOptions requestOptions;

  /**
   * The options of calls: as {@link #requestOptions}, with the answer read, converted and its
   * future completed on the event loop that received it (gRPC's direct executor; not when the
   * transport has call credentials, which may block on the call's executor), not handed to a
   * callback thread first: a call's answer reaches its caller with one thread hand-off less.
   */
  final CallOptions callOptions;

  /** The options of health checks: fail-fast. */
  final CallOptions healthOptions;

  private final GrpcThreads threads = new GrpcThreads();
  private final EventLoopGroup eventLoops;
  private final ThreadPoolExecutor callbacks;
  private final Cache<GrpcAddress, EndpointChannels> channels;

  /** Every endpoint's channels made and not known to be terminated, evicted ones included. */
  private final Set<EndpointChannels> opened = ConcurrentHashMap.newKeySet();

  private final Set<GrpcConnection> connections = ConcurrentHashMap.newKeySet();
  private final Function<GrpcAddress, EndpointChannels> opener = this::open;
  private final AtomicBoolean closing = new AtomicBoolean();
  private volatile boolean closed;

  GrpcTransport(TransportSettings settings) {
    this(settings, ClientSecurity.PLAINTEXT);
  }

  GrpcTransport(TransportSettings settings, ClientSecurity security) {
    this(settings, DEFAULT_CHANNEL_IDLE_TIME, Ticker.systemTicker(), security);
  }

  /**
   * Creates a transport whose channels are evicted after {@code idleTime} unused, measured by
   * {@code ticker}.
   */
  GrpcTransport(TransportSettings settings, Duration idleTime, Ticker ticker) {
    this(settings, idleTime, ticker, ClientSecurity.PLAINTEXT);
  }

  GrpcTransport(
      TransportSettings settings, Duration idleTime, Ticker ticker, ClientSecurity security) {
    this.maxMessageBytes = settings.maxMessageBytes();
    this.settings = settings;
    this.security = security;
    CallOptions base =
        CallOptions.DEFAULT
            .withMaxOutboundMessageSize(maxMessageBytes)
            .withMaxInboundMessageSize(maxMessageBytes)
            .withStreamTracerFactory(ClientExchange.SENT_MARKER);
    if (security.callCredentials != null) {
      base = base.withCallCredentials(security.callCredentials);
    }
    this.requestOptions = base.withWaitForReady();
    // Call credentials may do blocking work on the call's executor (gRPC hands it to them for
    // that): with them, calls keep the callback threads.
    this.callOptions =
        security.callCredentials == null
            ? requestOptions.withExecutor(MoreExecutors.directExecutor())
            : requestOptions;
    this.healthOptions = base;
    this.eventLoops =
        new MultiThreadIoEventLoopGroup(ioThreads(), threads.eventLoops(), NettyIo.handlers());
    int callbackThreads = callbackThreads();
    this.callbacks =
        new ThreadPoolExecutor(
            callbackThreads,
            callbackThreads,
            30,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            threads.callbacks());
    this.callbacks.allowCoreThreadTimeOut(true);
    callbacks.execute(
        () -> {
          try {
            warmUp();
          } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "The warm-up of the call path failed: " + e, e);
          }
        });
    this.channels =
        Caffeine.newBuilder()
            .expireAfterAccess(idleTime)
            .ticker(ticker)
            .executor(Runnable::run)
            .scheduler(Scheduler.forScheduledExecutorService(eventLoops))
            .removalListener(this::removed)
            .build();
  }

  /**
   * Encodes a call and decodes an answer once, as a call does, so that a coordinator's first call
   * does not load and link the classes on its path (the messages' builders and parsers, {@code
   * ByteString}, the value conversions): run on a callback thread when the transport is made. With
   * the fleet's own warm-up, it takes about a third off a cold coordinator's first call.
   */
  static void warmUp() throws IOException {
    var method = DynamicSubclassServiceGrpc.getCallMethod();
    CallRequest request =
        callRequest(
            "predict",
            Arguments.builder().add(Variant.ofString("x")).add("k", Variant.ofString("y")).build());
    method.streamRequest(request).readAllBytes();
    CallResponse response = Protos.callResponse(Reply.success(Variant.ofString("x")));
    Protos.reply(method.parseResponse(new ByteArrayInputStream(response.toByteArray())))
        .value()
        .orElseThrow()
        .checkWellFormed();
  }

  /** The number of event loop threads: one per processor, from 2 to 8. */
  static int ioThreads() {
    return Math.max(2, Math.min(8, Runtime.getRuntime().availableProcessors()));
  }

  /** The number of callback threads: one per processor, from 2 to 16. */
  static int callbackThreads() {
    return Math.max(2, Math.min(16, Runtime.getRuntime().availableProcessors()));
  }

  // ---------------------------------------------------------------------------------------------
  // Requests

  /**
   * Builds the call's request message once; every connection it is sent on sends the same message.
   *
   * @throws TransportException of kind {@code MESSAGE_TOO_LARGE} if the request is larger than this
   *     transport's limit
   * @throws NullPointerException if an argument is null
   */
  @Override
  public PreparedCall prepare(String methodName, Arguments arguments) {
    Objects.requireNonNull(methodName, "methodName");
    Objects.requireNonNull(arguments, "arguments");
    CallRequest request = callRequest(methodName, arguments);
    checkSize(request.getSerializedSize(), "call", methodName);
    return new GrpcPreparedCall(methodName, arguments, request);
  }

  /**
   * Returns the request message of {@code call}: the one it holds if this transport (or another
   * gRPC transport) prepared it, else a new one.
   *
   * @throws TransportException of kind {@code MESSAGE_TOO_LARGE} if the request is larger than this
   *     transport's limit
   */
  CallRequest requestOf(PreparedCall call) {
    CallRequest request =
        call instanceof GrpcPreparedCall prepared
            ? prepared.request()
            : callRequest(
                Objects.requireNonNull(call.methodName(), "methodName"),
                Objects.requireNonNull(call.arguments(), "arguments"));
    checkSize(request.getSerializedSize(), "call", request.getMethodName());
    return request;
  }

  private static CallRequest callRequest(String methodName, Arguments arguments) {
    return CallRequest.newBuilder()
        .setMethodName(methodName)
        .addAllMethodArguments(Protos.positional(arguments))
        .addAllMethodKwArguments(Protos.keyword(arguments))
        .build();
  }

  /**
   * Checks a request's size against the limit; the request is named as {@link ClientExchange#label}
   * names it (its label is only made for the error).
   *
   * @throws TransportException of kind {@code MESSAGE_TOO_LARGE} if it is over
   */
  void checkSize(int size, String request, String method) {
    if (size > maxMessageBytes) {
      throw new TransportException(
          TransportException.Kind.MESSAGE_TOO_LARGE,
          ClientExchange.label(request, method)
              + ": the request is "
              + size
              + " bytes, over the client's limit of "
              + maxMessageBytes
              + " bytes");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Connections and channels

  /**
   * Returns a connection to {@code grpc://host:port}, and starts connecting to it in the background
   * if this transport has no channel to that endpoint yet. Never blocks (host names are resolved in
   * the background).
   *
   * @throws IllegalArgumentException if the scheme is not {@code grpc} or the URI is not {@code
   *     grpc://host:port}
   * @throws IllegalStateException if this transport is closed
   */
  @Override
  public ModelConnection connect(URI endpoint) {
    GrpcAddress address = GrpcAddress.parse(endpoint);
    if (security.secure != null || security.gateway != null) {
      throw new IllegalArgumentException(
          "This gRPC transport authenticates per model ("
              + security
              + "): connect with the model's ModelEndpoint (its id and infos), not only "
              + endpoint);
    }
    return register(new GrpcConnection(this, endpoint, address, null, null));
  }

  /**
   * Returns a connection to the model's endpoint. In secure mode the connection has channels of its
   * own, opened after a TLS probe of the runner (in the background) and checked against the model's
   * id and its infos' {@code cruncher_wallet_pubkey} and {@code cruncher_hotkey}; with gateway
   * credentials, its requests carry tokens for the model's id.
   */
  @Override
  public ModelConnection connect(ModelEndpoint endpoint) {
    Objects.requireNonNull(endpoint, "endpoint");
    GrpcAddress address = GrpcAddress.parse(endpoint.address());
    SecureSession session =
        security.secure == null
            ? null
            : new SecureSession(
                this,
                address,
                endpoint.modelId(),
                endpoint.infos().get(SecureSession.WALLET_INFO),
                endpoint.infos().get(SecureSession.HOTKEY_INFO));
    return register(
        new GrpcConnection(this, endpoint.address(), address, endpoint.modelId(), session));
  }

  private GrpcConnection register(GrpcConnection connection) {
    if (closed) {
      throw new IllegalStateException("This gRPC transport is closed");
    }
    connections.add(connection);
    if (closed) {
      connection.close();
      return connection;
    }
    try {
      connection.requestConnection();
    } catch (IllegalStateException e) {
      connection.close(); // closed meanwhile
    }
    return connection;
  }

  /**
   * Returns the channels of an endpoint, opening them if needed; a lookup counts as a use.
   *
   * @throws IllegalStateException if this transport is closed
   */
  EndpointChannels channelsFor(GrpcAddress address) {
    if (closed) {
      throw new IllegalStateException("This gRPC transport is closed");
    }
    return channels.get(address, opener);
  }

  private EndpointChannels open(GrpcAddress address) {
    if (closed) {
      throw new IllegalStateException("This gRPC transport is closed");
    }
    opened.removeIf(EndpointChannels::isTerminated);
    EndpointChannels created =
        new EndpointChannels(
            address,
            this::newChannel,
            eventLoops,
            settings.initialReconnectBackoff(),
            settings.maxReconnectBackoff(),
            security.plaintext() ? this::speaksTls : null);
    opened.add(created);
    if (closed) { // close() may not have seen it: shut it down here
      created.shutdownNow();
    }
    return created;
  }

  private ManagedChannel newChannel(GrpcAddress address, boolean health) {
    NettyChannelBuilder builder = channelBuilder(address);
    if (security.tls) {
      builder.sslContext(security.context());
    } else {
      builder.usePlaintext();
    }
    if (security.gateway != null && !health) {
      builder.intercept(new GatewayTokens(security.gateway)); // innermost: after user metadata
    }
    builder.intercept(security.interceptors);
    return builder.build();
  }

  /**
   * The channels of one secure-mode connection: trusting only the runner's {@code leaf} under the
   * name {@code target}, presenting the coordinator's certificate; the call channel checks the
   * runner's identity on every answer.
   */
  EndpointChannels pinnedChannels(
      GrpcAddress address, String target, X509Certificate leaf, ServerIdentityCheck identity) {
    if (closed) {
      throw new IllegalStateException("This gRPC transport is closed");
    }
    SslContext context = security.secure.pinnedContext(leaf);
    EndpointChannels created =
        new EndpointChannels(
            address,
            (a, health) -> {
              NettyChannelBuilder builder =
                  channelBuilder(a).sslContext(context).overrideAuthority(target);
              if (!health) {
                builder.intercept(identity); // innermost: checked before anything sees the answer
              }
              builder.intercept(security.interceptors);
              return builder.build();
            },
            eventLoops,
            settings.initialReconnectBackoff(),
            settings.maxReconnectBackoff(),
            null);
    opened.add(created);
    if (closed) {
      created.shutdownNow();
    }
    return created;
  }

  /** Runs secure mode's TLS probe of a runner that must be named {@code target}. */
  CompletableFuture<X509Certificate> probe(GrpcAddress address, String target) {
    return TlsProbe.secure(
        eventLoops, security.secure.probeContext(), address, target, probeTimeout());
  }

  /** Tells whether a plaintext endpoint speaks TLS. */
  private CompletableFuture<Boolean> speaksTls(GrpcAddress address) {
    SslContext context = insecureContext;
    if (context == null) {
      context = ClientSecurity.insecureContext();
      insecureContext = context;
    }
    return TlsProbe.speaksTls(eventLoops, context, address, probeTimeout());
  }

  /** The TLS probe's bound: 5 s, as the Python client, or the connect timeout if shorter. */
  private Duration probeTimeout() {
    Duration connect = settings.connectTimeout();
    return connect.compareTo(PROBE_TIMEOUT) < 0 ? connect : PROBE_TIMEOUT;
  }

  private NettyChannelBuilder channelBuilder(GrpcAddress address) {
    return NettyChannelBuilder.forAddress(address.host(), address.port())
        .eventLoopGroup(eventLoops)
        .channelType(NettyIo.socketChannel())
        .executor(callbacks)
        .offloadExecutor(callbacks)
        .maxInboundMessageSize(maxMessageBytes)
        .keepAliveTime(settings.keepAliveTime().toNanos(), TimeUnit.NANOSECONDS)
        .keepAliveTimeout(settings.keepAliveTimeout().toNanos(), TimeUnit.NANOSECONDS)
        .keepAliveWithoutCalls(settings.keepAliveWithoutCalls())
        .withOption(
            ChannelOption.CONNECT_TIMEOUT_MILLIS,
            (int) Math.min(Integer.MAX_VALUE, settings.connectTimeout().toMillis()));
  }

  /** The transport's callback threads. */
  Executor callbacks() {
    return callbacks;
  }

  /** Runs {@code task} after {@code delayNanos} on an event loop; false if the transport closed. */
  boolean schedule(Runnable task, long delayNanos) {
    try {
      eventLoops.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
      return true;
    } catch (RejectedExecutionException e) {
      return false;
    }
  }

  private void removed(GrpcAddress address, EndpointChannels endpoint, RemovalCause cause) {
    if (endpoint == null) {
      return;
    }
    if (closed) {
      endpoint.shutdownNow();
    } else {
      LOG.log(System.Logger.Level.DEBUG, "Closing the channels to {0} ({1})", address, cause);
      endpoint.shutdown();
    }
  }

  void forget(GrpcConnection connection) {
    connections.remove(connection);
  }

  /** Forgets a secure connection's channels, shut down with their connection. */
  void forget(EndpointChannels closedChannels) {
    opened.remove(closedChannels);
  }

  boolean isClosed() {
    return closed;
  }

  /** Runs pending cache maintenance (expiry); for tests. */
  void cleanUp() {
    channels.cleanUp();
  }

  /**
   * Returns the channels of an endpoint if the cache holds them, without counting a use; for tests.
   */
  EndpointChannels cachedChannels(GrpcAddress address) {
    return channels.policy().getIfPresentQuietly(address);
  }

  /** Returns the prefix of the names of this transport's threads; for tests. */
  String threadNamePrefix() {
    return threads.prefix();
  }

  // ---------------------------------------------------------------------------------------------
  // Life cycle

  /**
   * Closes every connection (their requests fail {@code CANCELLED}), shuts every channel down, then
   * stops the event loops and callback threads, waiting a few seconds at most for all of them to
   * end (it does not wait when called on one of the transport's own threads). Idempotent.
   */
  @Override
  public void close() {
    if (!closing.compareAndSet(false, true)) {
      return;
    }
    closed = true;
    for (GrpcConnection connection : connections) {
      connection.close();
    }
    channels.invalidateAll();
    channels.cleanUp();
    for (EndpointChannels endpoint : opened) {
      endpoint.shutdownNow();
    }
    boolean wait = !threads.isCurrentThreadOwn();
    long deadline = System.nanoTime() + CLOSE_TIMEOUT_NANOS;
    boolean interrupted = false;
    if (wait) {
      try {
        for (EndpointChannels endpoint : opened) {
          if (!endpoint.awaitTermination(deadline)) {
            LOG.log(
                System.Logger.Level.WARNING,
                "The channels to {0} did not terminate in time",
                endpoint.address);
          }
        }
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    opened.clear();
    eventLoops.shutdownGracefully(
        0, Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    callbacks.shutdown();
    if (wait && !interrupted) {
      try {
        eventLoops
            .terminationFuture()
            .await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (!callbacks.awaitTermination(
            Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
          callbacks.shutdownNow();
        }
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      callbacks.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "GrpcTransport{maxMessageBytes="
        + maxMessageBytes
        + ", endpoints="
        + channels.estimatedSize()
        + (closed ? ", closed" : "")
        + "}";
  }
}
