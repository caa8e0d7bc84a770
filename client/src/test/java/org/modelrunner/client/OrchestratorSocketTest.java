package org.modelrunner.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.modelrunner.testsupport.FakeOrchestrator;

/**
 * Jetty's WebSocket under the orchestrator connection, against the fake orchestrator: the events
 * the connection relies on arrive, in order, one frame per demand.
 */
class OrchestratorSocketTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final FakeOrchestrator orchestrator = new FakeOrchestrator().start();
  private final OrchestratorSocket sockets =
      new OrchestratorSocket(
          "socket-test", Duration.ofSeconds(5), Duration.ofSeconds(60), /* sslContext= */ null);

  @AfterEach
  void close() {
    sockets.close();
    orchestrator.close();
  }

  @Test
  void theOrchestratorsPongIsHeardThenItsCloseEndsTheConnection() throws Exception {
    Events events = new Events();
    CompletableFuture<Void> opening =
        sockets.open(URI.create(orchestrator.uri() + "/crunch"), events);
    assertThat(events.next()).isEqualTo("opened");
    opening.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);

    events.socket.demand();
    assertThat(events.next()).startsWith("text ").contains("\"init\"").endsWith(" last");
    events.socket.sendPing(new byte[] {'m', 'r'});
    events.socket.demand();
    assertThat(events.next()).as("the pong").isEqualTo("heard");
    assertThat(orchestrator.pings()).isEqualTo(1);

    orchestrator.dropConnections(); // read: the socket demanded the next frame after the pong
    assertThat(events.next()).startsWith("ended 1001");
  }

  /** Records the socket's events. */
  private static final class Events implements OrchestratorSocket.Events {
    final BlockingQueue<String> events = new LinkedBlockingQueue<>();
    volatile OrchestratorSocket.Socket socket;

    @Override
    public void opened(OrchestratorSocket.Socket socket) {
      this.socket = socket;
      events.add("opened");
    }

    @Override
    public void text(String part, boolean last) {
      events.add("text " + part + (last ? " last" : ""));
    }

    @Override
    public void heard() {
      events.add("heard");
    }

    @Override
    public void ended(int closeCode, String reason, Throwable error) {
      events.add("ended " + closeCode + " " + reason + " " + error);
    }

    String next() throws InterruptedException {
      String event = events.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      assertThat(event).as("a socket event within %s", WAIT).isNotNull();
      return event;
    }
  }
}
