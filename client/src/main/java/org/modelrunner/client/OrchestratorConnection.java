package org.modelrunner.client;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import javax.net.ssl.SSLContext;
import org.modelrunner.spi.DirectoryStatus;

/**
 * Keeps an {@link OrchestratorDirectory} connected to the Model Orchestrator: one WebSocket
 * connection at a time from {@link #start()} to {@link #close()}, reopened whenever it is lost. It
 * knows nothing of what the orchestrator's messages mean: it tells its owner, through {@link
 * Events}, that a connection opened, each whole text message it received and that it was lost, and
 * writes the text the owner {@linkplain #send sends}.
 *
 * <ul>
 *   <li><b>Reconnecting.</b> After a failed attempt or a lost connection, the next attempt waits a
 *       delay drawn between half and all of {@code min(max, initial × 2^k)}, {@code k} counting the
 *       attempts since the owner last called {@link #resetAttempts()} (the directory does once a
 *       connection delivered its init). An attempt whose handshake has not ended 2 s past the
 *       connect timeout is given up.
 *   <li><b>Liveness.</b> While a connection is open, a ping goes out every ping interval; a
 *       connection that has not answered (a pong or any other frame) by the next ping is aborted
 *       and reopened.
 *   <li><b>Warnings and status.</b> A lost connection is logged as a warning; so are failed
 *       attempts, each of the first 5 since the last reset, then one at least every minute (the
 *       others at debug level). {@link #status()} tells {@code CONNECTING} until the first
 *       connection opens, {@code CONNECTED}, {@code RECONNECTING} since a connection was lost (with
 *       the failed attempts since and the last error), then {@code CLOSED}.
 *   <li><b>Messages.</b> Fragmented text is assembled into whole messages; a message over {@link
 *       #MAX_MESSAGE_CHARS} characters is dropped with a warning (its remaining parts are skipped)
 *       and the connection goes on. The next frame is read once the owner has handled a message.
 *   <li><b>Closing.</b> {@link #close()} stops reconnecting and closes the open connection
 *       normally, aborting it if the orchestrator has not answered within about a second.
 * </ul>
 *
 * <p>One daemon thread, {@code modelrunner-orchestrator-N}, owns this state: the WebSocket's events
 * are handed to it in order, and it makes every {@link Events} call, one at a time, in order across
 * reconnects. It also runs what the owner {@linkplain #post posts} and {@linkplain #schedule
 * schedules}, so that the owner's state needs no lock either. Timed work (backoff, pings, the
 * handshake guard, the owner's) goes through the given {@link Scheduler} if any, and the minute
 * between warnings is measured with the given {@link Ticker}, so that tests can move time by hand;
 * connecting, reading and closing take real time. Logging goes through {@link System.Logger}, named
 * after the directory.
 */
final class OrchestratorConnection {
  private static final System.Logger LOG = System.getLogger(Concurrency.DIRECTORY_LOGGER);
  private static final AtomicInteger INSTANCES = new AtomicInteger();

  /** Past this many characters, a message is dropped (its remaining parts are skipped). */
  static final int MAX_MESSAGE_CHARS = 32 * 1024 * 1024;

  /** While connecting fails, a warning at least this often (the first 5 failures each get one). */
  static final long WARN_EVERY_NANOS = TimeUnit.SECONDS.toNanos(60);

  /** How long {@link #close()} waits for the orchestrator to answer its close. */
  private static final Duration CLOSE_GRACE = Duration.ofSeconds(1);

  /** How long past the connect timeout a handshake may go on before its attempt is given up. */
  private static final long HANDSHAKE_SLACK_NANOS = TimeUnit.SECONDS.toNanos(2);

  /**
   * What a connection tells its owner. Every call is made on the connection's thread, one at a
   * time, in order: {@code opened}, its messages, {@code lost}, then the next connection's.
   */
  interface Events {
    /** A connection opened: {@link #send} writes on it until {@link #lost()}. */
    void opened();

    /** A whole text message arrived on the open connection. */
    void message(String text);

    /**
     * The open connection was lost; the next attempt is scheduled. Not called for a connection that
     * {@link #close()} ends.
     */
    void lost();
  }

  /**
   * Where and how to connect.
   *
   * @param url the WebSocket URL
   * @param initialBackoff the backoff's cap for {@code k = 0}, doubled with each attempt
   * @param maxBackoff the largest cap, and so the longest delay before a reconnect
   * @param connectTimeout how long opening a connection (TCP and handshake) may take
   * @param pingInterval how often a ping goes out, and how long a connection may stay silent
   * @param sslContext the TLS context for {@code wss://}; null for the JVM's default trust
   */
  record Settings(
      URI url,
      Duration initialBackoff,
      Duration maxBackoff,
      Duration connectTimeout,
      Duration pingInterval,
      SSLContext sslContext) {}

  /**
   * Opens WebSocket connections: {@link OrchestratorSocket}, Jetty's client, except in tests that
   * script the orchestrator's side.
   */
  interface Sockets extends AutoCloseable {
    /**
     * Opens a connection. The future fails with the cause and then no event follows; otherwise
     * {@link OrchestratorSocket.Events#opened} comes first.
     */
    CompletableFuture<Void> open(URI uri, OrchestratorSocket.Events events);

    /** Stops the client and its threads, aborting what is still open. */
    @Override
    void close();
  }

  private final URI url;
  private final long initialBackoffNanos;
  private final long maxBackoffNanos;
  private final long connectTimeoutNanos;
  private final long pingIntervalNanos;
  private final Events events;

  private final String threadName;
  private final ScheduledThreadPoolExecutor thread;
  private final Sockets sockets;

  /** Timed work: the connection's own thread unless a scheduler was given. */
  private final Scheduler scheduler;

  private final Ticker ticker;

  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile boolean connected;

  /** What {@link #status()} tells; replaced whole on the connection's thread (and by close). */
  private volatile DirectoryStatus status;

  // Owned by the connection's thread.
  private Attempt current;
  private int attemptCount;

  /** Consecutive connection attempts since the last {@link #resetAttempts()}. */
  private int attempts;

  /** When a failed attempt was last logged as a warning. */
  private long lastWarningNanos;

  private Future<?> reconnect;

  /**
   * A connection through Jetty's WebSocket client.
   *
   * @param scheduler runs the timed work; null for the connection's own thread
   */
  OrchestratorConnection(Settings settings, Scheduler scheduler, Ticker ticker, Events events) {
    this(
        settings,
        name ->
            new OrchestratorSocket(
                name,
                settings.connectTimeout(),
                idleTimeout(settings.pingInterval()),
                settings.sslContext()),
        scheduler,
        ticker,
        events);
  }

  /**
   * A connection through the given sockets.
   *
   * @param sockets makes the WebSocket client, given the name of the connection's thread (a prefix
   *     for the client's own threads)
   * @param scheduler runs the timed work; null for the connection's own thread
   */
  OrchestratorConnection(
      Settings settings,
      Function<String, Sockets> sockets,
      Scheduler scheduler,
      Ticker ticker,
      Events events) {
    this.url = Objects.requireNonNull(settings.url(), "url");
    this.initialBackoffNanos = Concurrency.nanos(settings.initialBackoff());
    this.maxBackoffNanos = Concurrency.nanos(settings.maxBackoff());
    this.connectTimeoutNanos = Concurrency.nanos(settings.connectTimeout());
    this.pingIntervalNanos = Concurrency.nanos(settings.pingInterval());
    this.scheduler = scheduler;
    this.ticker = Objects.requireNonNull(ticker, "ticker");
    this.events = Objects.requireNonNull(events, "events");
    this.threadName = "modelrunner-orchestrator-" + INSTANCES.incrementAndGet();
    this.thread = new ScheduledThreadPoolExecutor(1, Concurrency.daemonThreads(threadName, false));
    this.thread.setRemoveOnCancelPolicy(true);
    this.thread.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    this.sockets = sockets.apply(threadName);
    this.status =
        new DirectoryStatus(DirectoryStatus.State.CONNECTING, Instant.now(), 0, Optional.empty());
  }

  /** Jetty's idle timeout: three ping intervals, at least a minute (pings are traffic). */
  private static Duration idleTimeout(Duration pingInterval) {
    long pingNanos = Concurrency.nanos(pingInterval);
    return Duration.ofNanos(
        Math.max(TimeUnit.SECONDS.toNanos(60), Math.min(Long.MAX_VALUE / 4, pingNanos) * 3));
  }

  /**
   * Starts connecting, on the connection's thread.
   *
   * @return false if the connection is closed
   */
  boolean start() {
    return !closed.get() && post(this::connect);
  }

  /** Returns whether a connection is open now. Any thread. */
  boolean isConnected() {
    return connected;
  }

  /** Returns the state of the connection. Any thread. */
  DirectoryStatus status() {
    return status;
  }

  /**
   * Returns the connection attempts since the last {@link #resetAttempts()}, the current one
   * included. The connection's thread.
   */
  int attempts() {
    return attempts;
  }

  /**
   * Tells that the open connection did what its owner waits for (the directory: delivered its
   * init): attempts count from zero again, for the backoff and the warnings. The connection's
   * thread.
   */
  void resetAttempts() {
    attempts = 0;
  }

  /**
   * Writes a text message on the open connection. The future completes, on an I/O thread, once the
   * message was written; it fails at once if no connection is open. A failed write leaves the
   * connection as it is: the owner gives it up with {@link #fail} if it is still open. The
   * connection's thread.
   */
  CompletableFuture<Void> send(String text) {
    Attempt attempt = current;
    if (attempt == null || attempt.socket == null || attempt.lost) {
      return CompletableFuture.failedFuture(new IOException("not connected to the orchestrator"));
    }
    try {
      return attempt.socket.sendText(text);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Gives up the open connection as lost, with that cause, and reopens it after the backoff;
   * nothing if no connection is open. The connection's thread.
   */
  void fail(Throwable cause) {
    Attempt attempt = current;
    if (attempt != null && attempt.socket != null) {
      lose(attempt, cause);
    }
  }

  /** Runs a task on the connection's thread; false if the connection is shut down. */
  boolean post(Runnable task) {
    try {
      thread.execute(guarded(task));
      return true;
    } catch (RejectedExecutionException e) {
      return false;
    }
  }

  /**
   * Runs a task on the connection's thread after the delay, through the scheduler if one was given.
   *
   * @return a future whose {@code cancel} keeps the task from running, or null if the connection is
   *     shut down
   */
  Future<?> schedule(Runnable task, long delayNanos) {
    try {
      if (scheduler != null) {
        return scheduler.schedule(() -> post(task), Duration.ofNanos(delayNanos));
      }
      return thread.schedule(guarded(task), delayNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      return null;
    }
  }

  /**
   * Stops reconnecting, closes the open connection (a normal close; aborted after about a second if
   * the orchestrator does not answer), then stops the connection's thread and the WebSocket client.
   * Idempotent; any thread, the connection's own included.
   */
  void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    long deadline = System.nanoTime() + CLOSE_GRACE.toNanos();
    Attempt last = null;
    if (Thread.currentThread().getName().equals(threadName)) {
      last = detach();
    } else {
      try {
        Future<Attempt> detached = thread.submit(this::detach);
        last = detached.get(CLOSE_GRACE.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Exception e) {
        LOG.log(
            System.Logger.Level.DEBUG,
            "Could not detach the connection in time: {0}",
            e.toString());
      }
    }
    connected = false;
    DirectoryStatus before = status;
    status =
        new DirectoryStatus(DirectoryStatus.State.CLOSED, Instant.now(), 0, before.lastError());
    if (last != null && last.socket != null) {
      OrchestratorSocket.Socket socket = last.socket;
      try {
        socket.close("closing");
        last.inputClosed.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Exception e) {
        LOG.log(
            System.Logger.Level.DEBUG,
            "The orchestrator did not answer the close in time: {0}",
            e.toString());
      }
      socket.abort();
    }
    thread.shutdownNow();
    sockets.close();
  }

  /**
   * Waits until the connection's thread has ended after {@link #close()}: from then on nothing can
   * reconnect or send.
   */
  boolean awaitStopped(Duration timeout) throws InterruptedException {
    return thread.awaitTermination(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Equal jitter over min(max, initial · 2^k): the delay before the attempt after {@code k}. */
  long backoff(int k) {
    long cap = maxBackoffNanos;
    if (k < 62 && initialBackoffNanos <= (maxBackoffNanos >> k)) {
      cap = Math.min(maxBackoffNanos, initialBackoffNanos << k);
    }
    long half = cap / 2;
    return cap - half + ThreadLocalRandom.current().nextLong(half + 1);
  }

  // ---------------------------------------------------------------------------------------------
  // Connecting (all on the connection's thread)

  private void connect() {
    reconnect = null;
    if (closed.get()) {
      return;
    }
    attempts++;
    Attempt attempt = new Attempt(++attemptCount);
    current = attempt;
    LOG.log(
        System.Logger.Level.DEBUG,
        "Connecting to the orchestrator at {0} (connection {1}, attempt {2})",
        url,
        attempt.id,
        attempts);
    CompletableFuture<Void> opening = sockets.open(url, new SocketEvents(attempt));
    attempt.opening = opening;
    opening.whenComplete(
        (socket, error) -> {
          if (error != null) {
            post(() -> lose(attempt, Concurrency.cause(error)));
          }
        });
    // The client's connect timeout covers the handshake; this guards against one that never ends.
    attempt.openGuard =
        schedule(
            () -> {
              if (attempt.socket == null && !attempt.lost) {
                opening.cancel(true);
                lose(
                    attempt,
                    new IOException(
                        "no handshake within " + Concurrency.millis(connectTimeoutNanos)));
              }
            },
            connectTimeoutNanos + HANDSHAKE_SLACK_NANOS);
  }

  private void opened(Attempt attempt, OrchestratorSocket.Socket socket) {
    if (attempt.lost || attempt != current || closed.get()) {
      socket.abort();
      return;
    }
    attempt.socket = socket;
    cancel(attempt.openGuard);
    connected = true;
    DirectoryStatus before = status;
    status =
        new DirectoryStatus(DirectoryStatus.State.CONNECTED, Instant.now(), 0, before.lastError());
    LOG.log(
        System.Logger.Level.INFO,
        "Connected to the orchestrator at {0}{1}",
        url,
        before.state() == DirectoryStatus.State.RECONNECTING
            ? " after " + before.failedAttempts() + " failed attempt(s) since " + before.since()
            : "");
    attempt.ping = scheduleAtFixedRate(() -> ping(attempt), pingIntervalNanos);
    socket.demand();
    events.opened();
  }

  /** Gives up an attempt (idempotent) and, if it was the current one, schedules the next. */
  private void lose(Attempt attempt, Throwable cause) {
    if (attempt.lost) {
      return;
    }
    attempt.lost = true;
    cancel(attempt.openGuard);
    cancel(attempt.ping);
    if (attempt.socket != null) {
      attempt.socket.abort();
    }
    if (attempt != current) {
      return;
    }
    current = null;
    connected = false;
    boolean wasConnected = attempt.socket != null;
    if (wasConnected) {
      events.lost();
    }
    if (closed.get()) {
      return;
    }
    long delay = backoff(attempts);
    String why = OrchestratorSocket.describe(cause);
    DirectoryStatus before = status;
    status =
        new DirectoryStatus(
            before.state() == DirectoryStatus.State.CONNECTING
                ? DirectoryStatus.State.CONNECTING
                : DirectoryStatus.State.RECONNECTING,
            before.state() == DirectoryStatus.State.CONNECTED ? Instant.now() : before.since(),
            wasConnected ? 0 : before.failedAttempts() + 1,
            Optional.of(why));
    long now = ticker.read();
    if (wasConnected) {
      lastWarningNanos = now;
      LOG.log(
          System.Logger.Level.WARNING,
          "Lost the connection to the orchestrator at {0} ({1}); reconnecting in {2}",
          url,
          why,
          Concurrency.millis(delay));
    } else if (attempts <= 5 || now - lastWarningNanos >= WARN_EVERY_NANOS) {
      lastWarningNanos = now;
      LOG.log(
          System.Logger.Level.WARNING,
          "Cannot connect to the orchestrator at {0} ({1} failed attempt(s) since {2}), the last: {3}; retrying in {4}",
          url,
          status.failedAttempts(),
          status.since(),
          why,
          Concurrency.millis(delay));
    } else {
      LOG.log(
          System.Logger.Level.DEBUG,
          "Connecting to the orchestrator at {0} failed (attempt {1}): {2}; retrying in {3}",
          url,
          attempts,
          why,
          Concurrency.millis(delay));
    }
    reconnect = schedule(this::connect, delay);
  }

  private void ping(Attempt attempt) {
    if (attempt.lost || attempt.socket == null) {
      return;
    }
    if (attempt.pingSent && !attempt.heard) {
      lose(attempt, new IOException("no pong within " + Concurrency.millis(pingIntervalNanos)));
      return;
    }
    attempt.heard = false;
    attempt.pingSent = true;
    attempt.socket.sendPing(new byte[] {'m', 'r'});
  }

  /** Detaches the current attempt for close(); returns it, or null. */
  private Attempt detach() {
    cancel(reconnect);
    reconnect = null;
    Attempt attempt = current;
    current = null;
    if (attempt != null) {
      attempt.lost = true;
      cancel(attempt.openGuard);
      cancel(attempt.ping);
      if (attempt.socket == null && attempt.opening != null) {
        attempt.opening.cancel(true);
      }
    }
    return attempt;
  }

  // ---------------------------------------------------------------------------------------------
  // Receiving (all on the connection's thread)

  private void textPart(Attempt attempt, String part, boolean last) {
    if (attempt.lost || attempt.socket == null) {
      return;
    }
    attempt.heard = true;
    if (!attempt.oversized) {
      if (attempt.partial.length() + part.length() > MAX_MESSAGE_CHARS) {
        attempt.oversized = true;
        attempt.partial.setLength(0);
        attempt.partial.trimToSize();
      } else {
        attempt.partial.append(part);
      }
    }
    if (last) {
      if (attempt.oversized) {
        LOG.log(
            System.Logger.Level.WARNING,
            "Ignored a message from the orchestrator at {0}: over {1} characters",
            url,
            MAX_MESSAGE_CHARS);
        attempt.oversized = false;
      } else {
        String text = attempt.partial.toString();
        attempt.partial.setLength(0);
        if (attempt.partial.capacity() > 1 << 16) {
          attempt.partial.trimToSize();
        }
        events.message(text);
      }
    }
    if (!attempt.lost && attempt.socket != null) {
      attempt.socket.demand();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private Future<?> scheduleAtFixedRate(Runnable task, long periodNanos) {
    if (scheduler != null) {
      return new Periodic(task, periodNanos).start();
    }
    try {
      return thread.scheduleAtFixedRate(
          guarded(task), periodNanos, periodNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      return null;
    }
  }

  /**
   * A periodic task on the given scheduler: each run schedules the next, until cancelled. A cancel
   * racing with a run leaves nothing scheduled: cancel marks this done before it reads {@code
   * next}, and start reads whether this is done after it writes {@code next}.
   */
  private final class Periodic extends CompletableFuture<Void> {
    private final Runnable task;
    private final long periodNanos;
    private volatile Future<?> next;

    Periodic(Runnable task, long periodNanos) {
      this.task = task;
      this.periodNanos = periodNanos;
    }

    Periodic start() {
      Future<?> scheduled = scheduler.schedule(this::run, Duration.ofNanos(periodNanos));
      next = scheduled;
      if (isDone()) {
        scheduled.cancel(false);
      }
      return this;
    }

    private void run() {
      if (!isDone()) {
        start();
        post(task);
      }
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      boolean cancelled = super.cancel(mayInterruptIfRunning);
      Future<?> pending = next;
      if (pending != null) {
        pending.cancel(false);
      }
      return cancelled;
    }
  }

  private static Runnable guarded(Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException | Error e) {
        LOG.log(
            System.Logger.Level.ERROR, "Unexpected failure in the orchestrator directory: " + e, e);
      }
    };
  }

  private static void cancel(Future<?> future) {
    if (future != null) {
      future.cancel(false);
    }
  }

  /** One connection attempt; its fields belong to the connection's thread unless noted. */
  private static final class Attempt {
    final int id;
    final StringBuilder partial = new StringBuilder();

    /**
     * Completed (from the WebSocket's threads) when the orchestrator's close arrived or the input
     * failed.
     */
    final CompletableFuture<Void> inputClosed = new CompletableFuture<>();

    CompletableFuture<Void> opening;
    OrchestratorSocket.Socket socket;
    boolean lost;
    boolean oversized;
    boolean pingSent;
    boolean heard;
    Future<?> openGuard;
    Future<?> ping;

    Attempt(int id) {
      this.id = id;
    }
  }

  /** Hands every WebSocket event of one attempt to the connection's thread, in order. */
  private final class SocketEvents implements OrchestratorSocket.Events {
    private final Attempt attempt;

    SocketEvents(Attempt attempt) {
      this.attempt = attempt;
    }

    @Override
    public void opened(OrchestratorSocket.Socket socket) {
      if (closed.get() || !post(() -> OrchestratorConnection.this.opened(attempt, socket))) {
        socket.abort();
      }
    }

    @Override
    public void text(String part, boolean last) {
      post(() -> textPart(attempt, part, last));
    }

    @Override
    public void heard() {
      post(() -> attempt.heard = true);
    }

    @Override
    public void ended(int closeCode, String reason, Throwable error) {
      attempt.inputClosed.complete(null);
      post(
          () ->
              lose(
                  attempt, error != null ? error : OrchestratorSocket.closedBy(closeCode, reason)));
    }
  }
}
