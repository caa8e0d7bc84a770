package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportSettings;

/**
 * The client channels' connection settings: the Python client's defaults, and reconnects on that
 * schedule.
 */
@Timeout(60)
class GrpcChannelSettingsTest {
  @Test
  void theDefaultsAreThePythonClients() {
    TransportSettings defaults = TransportSettings.defaults();
    assertThat(defaults.keepAliveTime()).isEqualTo(Duration.ofSeconds(300));
    assertThat(defaults.keepAliveTimeout()).isEqualTo(Duration.ofMillis(500));
    assertThat(defaults.keepAliveWithoutCalls()).isFalse();
    assertThat(defaults.initialReconnectBackoff()).isEqualTo(Duration.ofMillis(100));
    assertThat(defaults.maxReconnectBackoff()).isEqualTo(Duration.ofSeconds(1));
    assertThat(defaults.connectTimeout()).isEqualTo(Duration.ofSeconds(10));
  }

  /**
   * A "runner" that accepts TCP connections and closes them at once: every connection attempt of
   * the channel is counted. gRPC's own backoff (1 s, then ×1.6 with ±20% jitter) makes at most 4
   * attempts in the first 5 s; the Python client's schedule (100 ms doubling to 1 s) makes 7 by 3.5
   * s.
   */
  @Test
  void aChannelThatCannotConnectRetriesOnTheConfiguredBackoff() throws Exception {
    AtomicInteger attempts = new AtomicInteger();
    try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
      Thread acceptor =
          new Thread(
              () -> {
                while (!server.isClosed()) {
                  try (Socket socket = server.accept()) {
                    attempts.incrementAndGet();
                  } catch (IOException closed) {
                    return;
                  }
                }
              },
              "closing-acceptor");
      acceptor.setDaemon(true);
      acceptor.start();
      try (GrpcTransport transport = new GrpcTransport(TransportSettings.defaults());
          ModelConnection connection =
              transport.connect(URI.create("grpc://127.0.0.1:" + server.getLocalPort()))) {
        // Waits for the connection (wait-for-ready) while the channel keeps trying.
        CompletableFuture<Reply> setup =
            connection.setup("a.Base", Arguments.none(), Duration.ofSeconds(30));
        Awaitility.await()
            .atMost(Duration.ofSeconds(5))
            .pollInterval(Duration.ofMillis(20))
            .untilAsserted(
                () ->
                    assertThat(attempts.get())
                        .as("connection attempts within 5 s")
                        .isGreaterThanOrEqualTo(6));
        assertThat(setup).isNotDone();
      }
    }
  }

  @Test
  void settingsAreChecked() {
    TransportSettings settings =
        TransportSettings.defaults()
            .withKeepAlive(Duration.ofSeconds(60), Duration.ofSeconds(2), true)
            .withReconnectBackoff(Duration.ofMillis(50), Duration.ofSeconds(5))
            .withConnectTimeout(Duration.ofSeconds(3));
    assertThat(settings.keepAliveTime()).isEqualTo(Duration.ofSeconds(60));
    assertThat(settings.keepAliveWithoutCalls()).isTrue();
    assertThat(settings.maxReconnectBackoff()).isEqualTo(Duration.ofSeconds(5));
    assertThat(settings.connectTimeout()).isEqualTo(Duration.ofSeconds(3));
    assertThat(settings.maxMessageBytes()).isEqualTo(TransportSettings.DEFAULT_MAX_MESSAGE_BYTES);
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                TransportSettings.defaults()
                    .withReconnectBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class);
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> TransportSettings.defaults().withConnectTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
