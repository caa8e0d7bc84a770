package org.modelrunner.client;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLContext;
import org.modelrunner.spi.DirectoryStatus;
import org.modelrunner.spi.ModelDirectory;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.ModelState;

/**
 * The live list of a crunch's models, from the Model Orchestrator's WebSocket (PROTOCOL.md §3): the
 * directory a coordinator uses in production. It connects to {@code <base URI>/<crunch id>},
 * reports the orchestrator's {@code init} snapshots and {@code update}s to its {@link
 * ModelDirectory.Listener}, and sends the fleet's failure reports back to the orchestrator, which
 * stops and quarantines the reported models.
 *
 * <pre>{@code
 * OrchestratorDirectory directory =
 *     OrchestratorDirectory.builder(URI.create("ws://orchestrator:9091"), "my-crunch").build();
 * ModelFleet fleet = ModelFleet.builder().directory(directory).baseClass("...").build();
 * }</pre>
 *
 * <h2>Connection and snapshots</h2>
 *
 * <p>{@link #start} opens the connection; the directory then stays connected until {@link
 * #close()}, reconnecting forever with exponential backoff and jitter: the delay before attempt
 * {@code k} is drawn between half and all of {@code min(max, initial × 2^k)}, and {@code k} goes
 * back to 0 once a connection has delivered its {@code init}. Every connection's {@code init}
 * (including after a reconnect, and even an empty one) is delivered as {@link
 * ModelDirectory.Listener#snapshot(List, List) snapshot(running, recovering)}: {@code RUNNING}
 * deployments, {@code RECOVERING} ones apart, and {@code STOPPED} ones left out (absent means
 * gone), so that updates lost while disconnected are reconciled. Each {@code update} entry is
 * passed on as {@link ModelDirectory.Listener#update update(endpoint, state)}, duplicates included
 * (the fleet ignores them). A WebSocket ping goes out every {@linkplain Builder#pingInterval ping
 * interval}; a connection that has not answered (a pong or any other frame) by the next one is
 * aborted and reopened. If a connection's {@code init} lists no model and no {@code RUNNING} update
 * follows within {@linkplain Builder#emptySnapshotWarning a while}, a warning suggests checking the
 * crunch id (an unknown crunch id also gets an empty list). While connecting fails, a warning with
 * the last error is logged at least every minute, and {@link #status()} tells since when and why.
 *
 * <p>The WebSocket is Jetty's client: its opening handshake is a plain {@code GET} without body
 * headers, which the production orchestrator's server requires (the JDK 17 client's handshake
 * carries {@code Content-Length: 0} and is refused). For {@code wss://} with a private certificate
 * authority, give the trust with {@link Builder#sslContext}.
 *
 * <h2>What the orchestrator sends</h2>
 *
 * <p>An entry's {@code model_id} may be a string or an integer, {@code port} a number or a numeric
 * string, {@code ip} a host name; {@code infos} values may be null and are kept as text (objects
 * and lists as JSON). Endpoints are {@code grpc://<ip>:<port>} (another scheme with {@link
 * Builder#endpointScheme}). Only a {@code RUNNING} entry needs a usable ip and port: the
 * orchestrator sends {@code "ip": null} while a model has no running process ({@code RECOVERING}),
 * and placeholders on repeated {@code STOPPED} entries; those apply by their ids and state alone. A
 * {@code RUNNING} entry without an address, an entry missing a required field, and an entry in an
 * unknown state are logged and skipped; the other entries of the message still apply. Frames that
 * are not a message of the protocol are logged (with their first 200 characters) and ignored;
 * nothing the orchestrator sends can stop the directory.
 *
 * <h2>Failure reports</h2>
 *
 * <p>{@link #reportFailure} never blocks and never throws: the report is queued (at most
 * {@linkplain Builder#maxQueuedReports a bound}; when full, the oldest report is dropped with a
 * warning) and sent, one at a time, while connected. A report leaves the queue only once it was
 * written to the socket; one whose sending failed is sent again after the next reconnect, and none
 * is sent twice after a successful write. The report carries the {@code model_id} with the JSON
 * type the orchestrator used for the model and the {@code ip} exactly as it last announced it for
 * the deployment, null included (the orchestrator matches both strictly, and a wrong ip makes it
 * drop the rest of its pass).
 *
 * <h2>Threads</h2>
 *
 * <p>Each directory owns one daemon thread, {@code modelrunner-orchestrator-N}, which makes every
 * listener call (one at a time, in order, across reconnects), schedules reconnects and pings, and
 * sends reports; and a few daemon I/O threads for Jetty's WebSocket client. Listener methods must
 * return quickly (the fleet hands them to its own thread). {@link #close()} stops both. Logging
 * goes through {@link System.Logger}, named after this class.
 */
public final class OrchestratorDirectory implements ModelDirectory {
  private static final System.Logger LOG = System.getLogger(OrchestratorDirectory.class.getName());

  private final URI url;
  private final String crunchId;
  private final int maxQueuedReports;
  private final long emptySnapshotWarningNanos;

  /** Connecting, reconnecting and pinging; its thread is the directory's. */
  private final OrchestratorConnection connection;

  private final AtomicBoolean started = new AtomicBoolean();
  private final AtomicBoolean closed = new AtomicBoolean();

  /** Entries in as endpoints, reports out as the orchestrator named the models. */
  private final AnnouncedModels announced;

  /** Reports not sent yet, oldest first. */
  private final ReportQueue reports;

  /** Set by {@link #start} before the connection starts; read on the directory's thread only. */
  private Listener listener;

  /** The open connection as the directory sees it; null while none is open. Directory thread. */
  private OpenConnection open;

  /** The report being written, if any. Directory thread. */
  private ReportQueue.Report inFlight;

  private OrchestratorDirectory(Builder builder) {
    this.url = builder.url;
    this.crunchId = builder.crunchId;
    this.maxQueuedReports = builder.maxQueuedReports;
    this.reports = new ReportQueue(builder.maxQueuedReports);
    this.emptySnapshotWarningNanos = Concurrency.nanos(builder.emptySnapshotWarning);
    this.announced = new AnnouncedModels(builder.endpointScheme);
    this.connection =
        new OrchestratorConnection(
            new OrchestratorConnection.Settings(
                url,
                builder.initialBackoff,
                builder.maxBackoff,
                builder.connectTimeout,
                builder.pingInterval,
                builder.sslContext),
            builder.scheduler,
            builder.ticker != null ? builder.ticker : Ticker.system(),
            new ConnectionEvents());
  }

  /**
   * Returns a builder for a directory of the crunch's models.
   *
   * @param orchestrator the orchestrator's base URI, such as {@code ws://orchestrator:9091} ({@code
   *     ws} or {@code wss}, no query string); the crunch id is appended as one path segment
   * @param crunchId the crunch whose models to follow
   * @throws IllegalArgumentException if the URI is not a {@code ws}/{@code wss} URI with a host and
   *     without query or fragment, or the crunch id is blank
   */
  public static Builder builder(URI orchestrator, String crunchId) {
    return new Builder(orchestrator, crunchId);
  }

  /** Returns the URL connected to: the base URI followed by the crunch id. */
  public URI uri() {
    return url;
  }

  /** Returns the crunch id. */
  public String crunchId() {
    return crunchId;
  }

  /** Returns whether a WebSocket connection to the orchestrator is open now. */
  public boolean isConnected() {
    return connection.isConnected();
  }

  /**
   * Returns the state of the connection to the orchestrator: {@code CONNECTING} until the first
   * connection opens, {@code CONNECTED}, {@code RECONNECTING} since a connection was lost (with the
   * failed attempts since and the last error), {@code CLOSED}.
   */
  @Override
  public Optional<DirectoryStatus> status() {
    return Optional.of(connection.status());
  }

  /**
   * Waits until the directory's own thread has ended after {@link #close()}: from then on nothing
   * can reconnect or send. For tests.
   */
  boolean awaitStopped(Duration timeout) throws InterruptedException {
    return connection.awaitStopped(timeout);
  }

  /** The delay before the reconnect after {@code k} attempts, drawn anew each call. For tests. */
  long backoff(int k) {
    return connection.backoff(k);
  }

  /** Returns how many failure reports wait to be sent. */
  public int queuedReports() {
    return reports.size();
  }

  /**
   * Connects and starts reporting to {@code listener}, on the directory's thread.
   *
   * @throws IllegalStateException if already started, or closed
   */
  @Override
  public void start(Listener listener) {
    Objects.requireNonNull(listener, "listener");
    if (closed.get()) {
      throw new IllegalStateException("The orchestrator directory is closed");
    }
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException("The orchestrator directory was already started");
    }
    this.listener = listener;
    if (!connection.start()) {
      throw new IllegalStateException("The orchestrator directory is closed");
    }
  }

  /**
   * Returns true: the Model Orchestrator stops a reported model (and quarantines most), so a fleet
   * following it leaves a model its failure policy disconnected to the orchestrator, as the Python
   * client does, and does not re-admit it by default.
   */
  @Override
  public boolean actsOnReports() {
    return true;
  }

  /**
   * Queues a failure report for the orchestrator: {@code
   * {"event":"report_failure","data":[{"model_id":..,
   * "failure_code":..,"failure_reason":..,"ip":..}]}}. Never blocks and never throws; a report that
   * cannot be queued (closed directory, missing endpoint or code) is logged and dropped.
   */
  @Override
  public void reportFailure(ModelEndpoint endpoint, String failureCode, String reason) {
    try {
      if (endpoint == null || failureCode == null) {
        LOG.log(
            System.Logger.Level.WARNING,
            "Ignored a failure report without an endpoint or code: {0} {1}",
            endpoint,
            failureCode);
        return;
      }
      if (closed.get()) {
        LOG.log(
            System.Logger.Level.WARNING,
            "The orchestrator directory is closed: dropped the report of model {0} ({1})",
            endpoint.modelId(),
            failureCode);
        return;
      }
      ReportQueue.Report dropped = reports.add(announced.report(endpoint, failureCode, reason));
      if (dropped != null) {
        LOG.log(
            System.Logger.Level.WARNING,
            "The queue of failure reports for {0} is full ({1}): dropped the oldest, model {2} (deployment {3}, {4})",
            url,
            maxQueuedReports,
            dropped.modelId(),
            dropped.deploymentId(),
            dropped.code());
      }
      connection.post(this::sendReports);
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "Could not queue a failure report: " + e, e);
    }
  }

  /**
   * Stops reconnecting, closes the connection (a normal close; aborted after about a second if the
   * orchestrator does not answer) and stops the directory's threads. Reports still queued are
   * dropped, with a warning. Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    connection.close();
    int left = queuedReports();
    if (left > 0) {
      LOG.log(
          System.Logger.Level.WARNING,
          "Closed the orchestrator directory for {0} with {1} failure report(s) not sent",
          url,
          left);
    } else {
      LOG.log(System.Logger.Level.DEBUG, "Closed the orchestrator directory for {0}", url);
    }
  }

  @Override
  public String toString() {
    return "OrchestratorDirectory[" + url + (isConnected() ? ", connected" : "") + "]";
  }

  // ---------------------------------------------------------------------------------------------
  // Receiving (all on the directory's thread)

  /** What the directory heard on one open connection, and its empty-snapshot watch. */
  private static final class OpenConnection {
    boolean initReceived;
    boolean runningSeen;
    Future<?> emptyWatch;
  }

  /** The connection's calls, on the directory's thread: the only way it reaches the directory. */
  private final class ConnectionEvents implements OrchestratorConnection.Events {
    @Override
    public void opened() {
      open = new OpenConnection();
      sendReports();
    }

    @Override
    public void message(String text) {
      OrchestratorDirectory.this.message(open, text);
    }

    @Override
    public void lost() {
      if (open != null && open.emptyWatch != null) {
        open.emptyWatch.cancel(false);
      }
      open = null;
    }
  }

  private void message(OpenConnection on, String text) {
    OrchestratorMessages.Message message = OrchestratorMessages.parse(text);
    switch (message.kind()) {
      case INVALID ->
          LOG.log(
              System.Logger.Level.WARNING,
              "Ignored a message from the orchestrator at {0}: {1}: {2}",
              url,
              message.problems().get(0),
              OrchestratorMessages.excerpt(text));
      case ERROR ->
          LOG.log(
              connection.attempts() <= 5 || connection.attempts() % 10 == 0
                  ? System.Logger.Level.ERROR
                  : System.Logger.Level.DEBUG,
              "The orchestrator at {0} sent an error (it closes connections it refuses): {1}",
              url,
              message.error());
      case INIT -> init(on, message);
      case UPDATE -> update(on, message);
    }
  }

  private void init(OpenConnection on, OrchestratorMessages.Message message) {
    logProblems(message);
    List<ModelEndpoint> running = new ArrayList<>();
    List<ModelEndpoint> recovering = new ArrayList<>();
    announced.retainListed(message.entries());
    for (OrchestratorMessages.Entry entry : message.entries()) {
      ModelEndpoint endpoint = announced.endpoint(entry);
      switch (entry.state()) {
        case RUNNING -> running.add(endpoint);
        case RECOVERING -> recovering.add(endpoint);
        case STOPPED -> {}
      }
    }
    if (!on.initReceived) {
      on.initReceived = true;
      connection.resetAttempts();
    }
    LOG.log(
        System.Logger.Level.DEBUG,
        "Snapshot from {0}: {1} running, {2} recovering",
        url,
        running.size(),
        recovering.size());
    if (running.isEmpty() && recovering.isEmpty() && !on.runningSeen && on.emptyWatch == null) {
      on.emptyWatch = connection.schedule(() -> emptyWatch(on), emptySnapshotWarningNanos);
    }
    List<ModelEndpoint> runningCopy = List.copyOf(running);
    List<ModelEndpoint> recoveringCopy = List.copyOf(recovering);
    try {
      listener.snapshot(runningCopy, recoveringCopy);
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "The directory listener failed on a snapshot: " + e, e);
    }
  }

  private void update(OpenConnection on, OrchestratorMessages.Message message) {
    logProblems(message);
    if (!on.initReceived) {
      LOG.log(
          System.Logger.Level.DEBUG,
          "An update from {0} arrived before the init; applied as an update",
          url);
    }
    for (OrchestratorMessages.Entry entry : message.entries()) {
      ModelEndpoint endpoint = announced.endpoint(entry);
      if (entry.state() == ModelState.RUNNING) {
        on.runningSeen = true;
      }
      try {
        listener.update(endpoint, entry.state());
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "The directory listener failed on an update: " + e, e);
      }
    }
  }

  private void logProblems(OrchestratorMessages.Message message) {
    for (String problem : message.problems()) {
      LOG.log(
          System.Logger.Level.WARNING,
          "The orchestrator at {0} sent an unusable entry: {1}",
          url,
          problem);
    }
  }

  private void emptyWatch(OpenConnection watched) {
    if (watched == open && !watched.runningSeen && !closed.get()) {
      LOG.log(
          System.Logger.Level.WARNING,
          "The orchestrator at {0} lists no model for crunch ''{1}'' since {2}: check the crunch id",
          url,
          crunchId,
          Concurrency.millis(emptySnapshotWarningNanos));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Sending reports (all on the directory's thread)

  private void sendReports() {
    OpenConnection sentOn = open;
    if (inFlight != null || sentOn == null || closed.get()) {
      return;
    }
    ReportQueue.Report report = reports.first();
    if (report == null) {
      return;
    }
    inFlight = report;
    connection
        .send(report.text())
        .whenComplete(
            (written, error) -> {
              if (!connection.post(() -> reportSent(sentOn, report, error)) && error == null) {
                reports.remove(report);
              }
            });
  }

  private void reportSent(OpenConnection sentOn, ReportQueue.Report report, Throwable error) {
    inFlight = null;
    if (error == null) {
      reports.remove(report);
      LOG.log(
          System.Logger.Level.INFO,
          "Reported model {0} (deployment {1}) to the orchestrator at {2}: {3} ({4})",
          report.modelId(),
          report.deploymentId(),
          url,
          report.code(),
          report.reason());
      sendReports();
      return;
    }
    LOG.log(
        System.Logger.Level.WARNING,
        "Sending the report of model {0} to the orchestrator at {1} failed ({2}); it will be sent after a reconnect",
        report.modelId(),
        url,
        OrchestratorSocket.describe(Concurrency.cause(error)));
    if (sentOn == open) {
      connection.fail(Concurrency.cause(error));
    } else {
      sendReports(); // a newer connection may be open already
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Builder

  /** Configures an {@link OrchestratorDirectory}; every setting has a default. Not thread-safe. */
  public static final class Builder {
    private final URI url;
    private final String crunchId;
    private Duration initialBackoff = Duration.ofMillis(500);
    private Duration maxBackoff = Duration.ofSeconds(30);
    private Duration connectTimeout = Duration.ofSeconds(10);
    private Duration pingInterval = Duration.ofSeconds(30);
    private int maxQueuedReports = 1000;
    private Duration emptySnapshotWarning = Duration.ofSeconds(60);
    private String endpointScheme = "grpc";
    private SSLContext sslContext;
    private Scheduler scheduler;
    private Ticker ticker;

    private Builder(URI orchestrator, String crunchId) {
      Objects.requireNonNull(orchestrator, "orchestrator");
      Objects.requireNonNull(crunchId, "crunchId");
      this.url = url(orchestrator, crunchId);
      this.crunchId = crunchId;
    }

    /**
     * Sets the reconnect backoff: the delay before attempt {@code k} is drawn between half and all
     * of {@code min(max, initial × 2^k)}. Defaults: 500 ms and 30 s.
     *
     * @throws IllegalArgumentException if a duration is not positive or {@code max < initial}
     */
    public Builder reconnectBackoff(Duration initial, Duration max) {
      Concurrency.requirePositive(initial, "The initial reconnect backoff");
      Concurrency.requirePositive(max, "The maximum reconnect backoff");
      if (max.compareTo(initial) < 0) {
        throw new IllegalArgumentException(
            "The maximum reconnect backoff ("
                + max
                + ") must be at least the initial one ("
                + initial
                + ")");
      }
      this.initialBackoff = initial;
      this.maxBackoff = max;
      return this;
    }

    /**
     * Sets how long opening a connection (TCP and WebSocket handshake) may take. Default: 10 s.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = Concurrency.requirePositive(timeout, "The connect timeout");
      return this;
    }

    /**
     * Sets how often a ping is sent; a connection that received no pong (nor any other frame) since
     * the previous ping is aborted and reopened. Default: 30 s.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder pingInterval(Duration interval) {
      this.pingInterval = Concurrency.requirePositive(interval, "The ping interval");
      return this;
    }

    /**
     * Sets how many failure reports may wait for a connection; past it, the oldest is dropped.
     * Default: 1000.
     *
     * @throws IllegalArgumentException if less than 1
     */
    public Builder maxQueuedReports(int max) {
      if (max < 1) {
        throw new IllegalArgumentException("maxQueuedReports must be at least 1: " + max);
      }
      this.maxQueuedReports = max;
      return this;
    }

    /**
     * Sets how long a connection whose init listed no model waits for a {@code RUNNING} update
     * before it warns that the crunch id may be wrong. Default: 60 s.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder emptySnapshotWarning(Duration after) {
      this.emptySnapshotWarning =
          Concurrency.requirePositive(after, "The empty snapshot warning delay");
      return this;
    }

    /**
     * Sets the scheme of the endpoints announced: {@code <scheme>://<ip>:<port>}, which picks the
     * transport that reaches them. Default: {@code grpc}.
     *
     * @throws IllegalArgumentException if it is not a URI scheme (a letter, then letters, digits,
     *     {@code +}, {@code -} or {@code .})
     */
    public Builder endpointScheme(String scheme) {
      Objects.requireNonNull(scheme, "scheme");
      if (!scheme.matches("[A-Za-z][A-Za-z0-9+.-]*")) {
        throw new IllegalArgumentException("Not a URI scheme: '" + scheme + "'");
      }
      this.endpointScheme = scheme.toLowerCase(Locale.ROOT);
      return this;
    }

    /**
     * Sets the TLS context for a {@code wss://} orchestrator (its trust store decides which
     * certificates are accepted). Default: the JVM's default trust store.
     */
    public Builder sslContext(SSLContext context) {
      this.sslContext = Objects.requireNonNull(context, "context");
      return this;
    }

    /**
     * Sets what runs the directory's timed work (reconnect backoff, pings, the empty-snapshot and
     * connection warnings) and what tells the time for its decisions, for tests that move time by
     * hand. Default: the directory's own thread and {@link System#nanoTime()}. Connecting, reading
     * and closing still take real time.
     */
    public Builder time(Scheduler scheduler, Ticker ticker) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Builds the directory; it connects when a fleet (or anyone) calls {@link
     * OrchestratorDirectory#start}.
     */
    public OrchestratorDirectory build() {
      return new OrchestratorDirectory(this);
    }
  }

  /**
   * The base URI followed by the crunch id as one path segment: see {@link
   * OrchestratorMessages#url}.
   */
  static URI url(URI base, String crunchId) {
    return OrchestratorMessages.url(base, crunchId);
  }
}
