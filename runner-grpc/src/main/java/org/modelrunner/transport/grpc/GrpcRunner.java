package org.modelrunner.transport.grpc;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionService;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import org.modelrunner.loader.HostedModel;
import org.modelrunner.loader.RunnerCore;
import org.modelrunner.loader.Submission;
import org.modelrunner.spi.TransportSettings;
import org.modelrunner.transport.grpc.proto.DynamicSubclassServiceGrpc;

/**
 * A gRPC model runner: serves one submitted model with the Python ecosystem's protocol, so that
 * Java and Python coordinators can call it (PROTOCOL §1). It is what the executable {@link
 * RunnerMain} runs, and can be embedded:
 *
 * <pre>{@code
 * try (GrpcRunner runner = GrpcRunner.builder()
 *         .submission(Path.of("submissions/alice"))          // a folder of classes and jars, or a jar
 *         .hostClassPath(Path.of("api/tracker-api.jar"))    // where the coordinator's base class lives
 *         .address("127.0.0.1:0")                           // default [::]:50051; port 0 picks a free one
 *         .build()
 *         .start()) {
 *   URI endpoint = runner.endpoint();                       // grpc://127.0.0.1:<port>
 *   runner.awaitTermination();
 * }
 * }</pre>
 *
 * <h2>Services</h2>
 *
 * <ul>
 *   <li>{@code dynamic_subclass.DynamicSubclassService}: Setup, Call and Rest through a {@link
 *       HostedModel}, with its exact outcomes in {@code Status} (gRPC {@code OK}).
 *   <li>{@code grpc.health.v1.Health}: the service {@code ""} (and {@code
 *       dynamic_subclass.DynamicSubclassService}) is {@code SERVING} from {@link #start()} until
 *       shutdown begins, then {@code NOT_SERVING}; an unknown service name is {@code NOT_FOUND} on
 *       {@code Check}. Health is answered at once while a model call runs: model code runs on a
 *       thread of its own, never on the server's transport threads.
 *   <li>{@code grpc.reflection.v1.ServerReflection} (and {@code v1alpha}): server reflection, so
 *       that {@code grpcurl -plaintext host:port list} shows the services and {@code describe}
 *       their messages; {@link Builder#reflection(boolean)} turns it off.
 * </ul>
 *
 * <h2>Security</h2>
 *
 * By default the runner serves plaintext, and any peer that reaches its port can drive it. Two
 * modes of the Python ecosystem restrict it to the coordinator: {@linkplain
 * Builder#secureMode(SecureMode) secure mode} (mutual TLS, the coordinator's key pinned, a signed
 * server identity) and {@linkplain Builder#gatewayAuth(GatewayAuth) gateway authentication} (a
 * signed token on each call, behind a TLS gateway). Their refusals are {@code UNAUTHENTICATED}.
 *
 * <h2>gRPC errors</h2>
 *
 * Only transport-level outcomes are gRPC errors:
 *
 * <ul>
 *   <li>{@code RESOURCE_EXHAUSTED "Server busy"}: a Setup, Call or Rest that arrives while another
 *       is in flight, at once (requests are never queued);
 *   <li>{@code RESOURCE_EXHAUSTED}: a request over {@linkplain Builder#maxReceiveMessageBytes the
 *       receive limit} (refused by gRPC), or a response over {@linkplain
 *       Builder#maxSendMessageBytes the send limit} ({@code "Sent message larger than max (<size>
 *       vs. <limit>)"}); the runner keeps serving;
 *   <li>{@code DEADLINE_EXCEEDED}: a Call still running at {@linkplain Builder#callTimeLimit the
 *       call time limit}, or a Setup at {@linkplain Builder#setupTimeLimit the setup time limit} (5
 *       minutes by default); the model keeps running and later requests get {@code Server busy}
 *       until it returns. Also a request whose client deadline passed before the model was called:
 *       it is never started;
 *   <li>{@code UNAVAILABLE "The runner is shutting down"}: a request that arrives once shutdown
 *       began;
 *   <li>{@code INVALID_ARGUMENT "Malformed request: <reason>"}: a request whose bytes are not a
 *       valid protobuf message (truncated, invalid UTF-8 in a string…);
 *   <li>{@code UNIMPLEMENTED}: a method the runner does not have (answered by gRPC).
 * </ul>
 *
 * A request that parses but holds a value the model cannot be given (an unknown {@code VariantType}
 * number) is answered in {@code Status} like any undecodable argument: {@code SETUP_FAILED} for
 * Setup, {@code MODEL_FAILED} for Call.
 *
 * <h2>What a submission sees</h2>
 *
 * A submission opened from a {@linkplain Builder#submission(Path) path} has a class loader of its
 * own. When it lacks a class it asks the application's class loader (unless {@linkplain
 * Builder#applicationClassesVisible turned off}, as the executable runner does: then it sees only
 * the JDK, this library's shared API packages ({@link Submission#DEFAULT_SHARED_PACKAGES}) and the
 * host class path), then the {@linkplain Builder#hostClassPath host class path}. For other rules,
 * build the {@link Submission} yourself and pass it to {@link Builder#submission(Submission)}.
 *
 * <h2>Lifecycle</h2>
 *
 * {@link #start()} binds the port and serves; {@link #shutdown(Duration)} stops gracefully: health
 * turns {@code NOT_SERVING}, new requests are refused, the request in flight is given the grace
 * period to finish, then the server stops. The runner closes the model, submission and class
 * loaders it opened from a path; a {@link Submission} or {@link HostedModel} passed to the builder
 * stays the caller's to close. Instances are thread-safe.
 */
public final class GrpcRunner implements AutoCloseable {
  /**
   * The address the runner listens on by default, as the Python runner: every interface, port
   * 50051.
   */
  public static final String DEFAULT_ADDRESS = "[::]:50051";

  /**
   * The default grace period of {@link #close()}: how long a request in flight may take to finish.
   */
  public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(10);

  /**
   * The default {@linkplain Builder#setupTimeLimit setup time limit}: a constructor (loading
   * weights, say) may take up to 5 minutes before its Setup is answered {@code DEADLINE_EXCEEDED}.
   */
  public static final Duration DEFAULT_SETUP_TIME_LIMIT = Duration.ofMinutes(5);

  private static final Logger LOG = Logger.getLogger(GrpcRunner.class.getName());

  /** How long after it starts serving a runner warms up if no request came first. */
  static final Duration DEFAULT_WARM_UP_DELAY = Duration.ofMillis(200);

  /** How many times the warm-up converts each dummy value (see {@link HostedModel#warmUp}). */
  private static final int WARM_UP_ROUNDS = 2_000;

  /**
   * The calls one connection may have open at once (HTTP/2's {@code MAX_CONCURRENT_STREAMS}; a
   * client queues its further calls until one ends). A coordinator needs a call, a health check and
   * a watch or two; without a cap (grpc-java's default), one peer that opened streams and never
   * ended them filled the heap (about 1.4 KB each: 100,000 streams took a runner of 128 MB out of
   * memory).
   */
  static final int MAX_CALLS_PER_CONNECTION = 100;

  /**
   * Whether a runner of this JVM has rehearsed (see {@link Rehearsal}): the code a rehearsal warms
   * is the same for every runner of a JVM, so only the first one's warm-up rehearses.
   */
  private static final AtomicBoolean REHEARSED = new AtomicBoolean();

  /** Lets the next runner's warm-up rehearse again, as in a new JVM; for tests. */
  static void forgetRehearsal() {
    REHEARSED.set(false);
  }

  /** How many calls the warm-up rehearses on a built-in model first (see {@link Rehearsal}). */
  private static final int FIRST_REHEARSED_CALLS = 20;

  /** How many calls the warm-up rehearses after the value path's conversions. */
  private static final int REHEARSED_CALLS = 3_000;

  private static final String SERVICE_NAME = DynamicSubclassServiceGrpc.SERVICE_NAME;

  /** How long, after the request in flight finished, the server may take to send what is left. */
  private static final long FLUSH_NANOS = TimeUnit.SECONDS.toNanos(1);

  private static final long MIN_FLUSH_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private enum State {
    NEW,
    SERVING,
    STOPPING,
    TERMINATED
  }

  private final String host;
  private final int requestedPort;
  private final int maxReceiveBytes;
  private final int maxSendBytes;
  private final Duration callTimeLimit;
  private final boolean reflection;
  private final boolean warmUp;
  private final Duration warmUpDelay;
  private final RunnerCore.Observer observer;
  private final Duration setupTimeLimit;
  private final Duration shutdownGrace;
  private final HostedModel model;
  private final boolean ownsModel;
  private final URLClassLoader hostLoader;
  private final List<Path> hostClassPath;
  private final String submissionLabel;
  private final SecureMode secureMode;
  private final GatewayAuth gatewayAuth;
  private final SslContext tlsContext;
  private final boolean tlsClientCertificates;
  private final List<ServerInterceptor> interceptors;
  private final CountDownLatch terminated = new CountDownLatch(1);
  private final AtomicBoolean warmUpStarted = new AtomicBoolean();

  private State state = State.NEW; // guarded by this
  private Server server;
  private HealthStatusManager health;
  private RunnerService service;
  private ExecutorService modelExecutor;
  private ScheduledThreadPoolExecutor timer;

  /**
   * The server's own event loops (not gRPC's JVM-wide ones, which linger a second after their last
   * user): they end when the runner stops.
   */
  private EventLoopGroup acceptor;

  private EventLoopGroup eventLoops;
  private volatile int boundPort = -1;

  private GrpcRunner(
      Builder builder, HostedModel model, boolean ownsModel, URLClassLoader hostLoader) {
    this.host = builder.host;
    this.requestedPort = builder.port;
    this.maxReceiveBytes = builder.maxReceiveBytes;
    this.maxSendBytes = builder.maxSendBytes;
    this.callTimeLimit = builder.callTimeLimit;
    this.reflection = builder.reflection;
    this.warmUp = builder.warmUp;
    this.warmUpDelay = builder.warmUpDelay;
    this.observer = builder.observer;
    this.setupTimeLimit = builder.setupTimeLimit;
    this.shutdownGrace = builder.shutdownGrace;
    this.model = model;
    this.ownsModel = ownsModel;
    this.hostLoader = hostLoader;
    this.hostClassPath = List.copyOf(builder.hostClassPath);
    this.submissionLabel = model.submission().path().toString();
    this.secureMode = builder.secureMode;
    this.gatewayAuth = builder.gatewayAuth;
    this.tlsContext = builder.tlsContext;
    this.tlsClientCertificates = builder.tlsClientAuthority != null;
    this.interceptors = List.copyOf(builder.interceptors);
  }

  /**
   * Returns a builder; give it a submission (a path, a {@link Submission} or a {@link
   * HostedModel}).
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Binds the address and starts serving; health turns {@code SERVING}. If binding fails, the
   * runner is terminated (and what it opened is closed).
   *
   * @return this runner
   * @throws IOException if the address cannot be bound (in use, not resolvable, not local)
   * @throws IllegalStateException if the runner was started or shut down before
   */
  public GrpcRunner start() throws IOException {
    synchronized (this) {
      if (state != State.NEW) {
        throw new IllegalStateException(
            "The runner was already " + (state == State.SERVING ? "started" : "shut down"));
      }
      try {
        InetSocketAddress bind = bindAddress();
        modelExecutor =
            new ThreadPoolExecutor(
                1, 1, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), modelThreads());
        long callNanos = callTimeLimit == null ? 0 : Durations.saturatedNanos(callTimeLimit);
        long setupNanos = setupTimeLimit == null ? 0 : Durations.saturatedNanos(setupTimeLimit);
        if (callNanos > 0 || setupNanos > 0) {
          timer = new ScheduledThreadPoolExecutor(1, threads("modelrunner-grpc-timer"));
          timer.setRemoveOnCancelPolicy(true);
        }
        RunnerCore.Builder core = RunnerCore.builder(model);
        if (callNanos > 0) {
          core.callTimeLimit(Duration.ofNanos(callNanos), timer);
        }
        if (setupNanos > 0) {
          core.setupTimeLimit(Duration.ofNanos(setupNanos), timer);
        }
        if (observer != null) {
          core.observer(observer);
        }
        acceptor =
            new MultiThreadIoEventLoopGroup(
                1, threads("modelrunner-grpc-accept"), NettyIo.handlers());
        eventLoops =
            new MultiThreadIoEventLoopGroup(
                Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())),
                threads("modelrunner-grpc-io"),
                NettyIo.handlers());
        service =
            new RunnerService(
                core.build(), modelExecutor, maxSendBytes, this::startWarmUp, eventLoops);
        health = new HealthStatusManager();
        health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.SERVING);
        health.setStatus(SERVICE_NAME, ServingStatus.SERVING);
        NettyServerBuilder serverBuilder =
            NettyServerBuilder.forAddress(bind)
                .bossEventLoopGroup(acceptor)
                .workerEventLoopGroup(eventLoops)
                .channelType(NettyIo.serverSocketChannel())
                // Handlers never block (model code runs on the model thread): running them on the
                // transport's threads claims the model in the order requests arrive, and answers
                // health and "Server busy" at once.
                .directExecutor()
                .maxInboundMessageSize(maxReceiveBytes)
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true)
                .maxConcurrentCallsPerConnection(MAX_CALLS_PER_CONNECTION)
                .addService(MalformedRequests.tolerant(service.bindService()))
                .addService(
                    warmUp
                        ? ServerInterceptors.intercept(
                            health.getHealthService(), new WarmUpAfterAnswer(this::startWarmUp))
                        : health.getHealthService().bindService());
        for (ServerInterceptor interceptor : interceptors) {
          serverBuilder.intercept(interceptor);
        }
        if (tlsContext != null) {
          serverBuilder.sslContext(tlsContext);
        }
        if (secureMode != null) {
          serverBuilder.sslContext(secureMode.sslContext());
          serverBuilder.intercept(new CoordinatorCertificateCheck(secureMode));
        }
        if (gatewayAuth != null) {
          serverBuilder.intercept(new GatewayTokenCheck(gatewayAuth));
        }
        if (reflection) {
          // grpcurl and other tools ask v1 first, older ones v1alpha.
          serverBuilder.addService(ProtoReflectionServiceV1.newInstance());
          serverBuilder.addService(ProtoReflectionService.newInstance());
        }
        server = serverBuilder.build().start();
        boundPort = server.getPort();
        state = State.SERVING;
        if (warmUp) {
          eventLoops.schedule(this::startWarmUp, warmUpDelay.toNanos(), TimeUnit.NANOSECONDS);
        }
      } catch (IOException | RuntimeException e) {
        state = State.TERMINATED;
        stopExecutors();
        releaseOwned();
        terminated.countDown();
        throw e;
      }
    }
    if (secureMode != null && secureMode.hasNoCoordinator()) {
      LOG.warning(
          "Secure mode without a coordinator hash (COORDINATOR_CERT_HASH): every call but health"
              + " Watch is refused");
    }
    if (gatewayAuth != null && gatewayAuth.requiredModelId() == null) {
      LOG.info("Gateway authentication: tokens are not checked against a model id");
    }
    LOG.info(
        "Serving "
            + submissionLabel
            + " on "
            + listenAddress()
            + " ("
            + endpoint()
            + "); "
            + (secureMode != null
                ? "secure mode (mTLS, coordinator key pinned)"
                : (tlsContext != null
                        ? tlsClientCertificates ? "TLS, client certificates required" : "TLS"
                        : "plaintext")
                    + (gatewayAuth != null ? ", gateway authentication" : ", unauthenticated"))
            + "; messages up to "
            + Sizes.describe(maxReceiveBytes)
            + " received, "
            + Sizes.describe(maxSendBytes)
            + " sent; "
            + (callTimeLimit == null
                ? "no call time limit"
                : "call time limit " + Durations.describe(callTimeLimit))
            + ", "
            + (setupTimeLimit == null
                ? "no setup time limit"
                : "setup time limit " + Durations.describe(setupTimeLimit))
            + "; host class path: "
            + (hostClassPath.isEmpty()
                ? "none"
                : hostClassPath.stream()
                    .map(Path::toString)
                    .collect(Collectors.joining(java.io.File.pathSeparator))));
    return this;
  }

  /**
   * Starts the warm-up once: when the runner has answered its first health check or got its first
   * Setup, or {@link #DEFAULT_WARM_UP_DELAY} after it started serving, whichever comes first. Not
   * as it starts, where it competed with the first answer a coordinator waits for (0.3-0.7 s later
   * on two cores); not only on the first request either, where runners a coordinator reaches all at
   * once warmed up during its first ticks (GrpcChaosBenchmark: 96.0 and 98.4% of the untouched
   * runners' calls in time, against 100.0 and 99.97%).
   */
  private void startWarmUp() {
    if (!warmUp || !warmUpStarted.compareAndSet(false, true)) {
      return;
    }
    Thread warming = threads("modelrunner-grpc-warmup").newThread(this::runWarmUp);
    warming.setPriority(Thread.MIN_PRIORITY);
    warming.start();
  }

  /** Runs an action after the first message a service sends (health's answers, here). */
  private static final class WarmUpAfterAnswer implements ServerInterceptor {
    private final Runnable action;

    WarmUpAfterAnswer(Runnable action) {
      this.action = action;
    }

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
        ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
      return next.startCall(
          new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void sendMessage(RespT message) {
              super.sendMessage(message);
              action.run();
            }
          },
          headers);
    }
  }

  /**
   * Runs the path of a call, on dummy values, while the runner waits for its Setup: a {@link
   * Rehearsal} of calls through the service on a built-in model (once per JVM; the request's
   * parsing and checks, the claim, the arguments' and result's conversions, the response's
   * encoding), and the value path's conversions with the submission's own converter. The first
   * calls then find their classes loaded, their code linked and much of it compiled: without it,
   * the first call after Setup took tens of milliseconds. It never calls the submission.
   */
  private void runWarmUp() {
    long started = System.nanoTime();
    boolean first = REHEARSED.compareAndSet(false, true);
    try (Rehearsal rehearsal = first ? Rehearsal.open(maxSendBytes) : null) {
      // A few calls first: they load and link the path, what a first call would pay once.
      int rehearsed = rehearsal == null ? 0 : rehearsal.run(FIRST_REHEARSED_CALLS, this::serving);
      if (serving()) {
        model.warmUp(WARM_UP_ROUNDS);
      }
      if (rehearsal != null) {
        rehearsed += rehearsal.run(REHEARSED_CALLS, this::serving);
      }
      LOG.log(
          Level.FINEST,
          "Warmed up in {0} ms ({1} calls rehearsed)",
          new Object[] {
            String.valueOf((System.nanoTime() - started) / 1_000_000), String.valueOf(rehearsed)
          });
    } catch (IOException | RuntimeException | LinkageError e) {
      LOG.log(Level.FINE, "Warm-up failed: " + e, e);
    }
  }

  private synchronized boolean serving() {
    return state == State.SERVING;
  }

  private InetSocketAddress bindAddress() throws IOException {
    if (isWildcard(host)) {
      return new InetSocketAddress(requestedPort);
    }
    InetSocketAddress address = new InetSocketAddress(host, requestedPort);
    if (address.isUnresolved()) {
      throw new IOException("Cannot resolve the host '" + host + "'");
    }
    return address;
  }

  private static boolean isWildcard(String host) {
    return host.equals("::") || host.equals("*");
  }

  /**
   * Returns the port the runner listens on (the one chosen by the system when the builder asked for
   * 0).
   *
   * @throws IllegalStateException if the runner has not been started
   */
  public int port() {
    int port = boundPort;
    if (port < 0) {
      throw new IllegalStateException("The runner has not been started");
    }
    return port;
  }

  /**
   * Returns the endpoint clients connect to, {@code grpc://host:port}. For a runner listening on
   * every interface ({@code ::} or {@code *}) the host is {@code localhost}, for {@code 0.0.0.0} it
   * is {@code 127.0.0.1}; IPv6 literals are bracketed.
   *
   * @throws IllegalStateException if the runner has not been started
   */
  public URI endpoint() {
    return URI.create("grpc://" + hostAndPort(port()));
  }

  /** Returns the address listened on, as given ({@code [::]:50051}), with the bound port. */
  private String listenAddress() {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + boundPort;
  }

  private String hostAndPort(int port) {
    String shown = isWildcard(host) ? "localhost" : host.equals("0.0.0.0") ? "127.0.0.1" : host;
    return (shown.indexOf(':') >= 0 ? "[" + shown + "]" : shown) + ":" + port;
  }

  /** Returns the model this runner serves. */
  public HostedModel model() {
    return model;
  }

  /**
   * Stops gracefully, and returns when stopped: health turns {@code NOT_SERVING} and new requests
   * are answered {@code UNAVAILABLE}; the request in flight (or a call answered after the call time
   * limit whose model is still running) has up to {@code grace} to finish; then the server stops
   * (it may take up to a second more to send the last responses), model code still running is
   * interrupted, and what the runner opened is closed. Idempotent: a second call waits for the
   * first to finish. A runner never started is just closed.
   *
   * @throws IllegalArgumentException if {@code grace} is negative
   */
  public void shutdown(Duration grace) {
    Objects.requireNonNull(grace, "grace");
    if (grace.isNegative()) {
      throw new IllegalArgumentException("The grace period must not be negative, got " + grace);
    }
    boolean stopsHere;
    synchronized (this) {
      switch (state) {
        case NEW:
          state = State.TERMINATED;
          releaseOwned();
          terminated.countDown();
          return;
        case SERVING:
          state = State.STOPPING;
          stopsHere = true;
          break;
        default:
          stopsHere = false; // another thread stops it, or has: wait for it, without the lock
      }
    }
    if (!stopsHere) {
      awaitUninterruptibly();
      return;
    }
    boolean interrupted = false;
    try {
      interrupted = stop(Durations.saturatedNanos(grace));
    } finally {
      synchronized (this) {
        state = State.TERMINATED;
      }
      terminated.countDown();
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Returns whether this thread was interrupted while it waited. */
  private boolean stop(long graceNanos) {
    long start = System.nanoTime();
    boolean interrupted = false;
    health.enterTerminalState();
    service.stopServing();
    boolean running = service.isBusy();
    LOG.info(
        "Stopping "
            + endpoint()
            + ": health NOT_SERVING, new requests refused"
            + (running
                ? "; waiting up to " + Durations.describe(graceNanos) + " for the request in flight"
                : ""));
    boolean idle;
    try {
      idle = service.awaitIdle(graceNanos);
    } catch (InterruptedException e) {
      interrupted = true;
      idle = false;
    }
    if (!idle) {
      LOG.warning(
          "The model is still running after the grace period of "
              + Durations.describe(graceNanos)
              + "; stopping anyway");
    }
    server.shutdown();
    long left = graceNanos - (System.nanoTime() - start);
    long flush = Math.max(MIN_FLUSH_NANOS, Math.min(left, FLUSH_NANOS));
    try {
      if (interrupted || !server.awaitTermination(flush, TimeUnit.NANOSECONDS)) {
        server.shutdownNow(); // health Watch streams, clients that do not read
        server.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      interrupted = true;
      server.shutdownNow();
    }
    stopExecutors();
    releaseOwned();
    LOG.info("Stopped " + listenAddress());
    return interrupted;
  }

  private void stopExecutors() {
    if (modelExecutor != null) {
      modelExecutor.shutdownNow(); // interrupts model code still running after the grace period
    }
    if (timer != null) {
      timer.shutdownNow();
    }
    // The server has terminated (or never started): its event loops have nothing left to do.
    for (EventLoopGroup group : new EventLoopGroup[] {acceptor, eventLoops}) {
      if (group != null) {
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).awaitUninterruptibly(2, TimeUnit.SECONDS);
      }
    }
  }

  private void releaseOwned() {
    if (ownsModel) {
      try {
        model.close(); // if model code still runs, the model is released when it returns
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "Closing the model failed: " + e, e);
      }
    }
    if (hostLoader != null) {
      try {
        hostLoader.close();
      } catch (IOException e) {
        LOG.log(Level.WARNING, "Closing the host class path failed: " + e, e);
      }
    }
  }

  private void awaitUninterruptibly() {
    boolean interrupted = false;
    while (true) {
      try {
        terminated.await();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Shuts down with the builder's {@linkplain Builder#shutdownGrace grace period} (10 s by
   * default).
   */
  @Override
  public void close() {
    shutdown(shutdownGrace);
  }

  /**
   * Waits until the runner has stopped (after {@link #shutdown} or a failed {@link #start}).
   *
   * @throws InterruptedException if interrupted while waiting
   */
  public void awaitTermination() throws InterruptedException {
    terminated.await();
  }

  /**
   * Waits at most {@code timeout} until the runner has stopped.
   *
   * @return whether it has stopped
   * @throws InterruptedException if interrupted while waiting
   */
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    return terminated.await(Durations.saturatedNanos(timeout), TimeUnit.NANOSECONDS);
  }

  /** Returns whether the runner has stopped. */
  public boolean isTerminated() {
    return terminated.getCount() == 0;
  }

  @Override
  public String toString() {
    int port = boundPort;
    return "GrpcRunner{" + submissionLabel + (port < 0 ? "" : ", " + hostAndPort(port)) + "}";
  }

  /**
   * The model thread: one of the submission's ({@link Submission#newThread}), so that threads model
   * code starts are in the submission's thread group and reported when left running.
   */
  private ThreadFactory modelThreads() {
    Submission submission = model.submission();
    return body -> {
      Thread thread = submission.newThread(body, "modelrunner-grpc-model");
      thread.setUncaughtExceptionHandler(
          (t, e) -> LOG.log(Level.SEVERE, "Uncaught in " + t.getName() + ": " + e, e));
      return thread;
    };
  }

  private static ThreadFactory threads(String prefix) {
    AtomicInteger count = new AtomicInteger();
    boolean numbered = prefix.endsWith("-");
    return body -> {
      Thread thread = new Thread(body, numbered ? prefix + count.incrementAndGet() : prefix);
      thread.setDaemon(true);
      thread.setUncaughtExceptionHandler(
          (t, e) -> LOG.log(Level.SEVERE, "Uncaught in " + t.getName() + ": " + e, e));
      return thread;
    };
  }

  /**
   * Configures a {@link GrpcRunner}. Exactly one of {@link #submission(Path)}, {@link
   * #submission(Submission)} and {@link #model(HostedModel)} must be given.
   */
  public static final class Builder {
    private Path submissionPath;
    private Submission submission;
    private HostedModel model;
    private final List<Path> hostClassPath = new ArrayList<>();
    private String host = "::";
    private int port = 50051;
    private int maxReceiveBytes = TransportSettings.DEFAULT_MAX_MESSAGE_BYTES;
    private int maxSendBytes = TransportSettings.DEFAULT_MAX_MESSAGE_BYTES;
    private Duration callTimeLimit;
    private boolean reflection = true;
    private boolean warmUp;
    private Duration warmUpDelay = DEFAULT_WARM_UP_DELAY;
    private RunnerCore.Observer observer;
    private Duration setupTimeLimit = DEFAULT_SETUP_TIME_LIMIT;
    private Duration shutdownGrace = DEFAULT_SHUTDOWN_GRACE;
    private boolean applicationClassesVisible = true;
    private SecureMode secureMode;
    private GatewayAuth gatewayAuth;
    private Path tlsCertificate;
    private Path tlsKey;
    private Path tlsClientAuthority;
    private final List<ServerInterceptor> interceptors = new ArrayList<>();

    private Builder() {}

    /** The TLS context of {@link #tls}, made by {@link #build()}. */
    private SslContext tlsContext;

    /**
     * Serves TLS with this certificate (PEM, leaf first) and its unencrypted PEM key (PKCS#8 or
     * PKCS#1), for coordinators outside the Python ecosystem's secure mode: a client trusts the
     * authority that issued it ({@code GrpcTransportProvider.builder().trustedCertificates(…)}).
     * Combines with {@linkplain #gatewayAuth gateway authentication} (a runner that terminates TLS
     * itself), not with {@linkplain #secureMode secure mode}, which has its own. Null (the
     * default): plaintext.
     */
    public Builder tls(Path certificateChain, Path privateKey) {
      this.tlsCertificate = certificateChain;
      this.tlsKey = privateKey;
      return this;
    }

    /**
     * With {@link #tls}, requires every client to present a certificate issued by an authority of
     * this PEM bundle; the connection of any other fails in the TLS handshake. Null (the default):
     * no client certificate asked for.
     */
    public Builder tlsClientAuthority(Path caBundle) {
      this.tlsClientAuthority = caBundle;
      return this;
    }

    /**
     * Adds a grpc-java server interceptor, for authentication, auditing or metadata of one's own.
     * It sees every call, health and reflection included; interceptors added later run first (as
     * with {@code ServerBuilder#intercept}), and secure mode's or gateway authentication's checks
     * run before any of them.
     */
    public Builder interceptor(ServerInterceptor interceptor) {
      interceptors.add(Objects.requireNonNull(interceptor, "interceptor"));
      return this;
    }

    /**
     * Serves in the Python ecosystem's secure mode (PROTOCOL-SECURITY §A.4): TLS only, a client
     * certificate from the coordinators' authority required, the coordinator's key pinned on every
     * unary call, and the runner's signed identity sent with each answer. See {@link SecureMode}.
     * Null (the default): plaintext.
     */
    public Builder secureMode(SecureMode mode) {
      this.secureMode = mode;
      return this;
    }

    /**
     * Requires a gateway token on every call but health (PROTOCOL-SECURITY §B.3); the port stays
     * plaintext, for a TLS-terminating gateway in front. See {@link GatewayAuth}. Null (the
     * default): none.
     */
    public Builder gatewayAuth(GatewayAuth auth) {
      this.gatewayAuth = auth;
      return this;
    }

    /**
     * Serves the submission at {@code path}: a folder (a class folder, plus every jar beneath it)
     * or a jar. The runner opens it when built and closes it when stopped. What it sees of the
     * host: see {@link #applicationClassesVisible} and {@link #hostClassPath}.
     */
    public Builder submission(Path path) {
      this.submissionPath = Objects.requireNonNull(path, "path");
      return this;
    }

    /**
     * Serves an opened submission, with its own isolation rules; the caller closes it after the
     * runner.
     */
    public Builder submission(Submission submission) {
      this.submission = Objects.requireNonNull(submission, "submission");
      return this;
    }

    /** Serves a hosted model; the caller closes it after the runner. */
    public Builder model(HostedModel model) {
      this.model = Objects.requireNonNull(model, "model");
      return this;
    }

    /**
     * Adds jars or class folders (a folder also brings every jar beneath it) that a submission
     * opened from a path sees through its fallback class loader, such as the coordinator's
     * base-class jar.
     */
    public Builder hostClassPath(Path... entries) {
      return hostClassPath(List.of(entries));
    }

    /** Adds host class path entries; see {@link #hostClassPath(Path...)}. */
    public Builder hostClassPath(List<Path> entries) {
      for (Path entry : entries) {
        hostClassPath.add(Objects.requireNonNull(entry, "entry"));
      }
      return this;
    }

    /**
     * Sets whether a submission opened from a path also sees the classes of the application that
     * embeds the runner (when it lacks a class, it is looked up in the application's class loader,
     * then in the host class path), as {@link Submission} does by default. Default {@code true}, so
     * that an application's base class is found. {@code false} confines it to the JDK, the shared
     * API packages and the host class path: the executable runner ({@link RunnerMain}) does so, so
     * that submitted code never sees the runner's own dependencies.
     */
    public Builder applicationClassesVisible(boolean visible) {
      this.applicationClassesVisible = visible;
      return this;
    }

    /**
     * Sets the address to listen on, {@code host:port}, as the Python runner's {@code
     * GRPC_ADDRESS}: {@code [::]:50051} (the default: every interface), {@code 0.0.0.0:50051},
     * {@code 127.0.0.1:0} (port 0: a free port, see {@link GrpcRunner#port()}), {@code
     * [::1]:50051}, {@code localhost:50051}.
     *
     * @throws IllegalArgumentException if it is not {@code host:port} with a port from 0 to 65535
     */
    public Builder address(String address) {
      Objects.requireNonNull(address, "address");
      String text = address.strip();
      String hostPart;
      String portPart;
      if (text.startsWith("[")) {
        int close = text.indexOf(']');
        if (close < 0 || close + 1 >= text.length() || text.charAt(close + 1) != ':') {
          throw new IllegalArgumentException("'" + address + "' is not [ipv6]:port");
        }
        hostPart = text.substring(1, close);
        portPart = text.substring(close + 2);
      } else {
        int colon = text.lastIndexOf(':');
        if (colon < 0) {
          throw new IllegalArgumentException("'" + address + "' has no port (host:port)");
        }
        if (text.indexOf(':') != colon) {
          throw new IllegalArgumentException(
              "'" + address + "': put an IPv6 address in brackets, [::1]:50051");
        }
        hostPart = text.substring(0, colon);
        portPart = text.substring(colon + 1);
      }
      int parsed;
      try {
        parsed = Integer.parseInt(portPart);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("'" + address + "' has no valid port", e);
      }
      host(hostPart);
      port(parsed);
      return this;
    }

    /**
     * Sets the host (a name or an IP literal, without brackets) to listen on; {@code ::} or {@code
     * *} means every interface. Default {@code ::}.
     *
     * @throws IllegalArgumentException if it is empty
     */
    public Builder host(String host) {
      Objects.requireNonNull(host, "host");
      if (host.isBlank()) {
        throw new IllegalArgumentException("The host must not be empty");
      }
      this.host = host.strip();
      return this;
    }

    /**
     * Sets the port; 0 lets the system choose a free one. Default 50051.
     *
     * @throws IllegalArgumentException if it is not from 0 to 65535
     */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("The port must be from 0 to 65535, got " + port);
      }
      this.port = port;
      return this;
    }

    /**
     * Sets the largest request accepted, in bytes (the Python runner's {@code
     * GRPC_MAX_RECEIVE_MESSAGE_LENGTH}); larger ones are refused {@code RESOURCE_EXHAUSTED}.
     * Default 64 MiB; {@link Integer#MAX_VALUE} for no limit.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder maxReceiveMessageBytes(int bytes) {
      this.maxReceiveBytes = positive(bytes, "maxReceiveMessageBytes");
      return this;
    }

    /**
     * Sets the largest response sent, in bytes ({@code GRPC_MAX_SEND_MESSAGE_LENGTH}); a larger one
     * is answered {@code RESOURCE_EXHAUSTED} instead. Default 64 MiB; {@link Integer#MAX_VALUE} for
     * no limit.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder maxSendMessageBytes(int bytes) {
      this.maxSendBytes = positive(bytes, "maxSendMessageBytes");
      return this;
    }

    /**
     * Sets what sees every request the runner runs or refuses, for metrics (see the metrics
     * module's {@code RunnerMetrics}). None by default.
     */
    public Builder observer(RunnerCore.Observer observer) {
      this.observer = Objects.requireNonNull(observer, "observer");
      return this;
    }

    /**
     * Sets whether the runner serves gRPC server reflection ({@code grpc.reflection.v1} and {@code
     * v1alpha}), so that tools such as {@code grpcurl -plaintext host:port list} show its services
     * and their messages. Default on: it tells nothing a client of the protocol does not know.
     */
    public Builder reflection(boolean enabled) {
      this.reflection = enabled;
      return this;
    }

    /**
     * Sets whether the runner, once it has answered its first health check or got its first Setup
     * (or 200 ms after it started serving, if neither came first), sends dummy values through the
     * model-free path of a call on a background thread (request parsing, the model's value
     * conversions, response encoding), so that the first calls after Setup find their code loaded.
     * Off by default: where many runners share one JVM (tests, a fleet of embedded runners) it
     * costs each start a few hundred milliseconds of processor time; the runner executable, one
     * runner per process, turns it on.
     */
    public Builder warmUp(boolean enabled) {
      this.warmUp = enabled;
      return this;
    }

    /** Sets how long after serving the warm-up starts if no request came first (tests). */
    Builder warmUpDelay(Duration delay) {
      this.warmUpDelay = Objects.requireNonNull(delay, "delay");
      return this;
    }

    /**
     * Sets the call time limit: a Call whose model has not returned after it is answered {@code
     * DEADLINE_EXCEEDED}; the model keeps running and later requests get {@code Server busy} until
     * it returns. {@code null} or zero: no limit (the default, as the Python runner). Setup has
     * {@linkplain #setupTimeLimit a limit of its own}; Rest is never limited.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder callTimeLimit(Duration limit) {
      this.callTimeLimit = limit(limit, "call");
      return this;
    }

    /**
     * Sets the setup time limit: a Setup whose model has not returned after it (its constructor
     * still runs, say) is answered {@code DEADLINE_EXCEEDED}; the constructor keeps running and
     * later requests get {@code Server busy} until it returns (its instance is then kept: a later
     * Setup answers {@code "Instance already exists"}). Default 5 minutes ({@link
     * GrpcRunner#DEFAULT_SETUP_TIME_LIMIT}); {@code null} or zero: no limit (as the Python runner,
     * whose hung Setup blocks its client forever).
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder setupTimeLimit(Duration limit) {
      this.setupTimeLimit = limit(limit, "setup");
      return this;
    }

    private static Duration limit(Duration limit, String kind) {
      if (limit != null && limit.isNegative()) {
        throw new IllegalArgumentException(
            "The " + kind + " time limit must not be negative, got " + limit);
      }
      return limit == null || limit.isZero() ? null : limit;
    }

    /**
     * Sets the grace period {@link GrpcRunner#close()} gives the request in flight. Default 10 s.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder shutdownGrace(Duration grace) {
      Objects.requireNonNull(grace, "grace");
      if (grace.isNegative()) {
        throw new IllegalArgumentException("The grace period must not be negative, got " + grace);
      }
      this.shutdownGrace = grace;
      return this;
    }

    /**
     * Returns the runner, not started; opens the submission given as a path.
     *
     * @throws IllegalStateException if not exactly one of a path, a submission and a model was
     *     given, a host class path was given without a path, or both secure mode and gateway
     *     authentication were given
     * @throws IllegalArgumentException if the submission path or a host class path entry does not
     *     exist, or the submission holds no jar and no class file
     * @throws java.io.UncheckedIOException if the submission cannot be read
     */
    public GrpcRunner build() {
      int given =
          (submissionPath != null ? 1 : 0) + (submission != null ? 1 : 0) + (model != null ? 1 : 0);
      if (given != 1) {
        throw new IllegalStateException(
            "Give exactly one of submission(Path), submission(Submission) and model(HostedModel); got "
                + given);
      }
      if (secureMode != null && gatewayAuth != null) {
        throw new IllegalStateException(
            "Give secure mode or gateway authentication, not both: a coordinator uses one or the"
                + " other (secure mode is TLS on the runner's port; gateway authentication expects"
                + " plaintext behind a TLS gateway)");
      }
      if (secureMode != null && tlsCertificate != null) {
        throw new IllegalStateException(
            "Give secure mode or tls(certificate, key), not both: secure mode serves TLS with the"
                + " certificates directory's tls.crt and tls.key");
      }
      if ((tlsCertificate == null) != (tlsKey == null)) {
        throw new IllegalStateException("tls(certificate, key) needs both a certificate and a key");
      }
      if (tlsClientAuthority != null && tlsCertificate == null) {
        throw new IllegalStateException(
            "tlsClientAuthority applies to a runner that serves TLS: give tls(certificate, key)");
      }
      tlsContext =
          tlsCertificate == null
              ? null
              : RunnerTls.context(this.tlsCertificate, tlsKey, tlsClientAuthority);
      if (!hostClassPath.isEmpty() && submissionPath == null) {
        throw new IllegalStateException(
            "hostClassPath applies to a submission opened from a path; a Submission or HostedModel has its own"
                + " fallback class loader");
      }
      if (model != null) {
        return new GrpcRunner(this, model, false, null);
      }
      if (submission != null) {
        return new GrpcRunner(this, HostedModel.builder(submission).build(), true, null);
      }
      ClassLoader application = GrpcRunner.class.getClassLoader();
      ClassLoader parent =
          applicationClassesVisible ? application : HostClassPath.sharedPackagesOnly(application);
      URLClassLoader hostLoader = HostClassPath.loader(hostClassPath, parent);
      ClassLoader fallback =
          hostLoader != null ? hostLoader : applicationClassesVisible ? application : null;
      try {
        Submission opened =
            Submission.builder(submissionPath).fallbackClassLoader(fallback).build();
        return new GrpcRunner(
            this, HostedModel.builder(opened).ownsSubmission(true).build(), true, hostLoader);
      } catch (RuntimeException e) {
        if (hostLoader != null) {
          try {
            hostLoader.close();
          } catch (IOException suppressed) {
            e.addSuppressed(suppressed);
          }
        }
        throw e;
      }
    }

    private static int positive(int bytes, String name) {
      if (bytes <= 0) {
        throw new IllegalArgumentException(name + " must be positive, got " + bytes);
      }
      return bytes;
    }
  }
}
