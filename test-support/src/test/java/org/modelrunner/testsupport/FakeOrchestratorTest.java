package org.modelrunner.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.StatusCode;
import org.eclipse.jetty.websocket.client.WebSocketClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The fake orchestrator is as strict as the production one about what clients send. */
class FakeOrchestratorTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final String CRUNCH = "c";

  private final FakeOrchestrator orchestrator = new FakeOrchestrator();
  private final WebSocketClient client = new WebSocketClient();

  @BeforeEach
  void start() throws Exception {
    orchestrator.start();
    orchestrator.stopReportedModels(false);
    client.start();
  }

  @AfterEach
  void stop() throws Exception {
    client.stop();
    orchestrator.close();
  }

  /**
   * A raw client session: what arrives, and the close code. Public: Jetty calls it through method
   * handles.
   */
  public static final class Peer implements Session.Listener.AutoDemanding {
    final BlockingQueue<String> texts = new LinkedBlockingQueue<>();
    final CompletableFuture<Integer> closed = new CompletableFuture<>();
    volatile Session session;

    @Override
    public void onWebSocketOpen(Session session) {
      this.session = session;
    }

    @Override
    public void onWebSocketText(String message) {
      texts.add(message);
    }

    @Override
    public void onWebSocketClose(int statusCode, String reason) {
      closed.complete(statusCode);
    }
  }

  private Peer connect() throws Exception {
    Peer peer = new Peer();
    client
        .connect(peer, URI.create(orchestrator.uri() + "/" + CRUNCH))
        .get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(peer.texts.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS))
        .startsWith("{\"event\":\"init\"");
    return peer;
  }

  @Test
  void aMessageThatIsNotJsonClosesTheConnectionWith1011() throws Exception {
    Peer peer = connect();
    peer.session.sendText("{not json", Callback.NOOP);
    assertThat(peer.closed.get(WAIT.toMillis(), TimeUnit.MILLISECONDS))
        .isEqualTo(StatusCode.SERVER_ERROR);
  }

  @Test
  void aReportWithoutAnIpClosesTheConnectionWith1011() throws Exception {
    Peer peer = connect();
    peer.session.sendText(
        "{\"event\":\"report_failure\",\"data\":[{\"model_id\":\"m\",\"failure_code\":\"MULTIPLE_FAILED\"}]}",
        Callback.NOOP);
    assertThat(peer.closed.get(WAIT.toMillis(), TimeUnit.MILLISECONDS))
        .isEqualTo(StatusCode.SERVER_ERROR);
    assertThat(orchestrator.malformedReports()).hasSize(1);
  }

  @Test
  void anUnknownEventOrAJsonListIsIgnored() throws Exception {
    Peer peer = connect();
    peer.session.sendText("{\"event\":\"hello\"}", Callback.NOOP);
    peer.session.sendText("[1, 2]", Callback.NOOP);
    orchestrator.update(CRUNCH, FakeOrchestrator.entry("m", "m1", "RUNNING", "127.0.0.1", 5));
    assertThat(peer.texts.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS))
        .startsWith("{\"event\":\"update\"");
    assertThat(peer.closed).isNotDone();
  }

  @Test
  void reportsMatchTheModelIdsTypeAndTheAnnouncedIpExactly() throws Exception {
    orchestrator.put(
        CRUNCH,
        FakeOrchestrator.json(
            "{\"deployment_id\":\"d7\",\"model_id\":7,\"state\":\"RUNNING\",\"ip\":\"10.0.0.7\",\"port\":5}"));
    orchestrator.put(
        CRUNCH,
        FakeOrchestrator.json(
            "{\"deployment_id\":\"dn\",\"model_id\":\"n\",\"state\":\"RECOVERING\",\"ip\":null,\"port\":50051}"));
    Peer peer = connect();
    String template =
        "{\"event\":\"report_failure\",\"data\":[{\"model_id\":%s,\"failure_code\":\"X\","
            + "\"failure_reason\":\"\",\"ip\":%s}]}";
    peer.session.sendText(template.formatted("7", "\"10.0.0.7\""), Callback.NOOP);
    peer.session.sendText(
        template.formatted("\"7\"", "\"10.0.0.7\""), Callback.NOOP); // a string id: no match
    peer.session.sendText(
        template.formatted("7", "\"127.0.0.1\""), Callback.NOOP); // a guessed ip: no match
    peer.session.sendText(template.formatted("\"n\"", "null"), Callback.NOOP);
    peer.session.sendText(
        template.formatted("\"n\"", "\"\""), Callback.NOOP); // "" is not null: no match

    JsonNode first = orchestrator.reports().poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    JsonNode second = orchestrator.reports().poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(first.get("model_id").isInt()).isTrue();
    assertThat(second.get("ip").isNull()).isTrue();
    for (int i = 0; i < 3; i++) {
      assertThat(orchestrator.unmatchedReports().poll(WAIT.toMillis(), TimeUnit.MILLISECONDS))
          .isNotNull();
    }
    assertThat(orchestrator.reports()).isEmpty();
  }

  @Test
  void aRedeployIsTwoUpdatesOfOneEntryEach() throws Exception {
    orchestrator.put(CRUNCH, FakeOrchestrator.entry("m", "m1", "RUNNING", "127.0.0.1", 5001));
    Peer peer = connect();
    orchestrator.redeploy(CRUNCH, "m1", "m2", "127.0.0.2", 5002);
    JsonNode running =
        FakeOrchestrator.json(peer.texts.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS));
    JsonNode stopped =
        FakeOrchestrator.json(peer.texts.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS));
    assertThat(running.get("data")).hasSize(1);
    assertThat(running.at("/data/0/deployment_id").asText()).isEqualTo("m2");
    assertThat(running.at("/data/0/state").asText()).isEqualTo("RUNNING");
    assertThat(stopped.get("data")).hasSize(1);
    assertThat(stopped.at("/data/0/deployment_id").asText()).isEqualTo("m1");
    assertThat(stopped.at("/data/0/state").asText()).isEqualTo("STOPPED");
    assertThat(stopped.at("/data/0/ip").asText())
        .as("the first STOPPED: the last real address")
        .isEqualTo("127.0.0.1");
    assertThat(stopped.at("/data/0/port").asInt()).isEqualTo(5001);

    orchestrator.recovering(CRUNCH, "m2");
    JsonNode recovering =
        FakeOrchestrator.json(peer.texts.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS));
    assertThat(recovering.at("/data/0/ip").isNull()).isTrue();
    assertThat(recovering.at("/data/0/port").asInt()).isEqualTo(50051);
  }
}
