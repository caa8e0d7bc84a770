package org.modelrunner.fleetpage;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.modelrunner.client.FleetListener;
import org.modelrunner.client.ModelFleet;
import org.modelrunner.client.ModelStatus;
import org.modelrunner.spi.DirectoryStatus;

/**
 * A live page of a {@link ModelFleet}, served from the coordinator's JVM by the JDK's HTTP server:
 * every model's state, outcome counts, latency percentiles, cooldown and consecutive failures and
 * timeouts, why the models that are out were taken out (the code reported), the directory's link,
 * and the last events.
 *
 * <pre>{@code
 * try (ModelFleet fleet = ModelFleet.builder()...build();
 *     FleetPage page = FleetPage.builder(fleet).port(8090).start()) {
 *   System.out.println("The fleet's page: " + page.uri());    // http://127.0.0.1:8090/
 *   ... // the coordinator's ticks
 * }
 * }</pre>
 *
 * <h2>What it serves</h2>
 *
 * <ul>
 *   <li>{@code GET /}: the page, one self-contained HTML file (its script and style inline, nothing
 *       fetched from elsewhere), which follows {@code /events} and redraws itself on every
 *       document.
 *   <li>{@code GET /api/fleet}: the document, as JSON: {@code generatedAt}, a {@code summary} (the
 *       number of models in each state, the outcome counts added up), the {@code directory}'s link
 *       ({@code null} for a directory without one), the {@code models} (each {@link ModelStatus},
 *       with a {@code removal}: the {@code DISCONNECTED} or {@code CONNECTION_FAILED} event that
 *       took it out, and its code, while the page still holds it) and the recent {@code events}.
 *       States and event kinds are written by name, so states added to the client show up as they
 *       are.
 *   <li>{@code GET /events}: the same document as server-sent events ({@code event: fleet}), at
 *       once, then every {@linkplain Builder#updateInterval update interval} when something
 *       changed, and soon after each fleet event; a comment line otherwise, to keep the connection
 *       alive. At most 16 clients follow it at once: another one's response ends at once, and a
 *       browser tries again 2 s later.
 * </ul>
 *
 * <p>The fleet is read only while a client follows the stream, once per push whatever the number of
 * clients (one JSON document for all of them, a few hundred bytes per model), and not at all when
 * nothing changed. A client that reads slowly gets only the latest document, and never delays the
 * others.
 *
 * <h2>Exposure</h2>
 *
 * The page binds to the loopback address 127.0.0.1 by default and, bound there, answers only
 * requests addressed to a loopback name. It has no authentication and no TLS: whoever reaches it
 * sees every model's id, address and infos, and the errors models raised. {@link Builder#address}
 * exposes it elsewhere; do so only on a network you trust, or behind a proxy that authenticates.
 *
 * <h2>Threads</h2>
 *
 * The JDK server's dispatcher, one thread that reads the fleet, and up to two threads for requests
 * and a few that write to the stream's clients, all named {@code modelrunner-fleet-page-…} except
 * the JDK's; idle ones end after a few seconds. {@link #close()} stops them all.
 */
public final class FleetPage implements AutoCloseable {
  /** The most clients that can follow the stream at once; more get an empty response. */
  static final int MAX_STREAM_CLIENTS = 16;

  private static final Duration IDLE_THREADS = Duration.ofSeconds(10);
  private static final Duration STOP_WAIT = Duration.ofSeconds(5);

  private final HttpServer server;
  private final ScheduledThreadPoolExecutor ticker;
  private final ThreadPoolExecutor requests;
  private final ThreadPoolExecutor writers;
  private final RecentEvents events;
  private final SnapshotStream stream;
  private final URI uri;
  private final AtomicBoolean closed = new AtomicBoolean();

  private FleetPage(Builder builder) throws IOException {
    this.events = new RecentEvents(builder.recentEvents, builder.clock);
    FleetReader reader =
        new FleetReader(
            builder.models, builder.directory, events, builder.recentEvents, builder.clock);
    this.ticker = new ScheduledThreadPoolExecutor(1, threads("updates", false));
    ticker.setRemoveOnCancelPolicy(true);
    ticker.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    this.requests =
        new ThreadPoolExecutor(
            2,
            2,
            IDLE_THREADS.toNanos(),
            TimeUnit.NANOSECONDS,
            new LinkedBlockingQueue<>(),
            threads("requests", true));
    requests.allowCoreThreadTimeOut(true);
    // At most one write task per client at a time; twice as many threads leaves room for a task
    // submitted while the thread of the client's previous one is on its way back to the pool.
    this.writers =
        new ThreadPoolExecutor(
            0,
            2 * MAX_STREAM_CLIENTS,
            IDLE_THREADS.toNanos(),
            TimeUnit.NANOSECONDS,
            new SynchronousQueue<>(),
            threads("writer", true));
    this.stream = new SnapshotStream(reader, ticker, writers, MAX_STREAM_CLIENTS);
    try {
      this.server = HttpServer.create(new InetSocketAddress(builder.address, builder.port), 0);
    } catch (IOException e) {
      shutDownThreads();
      throw e;
    }
    try {
      int port = server.getAddress().getPort();
      this.uri = uri(builder.address, port);
      server.createContext(
          "/", new PageRoutes(reader, stream, allowedHosts(builder.address, uri, port)));
      server.setExecutor(requests);
      server.start();
      events.onEvent(stream::changed);
      builder.listeners.accept(events::record);
      stream.start(builder.updateInterval);
    } catch (RuntimeException e) {
      events.close();
      server.stop(0);
      shutDownThreads();
      throw e;
    }
  }

  /**
   * Returns a builder of a page of {@code fleet}.
   *
   * @throws NullPointerException if {@code fleet} is null
   */
  public static Builder builder(ModelFleet fleet) {
    Objects.requireNonNull(fleet, "fleet");
    return new Builder(fleet::models, fleet::directoryStatus, fleet::addListener);
  }

  /**
   * Returns the page's address, such as {@code http://127.0.0.1:8090/}; with port 0, the port
   * chosen. For a page bound to every interface, the loopback address.
   */
  public URI uri() {
    return uri;
  }

  /**
   * Stops the server (the stream's clients are disconnected) and the page's threads, and stops
   * recording the fleet's events. The fleet itself is not closed. Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    // The fleet has no way to remove a listener: the page's records nothing from now on.
    events.close();
    stream.close();
    ticker.shutdownNow();
    // Closes every connection, which ends writes blocked on a client that stopped reading.
    server.stop(0);
    shutDownThreads();
  }

  /** Returns how many clients follow the stream now (for tests). */
  int streamClients() {
    return stream.subscribers();
  }

  private void shutDownThreads() {
    ticker.shutdownNow();
    requests.shutdownNow();
    writers.shutdownNow();
    long deadline = System.nanoTime() + STOP_WAIT.toNanos();
    try {
      for (ExecutorService executor : List.of(ticker, requests, writers)) {
        executor.awaitTermination(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static ThreadFactory threads(String role, boolean numbered) {
    AtomicInteger next = new AtomicInteger();
    return task -> {
      String name = "modelrunner-fleet-page-" + role;
      Thread thread = new Thread(task, numbered ? name + "-" + next.incrementAndGet() : name);
      thread.setDaemon(true);
      return thread;
    };
  }

  private static URI uri(InetAddress address, int port) {
    String host =
        address.isAnyLocalAddress()
            ? InetAddress.getLoopbackAddress().getHostAddress()
            : literal(address);
    try {
      return new URI("http", null, host, port, "/", null, null);
    } catch (URISyntaxException e) {
      throw new IllegalStateException("Cannot make the page's URI from " + host, e);
    }
  }

  /** Returns the address as a literal, without an IPv6 scope. */
  private static String literal(InetAddress address) {
    String literal = address.getHostAddress();
    int scope = literal.indexOf('%');
    return scope < 0 ? literal : literal.substring(0, scope);
  }

  /** The Host headers a page bound to loopback answers; empty (any) for other addresses. */
  private static Set<String> allowedHosts(InetAddress address, URI uri, int port) {
    if (!address.isLoopbackAddress()) {
      return Set.of();
    }
    Set<String> hosts = new LinkedHashSet<>();
    hosts.add(uri.getRawAuthority().toLowerCase(Locale.ROOT));
    hosts.add("localhost:" + port);
    hosts.add("127.0.0.1:" + port);
    hosts.add("[::1]:" + port);
    if (address instanceof Inet6Address) {
      hosts.add("[" + literal(address) + "]:" + port);
    }
    return hosts;
  }

  /**
   * Configures a {@link FleetPage}: where it listens, how many events it keeps, how often it
   * pushes.
   */
  public static final class Builder {
    final Supplier<List<ModelStatus>> models;
    final Supplier<Optional<DirectoryStatus>> directory;
    final Consumer<FleetListener> listeners;
    InetAddress address = InetAddress.getLoopbackAddress();
    int port;
    int recentEvents = 200;
    Duration updateInterval = Duration.ofSeconds(1);
    Clock clock = Clock.systemUTC();

    /** For this package's tests: a page of anything that gives statuses and takes a listener. */
    Builder(
        Supplier<List<ModelStatus>> models,
        Supplier<Optional<DirectoryStatus>> directory,
        Consumer<FleetListener> listeners) {
      this.models = Objects.requireNonNull(models, "models");
      this.directory = Objects.requireNonNull(directory, "directory");
      this.listeners = Objects.requireNonNull(listeners, "listeners");
    }

    /**
     * Sets the address to bind to. Default: the loopback address (127.0.0.1), which only this
     * machine reaches.
     *
     * <p><strong>Warning:</strong> another address (or the wildcard {@code 0.0.0.0}) exposes the
     * page to whoever reaches that address. The page has no authentication and no TLS, and it shows
     * every model's id, address, infos and errors; expose it only on a network you trust, or behind
     * a proxy that authenticates.
     *
     * @throws NullPointerException if {@code address} is null
     */
    public Builder address(InetAddress address) {
      this.address = Objects.requireNonNull(address, "address");
      return this;
    }

    /**
     * Sets the port to listen on; 0 (the default) takes a free port, which {@link FleetPage#uri()}
     * tells.
     *
     * @throws IllegalArgumentException if {@code port} is not within 0 to 65535
     */
    public Builder port(int port) {
      if (port < 0 || port > 65_535) {
        throw new IllegalArgumentException("port must be within 0 to 65535, got " + port);
      }
      this.port = port;
      return this;
    }

    /**
     * Sets how many of the fleet's last events the page keeps and shows. Default 200.
     *
     * @throws IllegalArgumentException if {@code count} is not within 1 to 100,000
     */
    public Builder recentEvents(int count) {
      if (count < 1 || count > 100_000) {
        throw new IllegalArgumentException("recentEvents must be within 1 to 100000, got " + count);
      }
      this.recentEvents = count;
      return this;
    }

    /**
     * Sets how often the page reads the fleet and pushes the document to the stream's clients when
     * it changed (a fleet event also pushes it within 200 ms). Default 1 s.
     *
     * @throws IllegalArgumentException if {@code interval} is shorter than 10 ms or longer than 1
     *     minute
     */
    public Builder updateInterval(Duration interval) {
      Objects.requireNonNull(interval, "interval");
      if (interval.compareTo(Duration.ofMillis(10)) < 0
          || interval.compareTo(Duration.ofMinutes(1)) > 0) {
        throw new IllegalArgumentException(
            "updateInterval must be within 10 ms to 1 minute, got " + interval);
      }
      this.updateInterval = interval;
      return this;
    }

    /** For this package's tests: the clock of the documents' and events' times. */
    Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Starts the server and starts recording the fleet's events (from now on: earlier events are
     * not known to the page).
     *
     * @return the running page; close it to stop it
     * @throws IOException if the server cannot bind to the address and port (the port is taken,
     *     say)
     */
    public FleetPage start() throws IOException {
      return new FleetPage(this);
    }
  }
}
