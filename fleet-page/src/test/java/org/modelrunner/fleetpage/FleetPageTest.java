package org.modelrunner.fleetpage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.modelrunner.client.FleetEvent;
import org.modelrunner.client.FleetListener;
import org.modelrunner.client.ModelStatus;
import org.modelrunner.spi.ModelEndpoint;

/** The server: where it listens, what it answers, to whom, and that closing it stops everything. */
@Timeout(60)
class FleetPageTest {
  private final AtomicReference<FleetListener> listener = new AtomicReference<>();
  private final List<ModelStatus> models =
      List.of(FleetDocumentTest.status("alice", ModelStatus.State.CONNECTED, 7));

  private FleetPage.Builder page() {
    return new FleetPage.Builder(() -> models, Optional::empty, listener::set);
  }

  @Test
  void itListensOnLoopbackOnAFreePortByDefault() throws IOException {
    try (FleetPage page = page().start()) {
      assertThat(page.uri().getScheme()).isEqualTo("http");
      assertThat(page.uri().getHost()).isEqualTo("127.0.0.1");
      assertThat(page.uri().getPort()).isPositive();
      assertThat(page.uri().getPath()).isEqualTo("/");
      assertThat(listener.get()).as("the listener it added").isNotNull();
    }
  }

  @Test
  void thePageIsOneFileWhoseOnlyScriptThePolicyAllows() throws Exception {
    try (FleetPage page = page().start()) {
      HttpResponse<String> response = new PageClient(page.uri()).get("/");
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.headers().firstValue("Content-Type"))
          .hasValue("text/html; charset=utf-8");
      String html = response.body();
      assertThat(html).startsWith("<!DOCTYPE html>").contains("<title>Model fleet</title>");
      // Self-contained: nothing loaded from anywhere.
      assertThat(html).doesNotContain("src=").doesNotContain("href=").doesNotContain("@import");
      String policy = response.headers().firstValue("Content-Security-Policy").orElseThrow();
      assertThat(policy)
          .contains("default-src 'none'")
          .contains("script-src '" + PageRoutes.scriptHash(html) + "'")
          .contains("connect-src 'self'")
          .doesNotContain("unsafe-eval");
      assertThat(response.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
    }
  }

  @Test
  void otherPathsAndMethodsAreRefused() throws Exception {
    try (FleetPage page = page().start()) {
      PageClient client = new PageClient(page.uri());
      assertThat(client.get("/nothing-here").statusCode()).isEqualTo(404);
      assertThat(client.get("/api/fleet/").statusCode()).isEqualTo(404);
      HttpResponse<String> post =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(page.uri().resolve("/api/fleet"))
                      .POST(HttpRequest.BodyPublishers.ofString("{}"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(post.statusCode()).isEqualTo(405);
      assertThat(post.headers().firstValue("Allow")).hasValue("GET");
    }
  }

  @Test
  void onLoopbackItAnswersOnlyLoopbackHostNames() throws Exception {
    try (FleetPage page = page().start()) {
      int port = page.uri().getPort();
      assertThat(statusWithHost(page.uri(), "127.0.0.1:" + port)).isEqualTo(200);
      assertThat(statusWithHost(page.uri(), "localhost:" + port)).isEqualTo(200);
      assertThat(statusWithHost(page.uri(), "LOCALHOST:" + port)).isEqualTo(200);
      // A name rebound to 127.0.0.1 by a web site, so that its script reads the fleet.
      assertThat(statusWithHost(page.uri(), "attacker.example:" + port)).isEqualTo(403);
      assertThat(statusWithHost(page.uri(), "localhost:" + (port + 1))).isEqualTo(403);
    }
  }

  @Test
  void theDocumentIsReadAtEachRequest() throws Exception {
    try (FleetPage page = page().start()) {
      PageClient client = new PageClient(page.uri());
      assertThat(client.fleet().path("models").get(0).path("modelId").asText()).isEqualTo("alice");
      listener.get().onEvent(event("alice"));
      assertThat(client.fleet().path("events").path("recent").get(0).path("kind").asText())
          .isEqualTo("DISCONNECTED");
    }
  }

  @Test
  void closingStopsTheServerAndItsThreadsAndSilencesTheListener() throws Exception {
    FleetPage page = page().recentEvents(3).start();
    PageClient client = new PageClient(page.uri());
    try (PageClient.EventStream events = client.events()) {
      assertThat(events.nextDocument(Duration.ofSeconds(10))).isNotNull();
      assertThat(client.fleet().path("events").path("capacity").asInt()).isEqualTo(3);
      assertThat(pageThreads()).isNotEmpty();
      page.close();
      page.close(); // idempotent
      assertThat(events.awaitEnd(Duration.ofSeconds(10))).isTrue();
    }
    assertThat(pageThreads()).isEmpty();
    // The fleet cannot remove a listener: the page's does nothing any more.
    listener.get().onEvent(event("alice"));
    // The port is free again.
    try (java.net.ServerSocket again =
        new java.net.ServerSocket(page.uri().getPort(), 1, InetAddress.getLoopbackAddress())) {
      assertThat(again.getLocalPort()).isEqualTo(page.uri().getPort());
    }
  }

  @Test
  void aClientOverTheLimitGetsAnEmptyStream() throws Exception {
    try (FleetPage page = page().start()) {
      PageClient client = new PageClient(page.uri());
      List<PageClient.EventStream> streams = new java.util.ArrayList<>();
      try {
        for (int i = 0; i < FleetPage.MAX_STREAM_CLIENTS; i++) {
          streams.add(client.events());
          assertThat(streams.get(i).nextDocument(Duration.ofSeconds(10))).isNotNull();
        }
        try (PageClient.EventStream over = client.events()) {
          assertThat(over.next(Duration.ofSeconds(10))).as("no document, the end").isNull();
        }
        assertThat(page.streamClients()).isEqualTo(FleetPage.MAX_STREAM_CLIENTS);
      } finally {
        streams.forEach(PageClient.EventStream::close);
      }
    }
  }

  @Test
  void aTakenPortFailsToStart() throws IOException {
    try (FleetPage first = page().start()) {
      int port = first.uri().getPort();
      assertThatThrownBy(() -> page().port(port).start()).isInstanceOf(BindException.class);
    }
    assertThat(pageThreads()).isEmpty();
  }

  @Test
  void theBuilderChecksItsSettings() {
    assertThatThrownBy(() -> page().port(-1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> page().port(65_536)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> page().recentEvents(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> page().updateInterval(Duration.ofMillis(9)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> page().updateInterval(Duration.ofMinutes(2)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> page().address(null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> FleetPage.builder(null)).isInstanceOf(NullPointerException.class);
  }

  /** Sends a request with the given Host header on a raw socket (the JDK's client sets its own). */
  private static int statusWithHost(URI page, String host) throws IOException {
    try (Socket socket = new Socket(page.getHost(), page.getPort())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(
          ("GET /api/fleet HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      String response = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
      Matcher status = Pattern.compile("^HTTP/1\\.1 (\\d{3}) ").matcher(response);
      assertThat(status.find()).as(response).isTrue();
      return Integer.parseInt(status.group(1));
    }
  }

  private static List<String> pageThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(Thread::isAlive)
        .map(Thread::getName)
        .filter(name -> name.startsWith("modelrunner-fleet-page") || name.equals("HTTP-Dispatcher"))
        .toList();
  }

  private static FleetEvent event(String id) {
    return new FleetEvent(
        FleetEvent.Kind.DISCONNECTED,
        ModelEndpoint.of(id, URI.create("inproc://" + id)),
        "MULTIPLE_TIMEOUT",
        "4 consecutive timeouts");
  }
}
