package org.modelrunner.client;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.SSLContext;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.exceptions.UpgradeException;
import org.eclipse.jetty.websocket.client.ClientUpgradeRequest;
import org.eclipse.jetty.websocket.client.WebSocketClient;

/**
 * The WebSocket under an {@link OrchestratorDirectory}'s {@link OrchestratorConnection}: Jetty's
 * WebSocket client, kept behind small interfaces so that the connection deals in connections and
 * text, not in Jetty's types.
 *
 * <p>Jetty rather than the JDK's {@code java.net.http.WebSocket}: on Java 17 the JDK's opening
 * handshake carries {@code Content-Length: 0}, which the production orchestrator's server (Python
 * {@code websockets} 14/15) refuses as a request body. Jetty's handshake is a plain {@code GET}
 * without body headers. Jetty 12 runs on Java 17, is kept up to date, and is already the tests'
 * orchestrator.
 *
 * <p>Reading is flow-controlled: after {@link Events#text} the next frame is read only once the
 * connection calls {@link Socket#demand()}.
 */
final class OrchestratorSocket implements OrchestratorConnection.Sockets {
  /**
   * Outgoing frames are split into frames of at most this many bytes; incoming frames may be
   * larger.
   */
  private static final long MAX_FRAME_BYTES = 64L * 1024 * 1024;

  private final WebSocketClient client;

  /**
   * @param threadName prefix of the I/O threads' names (daemon threads)
   * @param connectTimeout bound on TCP connect and handshake
   * @param idleTimeout a connection with no traffic at all for this long is closed (pings count)
   * @param sslContext for {@code wss://}; null for the JVM's default trust
   */
  OrchestratorSocket(
      String threadName, Duration connectTimeout, Duration idleTimeout, SSLContext sslContext) {
    QueuedThreadPool threads = new QueuedThreadPool(8, 1);
    threads.setName(threadName + "-io");
    threads.setDaemon(true);
    SslContextFactory.Client tls = new SslContextFactory.Client();
    if (sslContext != null) {
      tls.setSslContext(sslContext);
    }
    HttpClient http = new HttpClient();
    http.setExecutor(threads);
    http.setScheduler(new ScheduledExecutorScheduler(threadName + "-io-timer", true));
    http.setSslContextFactory(tls);
    http.setConnectTimeout(connectTimeout.toMillis());
    http.setFollowRedirects(false);
    http.setUserAgentField(null);
    this.client = new WebSocketClient(http);
    client.setConnectTimeout(connectTimeout.toMillis());
    client.setIdleTimeout(idleTimeout);
    client.setMaxTextMessageSize(-1); // the connection bounds messages itself, on partial frames
    client.setMaxFrameSize(MAX_FRAME_BYTES);
    client.setAutoFragment(true);
    client.setStopAtShutdown(false);
    client.setStopTimeout(1_000);
  }

  /** What happens on one connection; called on Jetty's threads, one at a time, in order. */
  interface Events {
    /** The handshake succeeded. */
    void opened(Socket socket);

    /**
     * Part of a text message; {@code last} ends the message. Nothing more is read until {@link
     * Socket#demand}.
     */
    void text(String part, boolean last);

    /** A ping, a pong or a binary frame arrived: the connection is alive. */
    void heard();

    /** The connection ended: closed by the orchestrator ({@code error} null) or failed. */
    void ended(int closeCode, String reason, Throwable error);
  }

  /** One open connection. */
  interface Socket {
    /** Sends one text message; the future completes once it was written. */
    CompletableFuture<Void> sendText(String text);

    /** Sends a ping; failures only matter through the missing pong. */
    void sendPing(byte[] payload);

    /** Starts a normal close (1000). */
    void close(String reason);

    /** Drops the connection at once. */
    void abort();

    /** Reads the next frame. */
    void demand();
  }

  /**
   * Opens a connection. The future fails with the cause (refused, timed out, or the handshake's
   * HTTP status) and then no event follows; otherwise {@link Events#opened} comes first.
   */
  @Override
  public CompletableFuture<Void> open(URI uri, Events events) {
    try {
      synchronized (client) {
        if (!client.isStarted()) {
          client.start();
        }
      }
      ClientUpgradeRequest request = new ClientUpgradeRequest();
      return client.connect(new Endpoint(events), uri, request).thenApply(session -> null);
    } catch (Exception e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Stops Jetty's client and its threads, aborting what is still open. */
  @Override
  public void close() {
    try {
      client.stop();
    } catch (Exception e) {
      System.getLogger(Concurrency.DIRECTORY_LOGGER)
          .log(
              System.Logger.Level.DEBUG, "Stopping the WebSocket client failed: {0}", e.toString());
    }
  }

  /**
   * A failure's text for a log line: the handshake's HTTP status, or the cause's class and message.
   */
  static String describe(Throwable cause) {
    if (cause == null) {
      return "unknown cause";
    }
    if (cause instanceof UpgradeException upgrade) {
      Throwable inner = upgrade.getCause();
      return "the WebSocket handshake failed"
          + (upgrade.getResponseStatusCode() > 0 ? ": HTTP " + upgrade.getResponseStatusCode() : "")
          + (inner != null && inner.getMessage() != null ? " (" + inner.getMessage() + ")" : "");
    }
    String message = cause.getMessage();
    return message == null || message.isBlank()
        ? cause.getClass().getSimpleName()
        : cause.getClass().getSimpleName() + ": " + message;
  }

  /**
   * Jetty's listener for one connection. Public only because Jetty calls it through method handles.
   */
  public static final class Endpoint implements Session.Listener {
    private final Events events;
    private volatile Session session;
    private volatile boolean ended;

    Endpoint(Events events) {
      this.events = events;
    }

    @Override
    public void onWebSocketOpen(Session session) {
      this.session = session;
      events.opened(new JettySocket(session));
    }

    @Override
    public void onWebSocketPartialText(String payload, boolean fin) {
      events.text(payload, fin);
    }

    @Override
    public void onWebSocketPartialBinary(ByteBuffer payload, boolean fin, Callback callback) {
      callback.succeed();
      events.heard();
      demand();
    }

    @Override
    public void onWebSocketPing(ByteBuffer payload) {
      Session current = session;
      if (current != null) {
        current.sendPong(payload, Callback.NOOP);
      }
      events.heard();
      demand();
    }

    @Override
    public void onWebSocketPong(ByteBuffer payload) {
      events.heard();
      demand();
    }

    @Override
    public void onWebSocketClose(int statusCode, String reason) {
      end(statusCode, reason, null);
    }

    @Override
    public void onWebSocketError(Throwable cause) {
      end(-1, null, cause);
    }

    private void end(int code, String reason, Throwable error) {
      if (!ended) {
        ended = true;
        events.ended(code, reason, error);
      }
    }

    private void demand() {
      Session current = session;
      if (current != null && current.isOpen()) {
        current.demand();
      }
    }
  }

  private record JettySocket(Session session) implements Socket {
    @Override
    public CompletableFuture<Void> sendText(String text) {
      CompletableFuture<Void> written = new CompletableFuture<>();
      try {
        session.sendText(
            text, Callback.from(() -> written.complete(null), written::completeExceptionally));
      } catch (RuntimeException e) {
        written.completeExceptionally(e);
      }
      return written;
    }

    @Override
    public void sendPing(byte[] payload) {
      try {
        session.sendPing(ByteBuffer.wrap(payload), Callback.NOOP);
      } catch (RuntimeException e) {
        // the next ping finds the connection silent
      }
    }

    @Override
    public void close(String reason) {
      session.close(org.eclipse.jetty.websocket.api.StatusCode.NORMAL, reason, Callback.NOOP);
    }

    @Override
    public void abort() {
      session.disconnect();
    }

    @Override
    public void demand() {
      if (session.isOpen()) {
        session.demand();
      }
    }
  }

  static IOException closedBy(int code, String reason) {
    return new IOException(
        "closed by the orchestrator: "
            + code
            + (reason == null || reason.isEmpty() ? "" : " " + reason));
  }
}
