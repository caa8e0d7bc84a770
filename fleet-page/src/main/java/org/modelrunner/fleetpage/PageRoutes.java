package org.modelrunner.fleetpage;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Locale;
import java.util.Set;

/**
 * Answers the page's requests: {@code GET /} the page, {@code GET /api/fleet} the document, {@code
 * GET /events} the stream of documents. Anything else is 404, and a method other than GET is 405.
 *
 * <p>A page bound to loopback answers only requests whose {@code Host} is a loopback name with its
 * port ({@code 127.0.0.1}, {@code localhost}, {@code [::1]}): a web site that rebinds its own name
 * to 127.0.0.1 cannot read the fleet through a browser on this machine. The page's script runs
 * under a content security policy that allows that one script (by its hash) and connections to the
 * page's own origin only: what models put in their errors is shown as text, never run.
 */
final class PageRoutes implements HttpHandler {
  static final String PAGE = "/";
  static final String API = "/api/fleet";
  static final String EVENTS = "/events";

  private static final String PAGE_RESOURCE = "fleet-page.html";

  private final FleetReader reader;
  private final SnapshotStream stream;
  private final Set<String> allowedHosts; // empty: any
  private final byte[] page;
  private final String pagePolicy;

  PageRoutes(FleetReader reader, SnapshotStream stream, Set<String> allowedHosts) {
    this.reader = reader;
    this.stream = stream;
    this.allowedHosts = Set.copyOf(allowedHosts);
    this.page = loadPage();
    this.pagePolicy =
        "default-src 'none'; script-src '"
            + scriptHash(new String(page, StandardCharsets.UTF_8))
            + "'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:;"
            + " base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
  }

  @Override
  public void handle(HttpExchange exchange) throws IOException {
    boolean streaming = false;
    try {
      streaming = route(exchange);
    } finally {
      if (!streaming) {
        exchange.close();
      }
    }
  }

  /** Answers the request; returns true if the exchange stays open for the stream. */
  private boolean route(HttpExchange exchange) throws IOException {
    Headers headers = exchange.getResponseHeaders();
    headers.set("X-Content-Type-Options", "nosniff");
    headers.set("Cache-Control", "no-store");
    headers.set("Referrer-Policy", "no-referrer");
    if (!hostAllowed(exchange.getRequestHeaders().getFirst("Host"))) {
      sendText(exchange, 403, "This page answers only to its loopback address.\n");
      return false;
    }
    String path = exchange.getRequestURI().getPath();
    if (!PAGE.equals(path) && !API.equals(path) && !EVENTS.equals(path)) {
      sendText(exchange, 404, "Not found. The page is at /, its JSON at /api/fleet.\n");
      return false;
    }
    if (!"GET".equals(exchange.getRequestMethod())) {
      headers.set("Allow", "GET");
      sendText(exchange, 405, "Only GET is allowed.\n");
      return false;
    }
    switch (path) {
      case PAGE -> {
        headers.set("Content-Type", "text/html; charset=utf-8");
        headers.set("Content-Security-Policy", pagePolicy);
        send(exchange, 200, page);
      }
      case API -> {
        byte[] document;
        try {
          document = reader.document();
        } catch (RuntimeException e) {
          // A fleet closed under the page, say.
          sendText(exchange, 503, "Cannot read the fleet: " + e + "\n");
          return false;
        }
        headers.set("Content-Type", "application/json");
        send(exchange, 200, document);
      }
      default -> {
        return events(exchange);
      }
    }
    return false;
  }

  /** Subscribes the client to the stream; returns whether the exchange stays open for it. */
  private boolean events(HttpExchange exchange) throws IOException {
    Headers headers = exchange.getResponseHeaders();
    headers.set("Content-Type", "text/event-stream; charset=utf-8");
    headers.set("X-Accel-Buffering", "no");
    exchange.sendResponseHeaders(200, 0);
    OutputStream body = exchange.getResponseBody();
    // How long a browser waits before it reconnects after the stream ends.
    body.write("retry: 2000\n\n".getBytes(StandardCharsets.US_ASCII));
    body.flush();
    // Once subscribed, the exchange is closed by the stream when the client leaves or the page
    // closes. If the stream is full or closed, the response ends at once (the browser tries again
    // after the retry time).
    return stream.subscribe(exchange);
  }

  private boolean hostAllowed(String host) {
    return allowedHosts.isEmpty()
        || (host != null && allowedHosts.contains(host.strip().toLowerCase(Locale.ROOT)));
  }

  private static void sendText(HttpExchange exchange, int status, String text) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    send(exchange, status, text.getBytes(StandardCharsets.UTF_8));
  }

  private static void send(HttpExchange exchange, int status, byte[] body) throws IOException {
    exchange.sendResponseHeaders(status, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  private static byte[] loadPage() {
    try (InputStream in = PageRoutes.class.getResourceAsStream(PAGE_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("The page's resource " + PAGE_RESOURCE + " is missing");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read the page's resource " + PAGE_RESOURCE, e);
    }
  }

  /** Returns the CSP source of the page's one inline script: {@code sha256-<base64>}. */
  static String scriptHash(String html) {
    int open = html.indexOf("<script>");
    int close = html.indexOf("</script>", open);
    if (open < 0 || close < 0 || html.indexOf("<script>", close) >= 0) {
      throw new IllegalStateException("The page must have exactly one inline <script>");
    }
    String script = html.substring(open + "<script>".length(), close);
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(script.getBytes(StandardCharsets.UTF_8));
      return "sha256-" + Base64.getEncoder().encodeToString(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from the JDK", e);
    }
  }
}
