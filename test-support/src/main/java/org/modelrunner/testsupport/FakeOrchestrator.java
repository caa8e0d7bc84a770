package org.modelrunner.testsupport;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.StatusCode;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;

/**
 * A fake Model Orchestrator for tests: a real WebSocket server on {@code 127.0.0.1} that speaks the
 * orchestrator's side of the protocol (PROTOCOL.md §3), scripted by the test, and is as strict as
 * the production one:
 *
 * <ul>
 *   <li>An opening handshake whose request carries a body header ({@code Content-Length}, even 0,
 *       or {@code Transfer-Encoding}) is refused the way Python's {@code websockets} 14/15 refuse
 *       it: the connection is closed without an answer. It is counted in {@link
 *       #refusedHandshakes()}.
 *   <li>A client message that is not JSON, or a {@code report_failure} without {@code model_id},
 *       {@code failure_code} or {@code ip}, closes the connection with 1011; an unknown event is
 *       ignored.
 *   <li>A report is matched type-strictly: its {@code model_id} must equal an announced one with
 *       the same JSON type (string or number), and its {@code ip} the ip announced for one of that
 *       model's deployments (null included). Reports that do not match are kept apart in {@link
 *       #unmatchedReports()} and stop nothing.
 *   <li>{@link #redeploy}, {@link #recovering}, {@link #running} and {@link #stopped} send what the
 *       production orchestrator sends: a redeploy as {@code RUNNING} (new) then {@code STOPPED}
 *       (old), one entry per {@code update}; {@code RECOVERING} with a null ip and the default port
 *       50051; a first {@code STOPPED} with the last real address and placeholders ({@code ""}/0,
 *       null/50051, {@code "localhost"}/0) on the later ones.
 * </ul>
 *
 * <p>Like the real orchestrator, it keeps a table of entries per crunch id. A connection on {@code
 * /<crunch_id>} first gets {@code {"event":"init","data":[<the crunch's entries>]}}; {@link
 * #update} changes the table and sends {@code {"event":"update","data":[<entry>]}} to that crunch's
 * connections; a connection on {@code /} gets {@code {"error": "..."}} and is closed. A {@code
 * report_failure} that matches an announced model and ip is recorded in {@link #reports()} and (by
 * default, see {@link #stopReportedModels(boolean)}) stops the reported model: its {@code RUNNING}
 * entries become {@code STOPPED} and that update is broadcast. A {@code report_failure} without
 * {@code model_id}, {@code failure_code} or {@code ip} closes the connection and is recorded in
 * {@link #malformedReports()}.
 *
 * <pre>{@code
 * try (FakeOrchestrator orchestrator = new FakeOrchestrator().start()) {
 *   orchestrator.put("my-crunch", FakeOrchestrator.entry("m1", "m1_d1", "RUNNING", "127.0.0.1", 50051));
 *   // connect a client to orchestrator.uri() with crunch id "my-crunch": it gets m1 in its init
 *   orchestrator.update("my-crunch", FakeOrchestrator.entry("m1", "m1_d1", "STOPPED", "127.0.0.1", 0));
 *   orchestrator.dropConnections(); // the client reconnects and gets a new init
 *   orchestrator.restart();         // same port, same table
 * }
 * }</pre>
 *
 * <p>The server binds to {@code 127.0.0.1} only. {@link #stop()} releases the port and closes every
 * session; the table and what was recorded are kept across {@link #restart()}. All methods are
 * thread-safe.
 */
public final class FakeOrchestrator implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Object lock = new Object();

  /** crunch id → deployment id → entry, in insertion order. */
  private final Map<String, Map<String, JsonNode>> tables = new HashMap<>();

  /** open sessions → their crunch id ("" for a connection without one). */
  private final Map<Session, String> sessions = new LinkedHashMap<>();

  private final List<String> requestPaths = new ArrayList<>();
  private final BlockingQueue<JsonNode> reports = new LinkedBlockingQueue<>();
  private final BlockingQueue<JsonNode> unmatchedReports = new LinkedBlockingQueue<>();
  private final BlockingQueue<String> refusedHandshakes = new LinkedBlockingQueue<>();

  /** How many placeholder STOPPED entries each deployment was sent; guarded by lock. */
  private final Map<String, Integer> stoppedSent = new HashMap<>();

  private final BlockingQueue<String> malformedReports = new LinkedBlockingQueue<>();
  private final BlockingQueue<String> received = new LinkedBlockingQueue<>();
  private final BlockingQueue<Integer> closeCodes = new LinkedBlockingQueue<>();
  private volatile boolean stopReportedModels = true;
  private volatile boolean answerPings = true;
  private int connections; // guarded by lock
  private int pings; // guarded by lock
  private int malformed; // guarded by lock
  private Server server; // guarded by lock
  private KeyStore keyStore; // guarded by lock
  private String keyStorePassword; // guarded by lock
  private int port; // guarded by lock

  /** Creates a fake that is not listening yet: call {@link #start()}. */
  public FakeOrchestrator() {}

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  /**
   * Starts listening on an ephemeral port of {@code 127.0.0.1}.
   *
   * @return this
   * @throws IllegalStateException if already listening, or the server cannot start
   */
  public FakeOrchestrator start() {
    return start(0);
  }

  /**
   * Starts listening on {@code 127.0.0.1:port} (0 for an ephemeral port).
   *
   * @return this
   * @throws IllegalStateException if already listening, or the server cannot start (port taken…)
   */
  public FakeOrchestrator start(int port) {
    synchronized (lock) {
      if (server != null) {
        throw new IllegalStateException(
            "The fake orchestrator is already listening on port " + this.port);
      }
      QueuedThreadPool threads = new QueuedThreadPool(16, 2);
      threads.setName("fake-orchestrator");
      threads.setDaemon(true);
      Server jetty = new Server(threads);
      ServerConnector connector;
      if (keyStore != null) {
        SslContextFactory.Server tls = new SslContextFactory.Server();
        tls.setKeyStore(keyStore);
        tls.setKeyStorePassword(keyStorePassword);
        connector =
            new ServerConnector(
                jetty,
                1,
                1,
                new SslConnectionFactory(tls, "http/1.1"),
                new HttpConnectionFactory());
      } else {
        connector = new ServerConnector(jetty, 1, 1);
      }
      connector.setHost("127.0.0.1");
      connector.setPort(port);
      connector.setReuseAddress(true);
      jetty.addConnector(connector);
      WebSocketUpgradeHandler upgrades =
          WebSocketUpgradeHandler.from(
              jetty,
              container -> {
                container.setIdleTimeout(Duration.ofMinutes(10));
                container.setMaxTextMessageSize(64L * 1024 * 1024);
                container.addMapping(
                    "/*",
                    (request, response, callback) -> new Endpoint(request.getHttpURI().getPath()));
              });
      jetty.setHandler(new RefuseBodyHeaders(upgrades));
      jetty.setStopTimeout(2_000);
      try {
        jetty.start();
      } catch (Exception e) {
        try {
          jetty.stop();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
        throw new IllegalStateException(
            "The fake orchestrator could not listen on port " + port + ": " + e, e);
      }
      this.server = jetty;
      this.port = connector.getLocalPort();
      return this;
    }
  }

  /** Stops listening, closes every session (close code 1001) and releases the port. Idempotent. */
  public void stop() {
    Server jetty;
    synchronized (lock) {
      jetty = server;
      server = null;
      for (Session session : sessions.keySet()) {
        session.close(StatusCode.SHUTDOWN, "The orchestrator is stopping", Callback.NOOP);
      }
    }
    if (jetty != null) {
      try {
        jetty.stop();
      } catch (TimeoutException drainTookLong) {
        // Only the graceful drain (2 s) timed out, on a busy machine: Jetty then closed what was
        // left and stopped everything anyway (it throws what it collected at the very end).
      } catch (Exception e) {
        throw new IllegalStateException("The fake orchestrator did not stop cleanly: " + e, e);
      }
    }
    synchronized (lock) {
      sessions.clear();
    }
  }

  /** Stops, then starts again on the same port; the table is kept. */
  public FakeOrchestrator restart() {
    int samePort = port();
    stop();
    return start(samePort);
  }

  /** Same as {@link #stop()}. */
  @Override
  public void close() {
    stop();
  }

  /**
   * Returns the port listened on (the last one, after {@link #stop()}).
   *
   * @throws IllegalStateException if never started
   */
  public int port() {
    synchronized (lock) {
      if (port == 0) {
        throw new IllegalStateException("The fake orchestrator was never started");
      }
      return port;
    }
  }

  /**
   * Returns {@code ws://127.0.0.1:<port>} ({@code wss://} with {@link #tls}), the base URI a client
   * appends its crunch id to.
   */
  public URI uri() {
    return URI.create((keyStore != null ? "wss" : "ws") + "://127.0.0.1:" + port());
  }

  /**
   * Serves {@code wss://} (TLS) from the next {@link #start} on, with the key and certificate of
   * the key store (its certificate should name 127.0.0.1).
   *
   * @return this
   */
  public FakeOrchestrator tls(KeyStore keyStore, String password) {
    synchronized (lock) {
      this.keyStore = Objects.requireNonNull(keyStore, "keyStore");
      this.keyStorePassword = Objects.requireNonNull(password, "password");
      return this;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The table

  /**
   * Puts an entry in the crunch's table (replacing the one with the same {@code deployment_id})
   * without telling anyone: connections made from now on get it in their init, open ones never hear
   * of it (a lost message). The entry is sent as it is: it may be malformed on purpose (an entry
   * without a {@code deployment_id} is kept under a key of its own).
   */
  public void put(String crunchId, JsonNode entry) {
    JsonNode copy = checkEntry(entry);
    synchronized (lock) {
      tables.computeIfAbsent(crunchId, id -> new LinkedHashMap<>()).put(deploymentId(copy), copy);
    }
  }

  /**
   * Removes a deployment from the crunch's table without telling anyone.
   *
   * @return whether it was there
   */
  public boolean remove(String crunchId, String deploymentId) {
    synchronized (lock) {
      Map<String, JsonNode> table = tables.get(crunchId);
      return table != null && table.remove(deploymentId) != null;
    }
  }

  /**
   * Puts the entry in the crunch's table and sends it as an update to the crunch's open
   * connections.
   */
  public void update(String crunchId, JsonNode entry) {
    JsonNode copy = checkEntry(entry);
    synchronized (lock) {
      tables.computeIfAbsent(crunchId, id -> new LinkedHashMap<>()).put(deploymentId(copy), copy);
      broadcast(crunchId, message("update", List.of(copy)));
    }
  }

  /**
   * Announces a redeploy as the production orchestrator does, in one pass: an {@code update} with
   * the new deployment {@code RUNNING} at {@code ip:port}, then one with the old deployment {@code
   * STOPPED} (with its last real address). The test stops the old runner at once, as the
   * orchestrator does.
   *
   * @throws IllegalArgumentException if the crunch has no deployment {@code oldDeploymentId}
   */
  public void redeploy(
      String crunchId, String oldDeploymentId, String newDeploymentId, String ip, int port) {
    synchronized (lock) {
      ObjectNode old = existing(crunchId, oldDeploymentId);
      ObjectNode next = old.deepCopy();
      next.put("deployment_id", newDeploymentId);
      next.put("state", "RUNNING");
      next.put("ip", ip);
      next.put("port", port);
      update(crunchId, next);
      stopped(crunchId, oldDeploymentId);
    }
  }

  /**
   * Announces that a deployment's process is restarting: {@code RECOVERING} with {@code "ip": null}
   * and {@code "port": 50051}, as the production orchestrator does while a model has no running
   * task.
   *
   * @throws IllegalArgumentException if the crunch has no such deployment
   */
  public void recovering(String crunchId, String deploymentId) {
    synchronized (lock) {
      ObjectNode entry = existing(crunchId, deploymentId).deepCopy();
      entry.put("state", "RECOVERING");
      entry.putNull("ip");
      entry.put("port", 50051);
      update(crunchId, entry);
    }
  }

  /**
   * Announces a deployment {@code RUNNING} at {@code ip:port} (a restart on a new address, after
   * {@link #recovering}).
   *
   * @throws IllegalArgumentException if the crunch has no such deployment
   */
  public void running(String crunchId, String deploymentId, String ip, int port) {
    synchronized (lock) {
      ObjectNode entry = existing(crunchId, deploymentId).deepCopy();
      entry.put("state", "RUNNING");
      entry.put("ip", ip);
      entry.put("port", port);
      update(crunchId, entry);
    }
  }

  /**
   * Announces a deployment {@code STOPPED}. The first time it carries the deployment's last
   * address; later times (the orchestrator repeats stopped entries in its state passes) the
   * runner's placeholders, in turn {@code ""}/0, null/50051 and {@code "localhost"}/0.
   *
   * @throws IllegalArgumentException if the crunch has no such deployment
   */
  public void stopped(String crunchId, String deploymentId) {
    synchronized (lock) {
      ObjectNode entry = existing(crunchId, deploymentId).deepCopy();
      boolean again = "STOPPED".equals(entry.path("state").asText());
      entry.put("state", "STOPPED");
      if (again) {
        int n = stoppedSent.merge(crunchId + '\u0000' + deploymentId, 1, Integer::sum);
        switch (n % 3) {
          case 1 -> {
            entry.put("ip", "");
            entry.put("port", 0);
          }
          case 2 -> {
            entry.putNull("ip");
            entry.put("port", 50051);
          }
          default -> {
            entry.put("ip", "localhost");
            entry.put("port", 0);
          }
        }
      }
      update(crunchId, entry);
    }
  }

  /** Holds the lock. */
  private ObjectNode existing(String crunchId, String deploymentId) {
    JsonNode entry = tables.getOrDefault(crunchId, Map.of()).get(deploymentId);
    if (!(entry instanceof ObjectNode object)) {
      throw new IllegalArgumentException(
          "Crunch '" + crunchId + "' has no deployment '" + deploymentId + "'");
    }
    return object;
  }

  /** Returns a copy of the crunch's table, in insertion order. */
  public List<JsonNode> entries(String crunchId) {
    synchronized (lock) {
      List<JsonNode> copy = new ArrayList<>();
      tables.getOrDefault(crunchId, Map.of()).values().forEach(entry -> copy.add(entry.deepCopy()));
      return copy;
    }
  }

  /**
   * Returns an entry with infos {@code {"model_name": modelId, "cruncher_name": "cruncher-" +
   * modelId}}.
   */
  public static ObjectNode entry(
      String modelId, String deploymentId, String state, String ip, int port) {
    Map<String, String> infos = new LinkedHashMap<>();
    infos.put("model_name", modelId);
    infos.put("cruncher_name", "cruncher-" + modelId);
    return entry(modelId, deploymentId, state, ip, port, infos);
  }

  /**
   * Returns an entry with the given infos (values may be null; null infos gives {@code "infos":
   * null}).
   */
  public static ObjectNode entry(
      String modelId,
      String deploymentId,
      String state,
      String ip,
      int port,
      Map<String, ?> infos) {
    ObjectNode entry = JSON.createObjectNode();
    entry.put("deployment_id", deploymentId);
    entry.put("model_id", modelId);
    entry.set("infos", JSON.valueToTree(infos));
    entry.put("state", state);
    entry.put("ip", ip);
    entry.put("port", port);
    return entry;
  }

  /**
   * Parses JSON text, for entries a test wants to write by hand (numbers as model ids, odd
   * fields…).
   */
  public static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("Not JSON: " + text, e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Scripting the connections

  /** Sends a raw text frame (malformed or not) to every open session. */
  public void send(String rawFrame) {
    synchronized (lock) {
      for (Session session : sessions.keySet()) {
        session.sendText(rawFrame, Callback.NOOP);
      }
    }
  }

  /**
   * Sends a raw text message to every open session in {@code parts} WebSocket frames (a fragmented
   * message).
   */
  public void sendFragmented(String rawFrame, int parts) {
    if (parts < 1 || parts > Math.max(1, rawFrame.length())) {
      throw new IllegalArgumentException("parts must be in 1.." + rawFrame.length() + ": " + parts);
    }
    synchronized (lock) {
      for (Session session : sessions.keySet()) {
        int size = (rawFrame.length() + parts - 1) / parts;
        for (int from = 0; from < rawFrame.length() || from == 0; from += size) {
          int to = Math.min(rawFrame.length(), from + size);
          session.sendPartialText(
              rawFrame.substring(from, to), to == rawFrame.length(), Callback.NOOP);
          if (to == rawFrame.length()) {
            break;
          }
        }
      }
    }
  }

  /** The server closes every open session (close code 1001); it keeps listening. */
  public void dropConnections() {
    synchronized (lock) {
      for (Session session : sessions.keySet()) {
        session.close(StatusCode.SHUTDOWN, "Dropped by the test", Callback.NOOP);
      }
    }
  }

  /**
   * Whether a valid report stops the reported model, as the real orchestrator does (default true):
   * its {@code RUNNING} entries in the reporting connection's crunch become {@code STOPPED}, and
   * that update is broadcast.
   */
  public void stopReportedModels(boolean stop) {
    this.stopReportedModels = stop;
  }

  /**
   * Whether the server answers WebSocket pings with pongs (default true). When false, pings are
   * counted and left unanswered, like an orchestrator that hangs.
   */
  public void answerPings(boolean answer) {
    this.answerPings = answer;
  }

  // ---------------------------------------------------------------------------------------------
  // What happened

  /** Returns how many WebSocket connections were accepted so far (with or without a crunch id). */
  public int connectionCount() {
    synchronized (lock) {
      return connections;
    }
  }

  /**
   * Waits until at least {@code n} connections were accepted in all.
   *
   * @return whether they were, within the timeout
   */
  public boolean awaitConnections(int n, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lock) {
      while (connections < n) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(lock, left);
      }
      return true;
    }
  }

  /** Returns how many sessions are open now. */
  public int openSessions() {
    synchronized (lock) {
      return sessions.size();
    }
  }

  /**
   * Waits until exactly {@code n} sessions are open.
   *
   * @return whether they were, within the timeout
   */
  public boolean awaitOpenSessions(int n, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lock) {
      while (sessions.size() != n) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(lock, left);
      }
      return true;
    }
  }

  /**
   * Returns the raw (still percent-encoded) request paths of the connections accepted so far, in
   * order.
   */
  public List<String> requestPaths() {
    synchronized (lock) {
      return List.copyOf(requestPaths);
    }
  }

  /** Returns how many pings arrived (answered or not). */
  public int pings() {
    synchronized (lock) {
      return pings;
    }
  }

  /**
   * The {@code data} entries of the well-formed reports that match an announced model and ip, in
   * order.
   */
  public BlockingQueue<JsonNode> reports() {
    return reports;
  }

  /**
   * The {@code data} entries of the well-formed reports that match no announced model and ip
   * (type-strict on {@code model_id}, exact on {@code ip}): the production orchestrator would act
   * on none of them.
   */
  public BlockingQueue<JsonNode> unmatchedReports() {
    return unmatchedReports;
  }

  /** The request lines of the opening handshakes refused for carrying a body header, in order. */
  public BlockingQueue<String> refusedHandshakes() {
    return refusedHandshakes;
  }

  /**
   * The raw text of the {@code report_failure} messages that made the server drop the connection.
   */
  public BlockingQueue<String> malformedReports() {
    return malformedReports;
  }

  /** Every text message received from clients, raw, in order. */
  public BlockingQueue<String> received() {
    return received;
  }

  /**
   * The close codes of the sessions that closed, as the server saw them (1000 for a client's normal
   * close).
   */
  public BlockingQueue<Integer> closeCodes() {
    return closeCodes;
  }

  // ---------------------------------------------------------------------------------------------
  // Implementation

  private static JsonNode checkEntry(JsonNode entry) {
    return Objects.requireNonNull(entry, "entry").deepCopy();
  }

  /** The table key: the deployment id, or a key of its own for a malformed entry without one. */
  private String deploymentId(JsonNode entry) {
    JsonNode id = entry.get("deployment_id");
    return id != null && id.isValueNode() && !id.isNull()
        ? id.asText()
        : "#malformed-" + (++malformed);
  }

  private static String message(String event, List<? extends JsonNode> entries) {
    ObjectNode message = JSON.createObjectNode();
    message.put("event", event);
    ArrayNode data = message.putArray("data");
    entries.forEach(data::add);
    return message.toString();
  }

  /** Holds the lock. */
  private void broadcast(String crunchId, String text) {
    sessions.forEach(
        (session, crunch) -> {
          if (crunch.equals(crunchId)) {
            session.sendText(text, Callback.NOOP);
          }
        });
  }

  private void opened(Session session, String rawPath) {
    String crunchId = crunchId(rawPath);
    synchronized (lock) {
      connections++;
      requestPaths.add(rawPath);
      if (crunchId.isEmpty()) {
        ObjectNode error = JSON.createObjectNode();
        error.put("error", "A crunch_id is required in the path: ws://host:port/<crunch_id>");
        session.sendText(error.toString(), Callback.NOOP);
        session.close(StatusCode.POLICY_VIOLATION, "crunch_id required", Callback.NOOP);
      } else {
        List<JsonNode> entries = new ArrayList<>(tables.getOrDefault(crunchId, Map.of()).values());
        session.sendText(message("init", entries), Callback.NOOP);
        sessions.put(session, crunchId);
      }
      lock.notifyAll();
    }
  }

  private static String crunchId(String rawPath) {
    String path = rawPath == null ? "" : rawPath;
    while (path.startsWith("/")) {
      path = path.substring(1);
    }
    return java.net.URLDecoder.decode(path.replace("+", "%2B"), StandardCharsets.UTF_8);
  }

  private void closed(Session session, int code) {
    synchronized (lock) {
      sessions.remove(session);
      closeCodes.add(code);
      lock.notifyAll();
    }
  }

  private void text(Session session, String text) {
    received.add(text);
    JsonNode message;
    try {
      message = JSON.readTree(text);
    } catch (JsonProcessingException e) {
      session.close(StatusCode.SERVER_ERROR, "malformed message", Callback.NOOP);
      return;
    }
    if (message == null || !"report_failure".equals(message.path("event").asText(null))) {
      return; // an unknown event, or a JSON list: ignored
    }
    JsonNode data = message.get("data");
    boolean valid = data != null && data.isArray();
    if (valid) {
      for (JsonNode report : data) {
        valid &=
            report.isObject()
                && has(report, "model_id")
                && has(report, "failure_code")
                && has(report, "ip");
      }
    }
    if (!valid) {
      malformedReports.add(text);
      session.close(StatusCode.SERVER_ERROR, "malformed report_failure", Callback.NOOP);
      return;
    }
    for (JsonNode report : data) {
      if (!matches(session, report)) {
        unmatchedReports.add(report.deepCopy());
        continue;
      }
      reports.add(report.deepCopy());
      if (stopReportedModels) {
        stop(session, report.get("model_id"));
      }
    }
  }

  /**
   * model_id and failure_code present and not null; ip present (null is the ip of a model without a
   * task).
   */
  private static boolean has(JsonNode report, String field) {
    JsonNode value = report.get(field);
    return value != null && !value.isContainerNode() && (field.equals("ip") || !value.isNull());
  }

  /**
   * Type-strict on model_id, exact on ip, against the deployments announced to the session's
   * crunch.
   */
  private boolean matches(Session session, JsonNode report) {
    synchronized (lock) {
      String crunchId = sessions.get(session);
      if (crunchId == null) {
        return false;
      }
      for (JsonNode entry : tables.getOrDefault(crunchId, Map.of()).values()) {
        if (report.get("model_id").equals(entry.get("model_id"))
            && report.get("ip").equals(entry.path("ip").isMissingNode() ? null : entry.get("ip"))) {
          return true;
        }
      }
      return false;
    }
  }

  private void stop(Session session, JsonNode modelId) {
    synchronized (lock) {
      String crunchId = sessions.get(session);
      if (crunchId == null) {
        return;
      }
      for (JsonNode entry : tables.getOrDefault(crunchId, Map.of()).values()) {
        if (entry instanceof ObjectNode object
            && modelId.equals(entry.get("model_id"))
            && "RUNNING".equals(entry.path("state").asText())) {
          object.put("state", "STOPPED");
          broadcast(crunchId, message("update", List.of(entry.deepCopy())));
        }
      }
    }
  }

  private void pinged(Session session, ByteBuffer payload) {
    synchronized (lock) {
      pings++;
    }
    if (answerPings) {
      session.sendPong(payload, Callback.NOOP);
    }
  }

  /**
   * Refuses an opening handshake with a body header as {@code websockets} 14/15 do ("unsupported
   * request body"): the connection is closed without an answer.
   */
  private final class RefuseBodyHeaders extends Handler.Wrapper {
    RefuseBodyHeaders(Handler upgrades) {
      super(upgrades);
    }

    @Override
    public boolean handle(
        Request request, Response response, org.eclipse.jetty.util.Callback callback)
        throws Exception {
      HttpFields headers = request.getHeaders();
      if (headers.contains(HttpHeader.CONTENT_LENGTH)
          || headers.contains(HttpHeader.TRANSFER_ENCODING)) {
        refusedHandshakes.add(request.getMethod() + " " + request.getHttpURI().getPathQuery());
        request.getConnectionMetaData().getConnection().getEndPoint().close();
        callback.failed(new java.io.IOException("unsupported request body"));
        return true;
      }
      return super.handle(request, response, callback);
    }
  }

  /**
   * Jetty's endpoint for one server-side session. Public only because Jetty calls its methods
   * through public method handles; tests have no use for it.
   */
  public final class Endpoint implements Session.Listener.AutoDemanding {
    private final String rawPath;
    private volatile Session session;

    private Endpoint(String rawPath) {
      this.rawPath = rawPath;
    }

    @Override
    public void onWebSocketOpen(Session session) {
      this.session = session;
      opened(session, rawPath);
    }

    @Override
    public void onWebSocketText(String message) {
      text(session, message);
    }

    @Override
    public void onWebSocketPing(ByteBuffer payload) {
      pinged(session, payload);
    }

    @Override
    public void onWebSocketClose(int statusCode, String reason) {
      closed(session, statusCode);
    }

    @Override
    public void onWebSocketError(Throwable cause) {
      // onWebSocketClose follows
    }
  }
}
