package org.modelrunner.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.modelrunner.client.FleetTesting.eventually;
import static org.modelrunner.testsupport.FakeOrchestrator.entry;
import static org.modelrunner.testsupport.FakeOrchestrator.json;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.modelrunner.spi.DirectoryStatus;
import org.modelrunner.spi.ModelDirectory;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.ModelState;
import org.modelrunner.testsupport.FakeOrchestrator;

/**
 * The orchestrator directory against a fake orchestrator: a real WebSocket server on the loopback.
 */
class OrchestratorDirectoryTest {
  static final Duration WAIT = Duration.ofSeconds(10);
  static final String CRUNCH = "test-crunch";

  private final FakeOrchestrator orchestrator = new FakeOrchestrator();
  private final List<OrchestratorDirectory> directories = new ArrayList<>();
  private final Logs logs = new Logs();

  @BeforeEach
  void start() {
    orchestrator.start();
    logs.install();
  }

  @AfterEach
  void stop() {
    directories.forEach(OrchestratorDirectory::close);
    orchestrator.close();
    logs.uninstall();
  }

  private OrchestratorDirectory.Builder builder(String crunchId) {
    return builder(orchestrator.uri(), crunchId);
  }

  /** A directory of {@code base}'s crunch with the tests' short backoff and connect timeout. */
  private static OrchestratorDirectory.Builder builder(URI base, String crunchId) {
    return OrchestratorDirectory.builder(base, crunchId)
        .reconnectBackoff(Duration.ofMillis(20), Duration.ofMillis(300))
        .connectTimeout(Duration.ofSeconds(5));
  }

  private OrchestratorDirectory track(OrchestratorDirectory directory) {
    directories.add(directory);
    return directory;
  }

  private Recorder started(OrchestratorDirectory directory) {
    Recorder recorder = new Recorder();
    track(directory).start(recorder);
    return recorder;
  }

  private Recorder connected(OrchestratorDirectory directory) throws InterruptedException {
    Recorder recorder = started(directory);
    recorder.nextSnapshot();
    return recorder;
  }

  private static String address(ModelEndpoint endpoint) {
    return endpoint.address().toString();
  }

  // ---------------------------------------------------------------------------------------------
  // Connecting and reading

  @Test
  void theHandshakeCarriesNoBodyHeaderSoAStrictOrchestratorAcceptsIt() throws Exception {
    orchestrator.put(CRUNCH, entry("a", "a_d1", "RUNNING", "127.0.0.1", 50051));
    connected(builder(CRUNCH).build());
    assertThat(orchestrator.refusedHandshakes()).isEmpty();
  }

  @Test
  void aHandshakeWithContentLengthZeroIsRefusedLikeTheProductionOrchestrator() throws Exception {
    // What the JDK 17 HttpClient's WebSocket sends, and websockets 14/15 refuse without an answer.
    String request =
        "GET /"
            + CRUNCH
            + " HTTP/1.1\r\n"
            + "Host: 127.0.0.1:"
            + orchestrator.port()
            + "\r\n"
            + "Connection: Upgrade\r\n"
            + "Upgrade: websocket\r\n"
            + "Sec-WebSocket-Version: 13\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            + "Content-Length: 0\r\n"
            + "\r\n";
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", orchestrator.port())) {
      socket.setSoTimeout((int) WAIT.toMillis());
      socket.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      assertThat(socket.getInputStream().read())
          .as("no answer: the connection is closed")
          .isEqualTo(-1);
    }
    assertThat(orchestrator.refusedHandshakes()).containsExactly("GET /" + CRUNCH);
    assertThat(orchestrator.connectionCount()).isZero();

    // The same request without the body header is upgraded.
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", orchestrator.port())) {
      socket.setSoTimeout((int) WAIT.toMillis());
      socket
          .getOutputStream()
          .write(
              request
                  .replace("Content-Length: 0\r\n", "")
                  .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      byte[] head = new byte[12];
      assertThat(socket.getInputStream().readNBytes(head, 0, 12)).isEqualTo(12);
      assertThat(new String(head, java.nio.charset.StandardCharsets.US_ASCII))
          .isEqualTo("HTTP/1.1 101");
    }
  }

  @Test
  void wssConnectsWithTheGivenTrustAndRefusesAnUntrustedCertificate(@TempDir Path folder)
      throws Exception {
    // A key pair whose certificate names 127.0.0.1, made with the JDK's keytool.
    Path store = folder.resolve("orchestrator.p12");
    Process keytool =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair",
                "-alias",
                "orchestrator",
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                "CN=127.0.0.1",
                "-ext",
                "SAN=ip:127.0.0.1",
                "-validity",
                "2",
                "-storetype",
                "PKCS12",
                "-keystore",
                store.toString(),
                "-storepass",
                "secret",
                "-keypass",
                "secret")
            .redirectErrorStream(true)
            .start();
    String output =
        new String(
            keytool.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(keytool.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(keytool.exitValue()).as(output).isZero();
    KeyStore keys = KeyStore.getInstance("PKCS12");
    try (var in = java.nio.file.Files.newInputStream(store)) {
      keys.load(in, "secret".toCharArray());
    }
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("orchestrator", keys.getCertificate("orchestrator"));
    TrustManagerFactory trustManagers =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trustManagers.init(trust);
    SSLContext trusting = SSLContext.getInstance("TLS");
    trusting.init(null, trustManagers.getTrustManagers(), null);

    try (FakeOrchestrator secure = new FakeOrchestrator().tls(keys, "secret").start()) {
      secure.put(CRUNCH, entry("a", "a_d1", "RUNNING", "127.0.0.1", 50051));
      assertThat(secure.uri().getScheme()).isEqualTo("wss");
      OrchestratorDirectory directory =
          track(builder(secure.uri(), CRUNCH).sslContext(trusting).build());
      Recorder recorder = connected(directory);
      assertThat(recorder.last().running()).extracting(ModelEndpoint::modelId).containsExactly("a");
      directory.reportFailure(recorder.last().running().get(0), "MULTIPLE_FAILED", "over TLS");
      JsonNode report = secure.reports().poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      assertThat(report).isNotNull();
      assertThat(report.get("failure_reason").textValue()).isEqualTo("over TLS");

      // The JVM's default trust does not know this certificate: no connection, and the status says
      // why.
      OrchestratorDirectory untrusting = track(builder(secure.uri(), CRUNCH).build());
      untrusting.start(new Recorder());
      eventually(() -> assertThat(untrusting.status().orElseThrow().failedAttempts()).isPositive());
      assertThat(untrusting.isConnected()).isFalse();
      assertThat(untrusting.status().orElseThrow().lastError().orElseThrow())
          .containsIgnoringCase("certificat");
      assertThat(secure.connectionCount()).isEqualTo(1);
    }
  }

  @Test
  void theStatusTellsConnectedOrReconnectingSinceWhenAndWhy() throws Exception {
    OrchestratorDirectory directory = track(builder(CRUNCH).build());
    assertThat(directory.status().orElseThrow().state())
        .isEqualTo(DirectoryStatus.State.CONNECTING);
    Recorder recorder = new Recorder();
    directory.start(recorder);
    recorder.nextSnapshot();
    eventually(
        () ->
            assertThat(directory.status().orElseThrow().state())
                .isEqualTo(DirectoryStatus.State.CONNECTED));
    java.time.Instant beforeTheLoss = java.time.Instant.now();

    orchestrator.stop();
    eventually(
        () -> assertThat(directory.status().orElseThrow().failedAttempts()).isGreaterThan(1));
    DirectoryStatus down = directory.status().orElseThrow();
    assertThat(down.state()).isEqualTo(DirectoryStatus.State.RECONNECTING);
    assertThat(down.since()).isAfterOrEqualTo(beforeTheLoss);
    assertThat(down.lastError()).hasValueSatisfying(error -> assertThat(error).contains("Connect"));
    assertThat(logs.at(Level.WARNING))
        .anySatisfy(
            line ->
                assertThat(line)
                    .contains("Cannot connect to the orchestrator")
                    .contains("failed attempt(s) since")
                    .contains("the last:"));

    orchestrator.start(orchestrator.port());
    recorder.nextSnapshot();
    eventually(
        () ->
            assertThat(directory.status().orElseThrow().state())
                .isEqualTo(DirectoryStatus.State.CONNECTED));
    assertThat(directory.status().orElseThrow().failedAttempts()).isZero();
    assertThat(directory.status().orElseThrow().lastError()).as("kept for the record").isPresent();
    assertThat(logs.at(Level.INFO))
        .anySatisfy(line -> assertThat(line).contains("after").contains("failed attempt(s)"));

    directory.close();
    assertThat(directory.status().orElseThrow().state()).isEqualTo(DirectoryStatus.State.CLOSED);
  }

  @Test
  void recoveringWithANullIpTakesTheModelOutAndItsReportCarriesTheNullIp() throws Exception {
    orchestrator.stopReportedModels(false);
    orchestrator.put(CRUNCH, entry("m", "m_d1", "RUNNING", "127.0.0.1", 50051));
    OrchestratorDirectory directory = builder(CRUNCH).build();
    Recorder recorder = connected(directory);
    ModelEndpoint running = recorder.last().running().get(0);

    orchestrator.recovering(CRUNCH, "m_d1");
    Recorder.Call recovering = recorder.nextUpdate();
    assertThat(recovering.state()).isEqualTo(ModelState.RECOVERING);
    assertThat(recovering.endpoint().deploymentId()).isEqualTo("m_d1");

    directory.reportFailure(running, "MULTIPLE_TIMEOUT", "no answer");
    JsonNode report = orchestrator.reports().poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(report).as("matched by the orchestrator").isNotNull();
    assertThat(report.has("ip")).isTrue();
    assertThat(report.get("ip").isNull()).as("the ip as last announced").isTrue();

    orchestrator.running(CRUNCH, "m_d1", "127.0.0.2", 50052);
    assertThat(address(recorder.nextUpdate().endpoint())).isEqualTo("grpc://127.0.0.2:50052");
    directory.reportFailure(running, "MULTIPLE_TIMEOUT", "again");
    JsonNode second = orchestrator.reports().poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(second.get("ip").textValue()).isEqualTo("127.0.0.2");
    assertThat(orchestrator.unmatchedReports()).isEmpty();

    // A recovering entry in an init is passed on too.
    orchestrator.recovering(CRUNCH, "m_d1");
    recorder.nextUpdate();
    orchestrator.dropConnections();
    Recorder.Call snapshot = recorder.nextSnapshot();
    assertThat(snapshot.recovering())
        .extracting(ModelEndpoint::deploymentId)
        .containsExactly("m_d1");
    assertThat(logs.at(Level.WARNING))
        .noneSatisfy(line -> assertThat(line).contains("unusable entry"));
  }

  @Test
  void stoppedEntriesApplyWithTheirRealAddressOrAPlaceholder() throws Exception {
    orchestrator.put(CRUNCH, entry("m", "m_d1", "RUNNING", "127.0.0.1", 50051));
    Recorder recorder = connected(builder(CRUNCH).build());

    orchestrator.stopped(CRUNCH, "m_d1"); // the first STOPPED: the last real address
    orchestrator.stopped(CRUNCH, "m_d1"); // later ones, in the state passes: "" / 0
    orchestrator.stopped(CRUNCH, "m_d1"); // null / 50051
    orchestrator.stopped(CRUNCH, "m_d1"); // "localhost" / 0
    List<String> ips = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      Recorder.Call stopped = recorder.nextUpdate();
      assertThat(stopped.state()).isEqualTo(ModelState.STOPPED);
      assertThat(stopped.endpoint().deploymentId()).isEqualTo("m_d1");
      ips.add(stopped.endpoint().address().getHost());
    }
    assertThat(ips).containsExactly("127.0.0.1", "0.0.0.0", "0.0.0.0", "0.0.0.0");
    assertThat(logs.at(Level.WARNING))
        .noneSatisfy(line -> assertThat(line).contains("unusable entry"));
  }

  @Test
  void aRunningEntryWithoutAnIpIsSkippedAndLogged() throws Exception {
    orchestrator.put(
        CRUNCH,
        json(
            """
        {"deployment_id": "m_d1", "model_id": "m", "infos": {}, "state": "RUNNING", "ip": null, "port": 50051}"""));
    orchestrator.put(CRUNCH, entry("b", "b_d1", "RUNNING", "127.0.0.1", 50052));
    Recorder recorder = connected(builder(CRUNCH).build());
    assertThat(recorder.last().running()).extracting(ModelEndpoint::modelId).containsExactly("b");
    assertThat(logs.at(Level.WARNING))
        .anySatisfy(line -> assertThat(line).contains("m_d1").contains("missing ip"));
  }

  @Test
  void theUrlPathCarriesTheCrunchId() throws Exception {
    orchestrator.put("my crunch é", entry("m1", "m1_d1", "RUNNING", "127.0.0.1", 50051));
    OrchestratorDirectory directory = builder("my crunch é").build();
    assertThat(directory.uri()).hasToString(orchestrator.uri() + "/my%20crunch%20%C3%A9");
    assertThat(directory.crunchId()).isEqualTo("my crunch é");

    Recorder.Call snapshot = started(directory).nextSnapshot();

    assertThat(orchestrator.requestPaths()).containsExactly("/my%20crunch%20%C3%A9");
    assertThat(snapshot.running()).extracting(ModelEndpoint::modelId).containsExactly("m1");
  }

  @Test
  void theCrunchIdSelectsTheTable() throws Exception {
    orchestrator.put("other", entry("x", "x_d1", "RUNNING", "127.0.0.1", 50051));
    orchestrator.put(CRUNCH, entry("m1", "m1_d1", "RUNNING", "127.0.0.1", 50052));

    Recorder.Call snapshot = started(builder(CRUNCH).build()).nextSnapshot();

    assertThat(snapshot.running()).extracting(ModelEndpoint::modelId).containsExactly("m1");
    assertThat(orchestrator.requestPaths()).containsExactly("/" + CRUNCH);
  }

  @Test
  void theInitIsParsedEntryByEntry() throws Exception {
    Map<String, Object> nullInfos = new LinkedHashMap<>();
    nullInfos.put("model_name", null);
    nullInfos.put("cruncher_name", "carol");
    nullInfos.put("cruncher_wallet_pubkey", null);
    orchestrator.put(CRUNCH, entry("m1", "m1_d1", "RUNNING", "10.0.0.5", 50051));
    orchestrator.put(
        CRUNCH,
        json(
            """
        {"deployment_id": "m2_d1", "model_id": "m2", "infos": {"model_name": "two"},
         "state": "RUNNING", "ip": "10.0.0.6", "port": "50052"}"""));
    orchestrator.put(
        CRUNCH,
        json(
            """
        {"deployment_id": "7_d1", "model_id": 7, "infos": null, "state": "RUNNING",
         "ip": "10.0.0.7", "port": 50053}"""));
    orchestrator.put(CRUNCH, entry("m3", "m3_d1", "RUNNING", "10.0.0.8", 50054, nullInfos));
    orchestrator.put(CRUNCH, entry("m4", "m4_d1", "RUNNING", "model-4.internal", 50055));
    orchestrator.put(CRUNCH, entry("m5", "m5_d1", "PAUSED", "10.0.0.9", 50056));
    orchestrator.put(
        CRUNCH,
        json(
            """
        {"model_id": "m6", "state": "RUNNING", "ip": "10.0.0.10", "port": 50057}"""));
    orchestrator.put(CRUNCH, entry("m7", "m7_d1", "RECOVERING", "10.0.0.11", 50058));
    orchestrator.put(CRUNCH, entry("m8", "m8_d1", "STOPPED", "", 0));

    Recorder.Call snapshot = started(builder(CRUNCH).build()).nextSnapshot();

    assertThat(snapshot.running())
        .extracting(
            ModelEndpoint::modelId, ModelEndpoint::deploymentId, OrchestratorDirectoryTest::address)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("m1", "m1_d1", "grpc://10.0.0.5:50051"),
            org.assertj.core.groups.Tuple.tuple("m2", "m2_d1", "grpc://10.0.0.6:50052"),
            org.assertj.core.groups.Tuple.tuple("7", "7_d1", "grpc://10.0.0.7:50053"),
            org.assertj.core.groups.Tuple.tuple("m3", "m3_d1", "grpc://10.0.0.8:50054"),
            org.assertj.core.groups.Tuple.tuple("m4", "m4_d1", "grpc://model-4.internal:50055"));
    assertThat(snapshot.running().get(0).infos())
        .containsEntry("model_name", "m1")
        .containsEntry("cruncher_name", "cruncher-m1");
    assertThat(snapshot.running().get(2).infos()).isEmpty();
    assertThat(snapshot.running().get(3).infos())
        .hasSize(3)
        .containsEntry("model_name", null)
        .containsEntry("cruncher_name", "carol")
        .containsEntry("cruncher_wallet_pubkey", null);
    assertThat(snapshot.recovering())
        .extracting(ModelEndpoint::deploymentId, OrchestratorDirectoryTest::address)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("m7_d1", "grpc://10.0.0.11:50058"));
    assertThat(logs.at(Level.WARNING))
        .anySatisfy(
            line -> assertThat(line).contains("m5_d1").contains("unknown state").contains("PAUSED"))
        .anySatisfy(line -> assertThat(line).contains("m6").contains("missing deployment_id"));
  }

  @Test
  void anEmptyInitIsDeliveredToo() throws Exception {
    Recorder.Call snapshot = started(builder(CRUNCH).build()).nextSnapshot();

    assertThat(snapshot.running()).isEmpty();
    assertThat(snapshot.recovering()).isEmpty();
  }

  @Test
  void updatesArePassedThroughDuplicatesIncluded() throws Exception {
    orchestrator.put(CRUNCH, entry("m1", "m1_d1", "RUNNING", "127.0.0.1", 50051));
    Recorder recorder = connected(builder(CRUNCH).build());

    orchestrator.update(CRUNCH, entry("m2", "m2_d1", "RUNNING", "127.0.0.1", 50052));
    orchestrator.update(CRUNCH, entry("m2", "m2_d1", "RUNNING", "127.0.0.1", 50052));
    orchestrator.update(CRUNCH, entry("m1", "m1_d1", "RECOVERING", "127.0.0.1", 50051));
    orchestrator.update(CRUNCH, entry("m1", "m1_d1", "RUNNING", "127.0.0.2", 50061));
    orchestrator.update(CRUNCH, entry("m2", "m2_d1", "STOPPED", "", 0));

    Recorder.Call first = recorder.nextUpdate();
    Recorder.Call second = recorder.nextUpdate();
    assertThat(first.endpoint()).isEqualTo(second.endpoint());
    assertThat(first.endpoint().modelId()).isEqualTo("m2");
    assertThat(address(first.endpoint())).isEqualTo("grpc://127.0.0.1:50052");
    assertThat(first.state()).isEqualTo(ModelState.RUNNING);
    assertThat(second.state()).isEqualTo(ModelState.RUNNING);

    Recorder.Call recovering = recorder.nextUpdate();
    assertThat(recovering.endpoint().deploymentId()).isEqualTo("m1_d1");
    assertThat(recovering.state()).isEqualTo(ModelState.RECOVERING);
    Recorder.Call back = recorder.nextUpdate();
    assertThat(back.state()).isEqualTo(ModelState.RUNNING);
    assertThat(address(back.endpoint())).isEqualTo("grpc://127.0.0.2:50061");

    Recorder.Call stopped = recorder.nextUpdate();
    assertThat(stopped.endpoint().deploymentId()).isEqualTo("m2_d1");
    assertThat(stopped.state()).isEqualTo(ModelState.STOPPED);
    assertThat(address(stopped.endpoint())).isEqualTo("grpc://0.0.0.0:0");
  }

  @Test
  void aFragmentedMessageIsReassembled() throws Exception {
    Recorder recorder = connected(builder(CRUNCH).build());
    String update =
        "{\"event\":\"update\",\"data\":["
            + entry("m1", "m1_d1", "RUNNING", "127.0.0.1", 50051)
            + "]}";

    orchestrator.sendFragmented(update, 7);

    Recorder.Call call = recorder.nextUpdate();
    assertThat(call.endpoint().modelId()).isEqualTo("m1");
    assertThat(address(call.endpoint())).isEqualTo("grpc://127.0.0.1:50051");
  }

  @Test
  void malformedFramesAreIgnoredAndTheConnectionGoesOn() throws Exception {
    Recorder recorder = connected(builder(CRUNCH).build());

    orchestrator.send("this is not JSON");
    orchestrator.send("[1, 2, 3]");
    orchestrator.send("{\"data\": []}");
    orchestrator.send("{\"event\": \"party\", \"data\": []}");
    orchestrator.send("{\"event\": \"update\", \"data\": {\"model_id\": \"m9\"}}");
    orchestrator.send("{\"event\": \"update\", \"data\": [42, {\"model_id\": \"m9\"}]}");
    orchestrator.send("{\"error\": \"go away\"}");
    orchestrator.send("{\"event\": \"init\"} trailing");
    orchestrator.update(CRUNCH, entry("m1", "m1_d1", "RUNNING", "127.0.0.1", 50051));

    Recorder.Call next = recorder.next();
    assertThat(next.kind()).isEqualTo("update");
    assertThat(next.endpoint().modelId()).isEqualTo("m1");
    assertThat(orchestrator.connectionCount()).isEqualTo(1);
    assertThat(logs.at(Level.WARNING))
        .anySatisfy(line -> assertThat(line).contains("not JSON").contains("this is not JSON"))
        .anySatisfy(line -> assertThat(line).contains("not a JSON object").contains("[1, 2, 3]"))
        .anySatisfy(line -> assertThat(line).contains("no \"event\""))
        .anySatisfy(line -> assertThat(line).contains("unknown event 'party'"))
        .anySatisfy(line -> assertThat(line).contains("\"data\" is not a list"))
        .anySatisfy(line -> assertThat(line).contains("entry 0 is not an object"))
        .anySatisfy(line -> assertThat(line).contains("missing deployment_id, state"));
    assertThat(logs.at(Level.SEVERE))
        .anySatisfy(
            line ->
                assertThat(line)
                    .contains("sent an error (it closes connections it refuses): go away"));
  }

  @Test
  void aLongBadFrameIsLoggedByItsFirst200Characters() throws Exception {
    connected(builder(CRUNCH).build());
    String longFrame = "x".repeat(200) + "TAIL-NOT-LOGGED" + "y".repeat(500);

    orchestrator.send(longFrame);

    eventually(
        () ->
            assertThat(logs.at(Level.WARNING))
                .anySatisfy(line -> assertThat(line).contains("x".repeat(200))));
    assertThat(logs.all())
        .noneMatch(line -> line.contains("TAIL") || line.contains("x".repeat(201)));
  }

  @Test
  void aListenerThatThrowsDoesNotStopTheDirectory() throws Exception {
    orchestrator.put(CRUNCH, entry("m1", "m1_d1", "RUNNING", "127.0.0.1", 50051));
    Recorder recorder = new Recorder();
    recorder.throwOnce = true;
    track(builder(CRUNCH).build()).start(recorder);
    recorder.nextSnapshot();

    orchestrator.update(CRUNCH, entry("m2", "m2_d1", "RUNNING", "127.0.0.1", 50052));

    assertThat(recorder.nextUpdate().endpoint().modelId()).isEqualTo("m2");
    assertThat(orchestrator.connectionCount()).isEqualTo(1);
  }

  // ---------------------------------------------------------------------------------------------
  // Reconnecting

  @Test
  void aDroppedConnectionIsReopenedAndResynchronised() throws Exception {
    orchestrator.put(CRUNCH, entry("a", "a_d1", "RUNNING", "127.0.0.1", 50051));
    orchestrator.put(CRUNCH, entry("b", "b_d1", "RUNNING", "127.0.0.1", 50052));
    OrchestratorDirectory directory = builder(CRUNCH).build();
    Recorder recorder = connected(directory);
    assertThat(directory.isConnected()).isTrue();

    orchestrator.remove(CRUNCH, "b_d1"); // messages lost while the client is away
    orchestrator.put(CRUNCH, entry("c", "c_d1", "RUNNING", "127.0.0.1", 50053));
    orchestrator.dropConnections();

    Recorder.Call snapshot = recorder.nextSnapshot();
    assertThat(snapshot.running()).extracting(ModelEndpoint::modelId).containsExactly("a", "c");
    assertThat(orchestrator.connectionCount()).isEqualTo(2);
    eventually(() -> assertThat(directory.isConnected()).isTrue());
  }

  @Test
  void theOrchestratorRestartingOnTheSamePortIsFollowed() throws Exception {
    orchestrator.put(CRUNCH, entry("a", "a_d1", "RUNNING", "127.0.0.1", 50051));
    OrchestratorDirectory directory = builder(CRUNCH).build();
    Recorder recorder = connected(directory);

    orchestrator.stop();
    eventually(() -> assertThat(directory.isConnected()).isFalse());
    eventually(
        () ->
            assertThat(logs.at(Level.WARNING))
                .as("failed attempts are logged with their number")
                .anySatisfy(line -> assertThat(line).contains("(2 failed attempt(s) since ")));
    orchestrator.remove(CRUNCH, "a_d1");
    orchestrator.put(CRUNCH, entry("b", "b_d1", "RUNNING", "127.0.0.1", 50052));
    orchestrator.start(orchestrator.port());

    Recorder.Call snapshot = recorder.nextSnapshot();
    assertThat(snapshot.running()).extracting(ModelEndpoint::modelId).containsExactly("b");
    eventually(() -> assertThat(directory.isConnected()).isTrue());

    orchestrator.restart();
    assertThat(recorder.nextSnapshot().running())
        .extracting(ModelEndpoint::modelId)
        .containsExactly("b");
  }

  @Test
  void aConnectionThatStopsAnsweringPingsIsReopenedInFakeTime() throws Exception {
    // That answered pings keep a connection: OrchestratorConnectionTest, with scripted sockets,
    // and OrchestratorSocketTest, that Jetty hears the pong.
    orchestrator.put(CRUNCH, entry("a", "a_d1", "RUNNING", "127.0.0.1", 50051));
    orchestrator.answerPings(false);
    ManualTime time = new ManualTime();
    OrchestratorDirectory directory =
        builder(CRUNCH).pingInterval(Duration.ofSeconds(30)).time(time, time).build();
    Recorder recorder = connected(directory);

    time.advance(Duration.ofSeconds(30)); // a ping, left unanswered
    eventually(() -> assertThat(orchestrator.pings()).isEqualTo(1));
    assertThat(directory.isConnected()).isTrue();
    time.advance(Duration.ofSeconds(30)); // no answer by the next ping: aborted
    eventually(
        () ->
            assertThat(directory.status().orElseThrow().state())
                .isEqualTo(DirectoryStatus.State.RECONNECTING));
    // The ping is cancelled before the status changes, the reconnect scheduled after.
    eventually(() -> assertThat(time.pending()).as("the reconnect").isEqualTo(1));
    assertThat(directory.status().orElseThrow().lastError())
        .hasValueSatisfying(error -> assertThat(error).contains("no pong within 30 s"));

    time.advance(Duration.ofMillis(300)); // the maximum backoff
    assertThat(recorder.nextSnapshot().running())
        .extracting(ModelEndpoint::modelId)
        .containsExactly("a");
    assertThat(orchestrator.connectionCount()).isEqualTo(2);
  }

  @Test
  void listenerCallsAllRunOnTheDirectorysThread() throws Exception {
    orchestrator.put(CRUNCH, entry("a", "a_d1", "RUNNING", "127.0.0.1", 50051));
    Recorder recorder = connected(builder(CRUNCH).build());
    orchestrator.update(CRUNCH, entry("b", "b_d1", "RUNNING", "127.0.0.1", 50052));
    recorder.nextUpdate();
    orchestrator.dropConnections();
    recorder.nextSnapshot();
    orchestrator.update(CRUNCH, entry("c", "c_d1", "RUNNING", "127.0.0.1", 50053));
    recorder.nextUpdate();

    assertThat(recorder.all).hasSize(4);
    assertThat(recorder.all)
        .extracting(Recorder.Call::thread)
        .containsOnly(recorder.all.get(0).thread());
    assertThat(recorder.all.get(0).thread().getName()).matches("modelrunner-orchestrator-\\d+");
    assertThat(recorder.all.get(0).thread().isDaemon()).isTrue();
  }

  @Test
  void anEmptySnapshotWarnsOnceAboutTheCrunchId() throws Exception {
    connected(builder("no-such-crunch").emptySnapshotWarning(Duration.ofMillis(150)).build());

    eventually(
        () ->
            assertThat(logs.at(Level.WARNING))
                .anySatisfy(
                    line ->
                        assertThat(line)
                            .contains("lists no model for crunch 'no-such-crunch'")
                            .contains("check the crunch id")));
  }

  @Test
  void aRunningUpdateSilencesTheEmptySnapshotWarning() throws Exception {
    ManualTime time = new ManualTime();
    Recorder recorder =
        connected(
            builder(CRUNCH).emptySnapshotWarning(Duration.ofMillis(300)).time(time, time).build());
    orchestrator.update(CRUNCH, entry("a", "a_d1", "RUNNING", "127.0.0.1", 50051));
    recorder.nextUpdate();

    time.advance(
        Duration.ofSeconds(1)); // past the window: the check runs, on the directory's thread
    // A marker, logged after the check (the directory's thread handles both in order).
    orchestrator.send("marker-frame");
    eventually(
        () -> assertThat(logs.all()).anySatisfy(line -> assertThat(line).contains("marker-frame")));
    assertThat(logs.all()).noneMatch(line -> line.contains("lists no model"));
  }

  @Test
  void anEmptySnapshotWarnsOnceTheWindowHasPassedInFakeTime() throws Exception {
    ManualTime time = new ManualTime();
    connected(
        builder("no-such-crunch")
            .emptySnapshotWarning(Duration.ofMinutes(1))
            .time(time, time)
            .build());
    time.advance(Duration.ofSeconds(59));
    orchestrator.send("marker-one");
    eventually(
        () -> assertThat(logs.all()).anySatisfy(line -> assertThat(line).contains("marker-one")));
    assertThat(logs.all()).noneMatch(line -> line.contains("lists no model"));

    time.advance(Duration.ofSeconds(2));
    eventually(
        () ->
            assertThat(logs.at(Level.WARNING))
                .anySatisfy(line -> assertThat(line).contains("lists no model")));
  }

  @Test
  void whileConnectingFailsAWarningComesAgainAfterAMinuteInFakeTime() throws Exception {
    orchestrator.stop();
    ManualTime time = new ManualTime();
    OrchestratorDirectory directory = track(builder(CRUNCH).time(time, time).build());
    directory.start(new Recorder());
    for (int attempt = 1; attempt <= 9; attempt++) {
      awaitFailedAttempt(directory, time, attempt);
      if (attempt < 9) {
        time.advance(Duration.ofMillis(300)); // the maximum backoff: the next attempt starts
      }
    }
    assertThat(logs.at(Level.WARNING).stream().filter(line -> line.contains("Cannot connect")))
        .as("one for each of the first 5 failures, then quiet")
        .hasSize(5);

    time.advance(
        Duration.ofSeconds(61)); // a minute since the last warning; the next attempt starts
    eventually(() -> assertThat(directory.status().orElseThrow().failedAttempts()).isEqualTo(10));
    eventually(
        () ->
            assertThat(
                    logs.at(Level.WARNING).stream().filter(line -> line.contains("Cannot connect")))
                .as("a warning again after a minute")
                .hasSize(6));
  }

  // ---------------------------------------------------------------------------------------------
  // Failure reports

  @Test
  void aReportHasExactlyTheFourFieldsWithTheOrchestratorsTypes() throws Exception {
    orchestrator.put(
        CRUNCH,
        json(
            """
        {"deployment_id": "7_d1", "model_id": 7, "infos": {}, "state": "RUNNING",
         "ip": "127.0.0.7", "port": "50051"}"""));
    orchestrator.put(CRUNCH, entry("m1", "m1_d1", "RUNNING", "localhost", 50052));
    OrchestratorDirectory directory = builder(CRUNCH).build();
    Recorder recorder = connected(directory);
    ModelEndpoint seven = recorder.last().running().get(0);
    ModelEndpoint m1 = recorder.last().running().get(1);

    directory.reportFailure(seven, "MULTIPLE_TIMEOUT", "3 timeouts in a row");

    JsonNode report = orchestrator.reports().poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(report).isNotNull();
    assertThat(fieldNames(report))
        .containsExactly("model_id", "failure_code", "failure_reason", "ip");
    assertThat(report.get("model_id").isIntegralNumber()).isTrue();
    assertThat(report.get("model_id").asInt()).isEqualTo(7);
    assertThat(report.get("failure_code").textValue()).isEqualTo("MULTIPLE_TIMEOUT");
    assertThat(report.get("failure_reason").textValue()).isEqualTo("3 timeouts in a row");
    assertThat(report.get("ip").textValue()).isEqualTo("127.0.0.7");
    JsonNode message = json(orchestrator.received().poll(WAIT.toMillis(), TimeUnit.MILLISECONDS));
    assertThat(fieldNames(message)).containsExactly("event", "data");
    assertThat(message.get("event").textValue()).isEqualTo("report_failure");
    assertThat(message.get("data")).hasSize(1);

    // The orchestrator stops the reported model.
    Recorder.Call stopped = recorder.nextUpdate();
    assertThat(stopped.endpoint().modelId()).isEqualTo("7");
    assertThat(stopped.state()).isEqualTo(ModelState.STOPPED);

    directory.reportFailure(m1, "BAD_IMPLEMENTATION", null);
    JsonNode second = orchestrator.reports().poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(second.get("model_id").isTextual()).isTrue();
    assertThat(second.get("model_id").textValue()).isEqualTo("m1");
    assertThat(second.get("ip").textValue()).isEqualTo("localhost");
    assertThat(second.get("failure_reason").textValue()).isEmpty();

    // Not announced by the orchestrator: the address's host, without brackets, and the id as a
    // string (the
    // orchestrator matches it to none of its models).
    directory.reportFailure(
        new ModelEndpoint("42", "42_d9", URI.create("grpc://[::1]:50053"), Map.of()),
        "LOW_PERFORMANCE",
        "slow");
    JsonNode third = orchestrator.unmatchedReports().poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(third.get("model_id").isTextual()).isTrue();
    assertThat(third.get("model_id").textValue()).isEqualTo("42");
    assertThat(third.get("ip").textValue()).isEqualTo("::1");
    assertThat(orchestrator.malformedReports()).isEmpty();
    assertThat(logs.at(Level.INFO))
        .anySatisfy(line -> assertThat(line).contains("Reported model 7"));
  }

  @Test
  void reportsMadeWhileDisconnectedAreSentOnceAfterTheReconnect() throws Exception {
    orchestrator.stopReportedModels(false);
    orchestrator.put(CRUNCH, entry("a", "a_d1", "RUNNING", "127.0.0.1", 50051));
    OrchestratorDirectory directory = builder(CRUNCH).build();
    Recorder recorder = connected(directory);
    ModelEndpoint a = recorder.last().running().get(0);

    orchestrator.stop();
    eventually(() -> assertThat(directory.isConnected()).isFalse());
    directory.reportFailure(a, "MULTIPLE_FAILED", "first");
    directory.reportFailure(a, "MULTIPLE_TIMEOUT", "second");
    directory.reportFailure(a, "LOW_PERFORMANCE", "third");
    assertThat(directory.queuedReports()).isEqualTo(3);
    orchestrator.start(orchestrator.port());

    List<String> reasons = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      JsonNode report = orchestrator.reports().poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      assertThat(report).as("report %d", i).isNotNull();
      reasons.add(report.get("failure_reason").textValue());
    }
    assertThat(reasons).containsExactly("first", "second", "third");
    eventually(() -> assertThat(directory.queuedReports()).isZero());

    // Another reconnect sends nothing again.
    recorder.nextSnapshot();
    orchestrator.dropConnections();
    recorder.nextSnapshot();
    directory.reportFailure(a, "MULTIPLE_FAILED", "fourth");
    JsonNode fourth = orchestrator.reports().poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(fourth.get("failure_reason").textValue()).isEqualTo("fourth");
    assertThat(orchestrator.reports()).isEmpty();
  }

  @Test
  void aFullQueueDropsTheOldestReport() throws Exception {
    orchestrator.stopReportedModels(false);
    orchestrator.put(CRUNCH, entry("m1", "m1_d1", "RUNNING", "127.0.0.1", 50051));
    OrchestratorDirectory directory = track(builder(CRUNCH).maxQueuedReports(2).build());
    ModelEndpoint endpoint =
        new ModelEndpoint("m1", "m1_d1", URI.create("grpc://127.0.0.1:50051"), Map.of());

    directory.reportFailure(endpoint, "MULTIPLE_FAILED", "oldest");
    directory.reportFailure(endpoint, "MULTIPLE_FAILED", "middle");
    directory.reportFailure(endpoint, "MULTIPLE_FAILED", "newest");

    assertThat(directory.queuedReports()).isEqualTo(2);
    assertThat(logs.at(Level.WARNING))
        .anySatisfy(
            line ->
                assertThat(line).contains("full").contains("dropped the oldest").contains("m1"));

    Recorder recorder = new Recorder();
    directory.start(recorder);
    assertThat(
            orchestrator
                .reports()
                .poll(WAIT.toMillis(), TimeUnit.MILLISECONDS)
                .get("failure_reason")
                .textValue())
        .isEqualTo("middle");
    assertThat(
            orchestrator
                .reports()
                .poll(WAIT.toMillis(), TimeUnit.MILLISECONDS)
                .get("failure_reason")
                .textValue())
        .isEqualTo("newest");
    eventually(() -> assertThat(directory.queuedReports()).isZero());
  }

  @Test
  void reportFailureNeverThrows() {
    OrchestratorDirectory directory = track(builder(CRUNCH).build());

    directory.reportFailure(null, "MULTIPLE_FAILED", "no endpoint");
    directory.reportFailure(
        ModelEndpoint.of("m1", URI.create("grpc://127.0.0.1:1")), null, "no code");
    directory.close();
    directory.reportFailure(
        ModelEndpoint.of("m1", URI.create("grpc://127.0.0.1:1")), "MULTIPLE_FAILED", "closed");

    assertThat(directory.queuedReports()).isZero();
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  @Test
  void closeClosesTheSessionAndStopsReconnecting() throws Exception {
    OrchestratorDirectory directory = builder(CRUNCH).build();
    connected(directory);
    assertThat(orchestrator.openSessions()).isEqualTo(1);

    directory.close();
    directory.close(); // idempotent

    assertThat(orchestrator.closeCodes().poll(WAIT.toMillis(), TimeUnit.MILLISECONDS))
        .isEqualTo(1000);
    assertThat(orchestrator.awaitOpenSessions(0, WAIT)).isTrue();
    assertThat(directory.isConnected()).isFalse();
    assertThat(directory.awaitStopped(WAIT)).as("the directory's thread ended").isTrue();
    orchestrator.dropConnections();
    orchestrator.restart();
    // Nothing is left that could reconnect: the count cannot grow.
    assertThat(orchestrator.connectionCount()).isEqualTo(1);
  }

  @Test
  void closeWhileTheOrchestratorIsDownStopsTheAttempts() throws Exception {
    orchestrator.stopReportedModels(false);
    OrchestratorDirectory directory = builder(CRUNCH).build();
    connected(directory);
    orchestrator.stop();
    eventually(() -> assertThat(directory.isConnected()).isFalse());
    directory.reportFailure(
        ModelEndpoint.of("m1", URI.create("grpc://127.0.0.1:1")), "MULTIPLE_FAILED", "late");

    directory.close();
    assertThat(directory.awaitStopped(WAIT)).as("the directory's thread ended").isTrue();
    orchestrator.start(orchestrator.port());

    assertThat(orchestrator.connectionCount()).isEqualTo(1);
    assertThat(logs.at(Level.WARNING))
        .anySatisfy(line -> assertThat(line).contains("1 failure report(s) not sent"));
  }

  @Test
  void startIsCalledOnce() {
    OrchestratorDirectory directory = track(builder(CRUNCH).build());
    directory.start(new Recorder());

    assertThatThrownBy(() -> directory.start(new Recorder()))
        .isInstanceOf(IllegalStateException.class);
    directory.close();
    OrchestratorDirectory closed = track(builder(CRUNCH).build());
    closed.close();
    assertThatThrownBy(() -> closed.start(new Recorder()))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void theBuilderChecksItsArguments() {
    URI base = URI.create("ws://127.0.0.1:9091");
    assertThatThrownBy(() -> OrchestratorDirectory.builder(URI.create("http://host:9091"), "c"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("ws:// or wss://");
    assertThatThrownBy(() -> OrchestratorDirectory.builder(URI.create("ws:///path"), "c"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no host");
    assertThatThrownBy(() -> OrchestratorDirectory.builder(URI.create("ws://host:9091/?a=b"), "c"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("query");
    assertThatThrownBy(() -> OrchestratorDirectory.builder(base, " "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("crunch id");
    assertThatThrownBy(() -> OrchestratorDirectory.builder(base, ".."))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("crunch id");
    OrchestratorDirectory.Builder builder = OrchestratorDirectory.builder(base, "c");
    assertThatThrownBy(() -> builder.reconnectBackoff(Duration.ZERO, Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("initial reconnect backoff");
    assertThatThrownBy(() -> builder.reconnectBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least the initial");
    assertThatThrownBy(() -> builder.connectTimeout(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("connect timeout");
    assertThatThrownBy(() -> builder.pingInterval(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("ping interval");
    assertThatThrownBy(() -> builder.emptySnapshotWarning(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("empty snapshot");
    assertThatThrownBy(() -> builder.maxQueuedReports(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("maxQueuedReports");
  }

  @Test
  void theUrlIsTheBaseAndOneSegment() {
    assertThat(OrchestratorDirectory.url(URI.create("ws://host:9091"), "c1"))
        .hasToString("ws://host:9091/c1");
    assertThat(OrchestratorDirectory.url(URI.create("ws://host:9091/"), "c1"))
        .hasToString("ws://host:9091/c1");
    assertThat(OrchestratorDirectory.url(URI.create("wss://host/orchestrator/"), "a b"))
        .hasToString("wss://host/orchestrator/a%20b");
    assertThat(OrchestratorDirectory.url(URI.create("ws://[::1]:9091"), "c?x#y"))
        .hasToString("ws://[::1]:9091/c%3Fx%23y");
  }

  @Test
  void theBackoffGrowsWithJitterUpToTheMaximum() {
    OrchestratorDirectory directory =
        track(
            OrchestratorDirectory.builder(URI.create("ws://127.0.0.1:9"), "c")
                .reconnectBackoff(Duration.ofMillis(100), Duration.ofMillis(1000))
                .build());
    long ms = TimeUnit.MILLISECONDS.toNanos(1);
    for (int i = 0; i < 200; i++) {
      assertThat(directory.backoff(0)).isBetween(50 * ms, 100 * ms);
      assertThat(directory.backoff(2)).isBetween(200 * ms, 400 * ms);
      assertThat(directory.backoff(4)).isBetween(500 * ms, 1000 * ms);
      assertThat(directory.backoff(80)).isBetween(500 * ms, 1000 * ms);
    }
    long min = Long.MAX_VALUE;
    long max = 0;
    for (int i = 0; i < 200; i++) {
      long delay = directory.backoff(3);
      min = Math.min(min, delay);
      max = Math.max(max, delay);
    }
    assertThat(max - min).as("jitter").isGreaterThan(100 * ms);
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      names.add(it.next());
    }
    return names;
  }

  /**
   * Waits until connection attempt {@code attempt} has failed and the next one is scheduled (the
   * status counts the failure just before the reconnect is scheduled, and nothing else waits in
   * {@code time} while connecting fails).
   */
  private static void awaitFailedAttempt(
      OrchestratorDirectory directory, ManualTime time, int attempt) {
    eventually(
        () -> {
          assertThat(directory.status().orElseThrow().failedAttempts())
              .as("failed attempts")
              .isEqualTo(attempt);
          assertThat(time.pending()).as("the reconnect is scheduled").isEqualTo(1);
        });
  }

  /** Records the listener calls, with the thread that made each. */
  static final class Recorder implements ModelDirectory.Listener {
    record Call(
        String kind,
        List<ModelEndpoint> running,
        List<ModelEndpoint> recovering,
        ModelEndpoint endpoint,
        ModelState state,
        Thread thread) {}

    final BlockingQueue<Call> calls = new LinkedBlockingQueue<>();
    final List<Call> all = new CopyOnWriteArrayList<>();
    volatile boolean throwOnce;
    private volatile Call lastSnapshot;

    @Override
    public void snapshot(List<ModelEndpoint> running) {
      record(
          new Call(
              "snapshot-without-recovering",
              running,
              List.of(),
              null,
              null,
              Thread.currentThread()));
    }

    @Override
    public void snapshot(List<ModelEndpoint> running, List<ModelEndpoint> recovering) {
      Call call = new Call("snapshot", running, recovering, null, null, Thread.currentThread());
      lastSnapshot = call;
      record(call);
    }

    @Override
    public void update(ModelEndpoint endpoint, ModelState state) {
      record(new Call("update", null, null, endpoint, state, Thread.currentThread()));
    }

    private void record(Call call) {
      all.add(call);
      calls.add(call);
      if (throwOnce) {
        throwOnce = false;
        throw new IllegalStateException("a listener bug");
      }
    }

    Call next() throws InterruptedException {
      Call call = calls.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      assertThat(call).as("a listener call within %s", WAIT).isNotNull();
      return call;
    }

    Call nextSnapshot() throws InterruptedException {
      Call call = next();
      assertThat(call.kind()).as("the next call: %s", call).isEqualTo("snapshot");
      return call;
    }

    Call nextUpdate() throws InterruptedException {
      Call call = next();
      assertThat(call.kind()).as("the next call: %s", call).isEqualTo("update");
      return call;
    }

    Call last() {
      return lastSnapshot;
    }
  }

  /** Captures what the directory logs (System.Logger goes to java.util.logging here). */
  static final class Logs extends Handler {
    private final Logger logger = Logger.getLogger(OrchestratorDirectory.class.getName());
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();
    private final SimpleFormatter formatter = new SimpleFormatter();

    void install() {
      logger.addHandler(this);
    }

    void uninstall() {
      logger.removeHandler(this);
    }

    @Override
    public void publish(LogRecord record) {
      records.add(record);
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}

    List<String> at(Level level) {
      List<String> lines = new ArrayList<>();
      for (LogRecord record : records) {
        if (record.getLevel().equals(level)) {
          lines.add(formatter.formatMessage(record));
        }
      }
      return lines;
    }

    List<String> all() {
      List<String> lines = new ArrayList<>();
      for (LogRecord record : records) {
        lines.add(formatter.formatMessage(record));
      }
      return lines;
    }
  }
}
