package org.modelrunner.transport.grpc;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.modelrunner.loader.RunnerCore;
import org.modelrunner.metrics.RunnerMetrics;

/**
 * The executable's Prometheus endpoint ({@code --metrics-port}): the runner's meters ({@link
 * RunnerMetrics}) and the JVM's (memory, garbage collection, threads, processor, uptime) in a
 * Prometheus registry, served as Prometheus text on {@code GET /metrics} by the JDK's HTTP server,
 * one request at a time on one daemon thread.
 *
 * <p>Only {@link RunnerMain} uses this class, and only when a metrics port is given: Micrometer is
 * an optional dependency of this module, present in the executable jar and the image but not
 * brought to applications that embed {@link GrpcRunner}.
 */
final class MetricsEndpoint implements AutoCloseable {
  /** The path of the metrics; {@code /} answers the same. */
  static final String PATH = "/metrics";

  /** Prometheus's text format, which {@link PrometheusMeterRegistry#scrape()} writes. */
  static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final PrometheusMeterRegistry registry;
  private final JvmGcMetrics gcMetrics;
  private final RunnerMetrics observer;
  private final HttpServer server;
  private final ExecutorService executor;
  private final URI uri;

  private MetricsEndpoint(InetSocketAddress bind, String shownHost) throws IOException {
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(registry);
    gcMetrics = new JvmGcMetrics();
    gcMetrics.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    observer = RunnerMetrics.of(registry);
    executor =
        Executors.newSingleThreadExecutor(
            task -> {
              Thread thread = new Thread(task, "modelrunner-metrics-http");
              thread.setDaemon(true);
              return thread;
            });
    try {
      server = HttpServer.create(bind, 0);
    } catch (IOException e) {
      executor.shutdownNow();
      gcMetrics.close();
      registry.close();
      throw e;
    }
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
    int port = server.getAddress().getPort();
    uri =
        URI.create(
            "http://"
                + (shownHost.indexOf(':') >= 0 ? "[" + shownHost + "]" : shownHost)
                + ":"
                + port
                + PATH);
  }

  /**
   * Starts serving on {@code host:port}; a wildcard host ({@code ::}, {@code *}, {@code 0.0.0.0})
   * listens on every interface, port 0 on a free port.
   *
   * @throws IOException if the address cannot be bound
   */
  static MetricsEndpoint start(String host, int port) throws IOException {
    boolean every = host.equals("::") || host.equals("*") || host.equals("0.0.0.0");
    InetSocketAddress bind =
        every ? new InetSocketAddress(port) : new InetSocketAddress(host, port);
    if (bind.isUnresolved()) {
      throw new IOException("Cannot resolve the host '" + host + "'");
    }
    return new MetricsEndpoint(bind, every ? "localhost" : host);
  }

  /** Returns the observer that records the runner's requests in this endpoint's registry. */
  RunnerCore.Observer observer() {
    return observer;
  }

  /** Returns where the metrics are served, {@code http://host:port/metrics}. */
  URI uri() {
    return uri;
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath();
      if (!path.equals(PATH) && !path.equals("/")) {
        send(exchange, 404, "text/plain; charset=utf-8", "Not found: the metrics are at " + PATH);
        return;
      }
      String method = exchange.getRequestMethod();
      if (!method.equals("GET") && !method.equals("HEAD")) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        send(exchange, 405, "text/plain; charset=utf-8", "Only GET and HEAD");
        return;
      }
      send(exchange, 200, CONTENT_TYPE, registry.scrape());
    }
  }

  private static void send(HttpExchange exchange, int status, String contentType, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", contentType);
    exchange.getResponseHeaders().set("Cache-Control", "no-store");
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    }
  }

  /** Stops serving (at once) and releases the JVM meters. */
  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
    gcMetrics.close();
    registry.close();
  }
}
