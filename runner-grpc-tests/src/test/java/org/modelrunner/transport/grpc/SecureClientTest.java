package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.modelrunner.client.CallOutcome;
import org.modelrunner.client.CallStatus;
import org.modelrunner.client.FailureCode;
import org.modelrunner.client.FanOut;
import org.modelrunner.client.FanOutResult;
import org.modelrunner.client.FleetEvent;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.TransportException;

/**
 * Our client in secure mode (PROTOCOL-SECURITY §A.5) against our runner in secure mode, end to end
 * over TLS on 127.0.0.1 with the vectors' files: a model that connects and answers, and each way
 * authentication fails, at setup or during a call, reported {@code CONNECTION_FAILED} with its
 * reason.
 */
@Timeout(120)
public class SecureClientTest {
  static final String MODEL = "model-42";
  static final String WALLET = "EQyEkxLVeXfyhdoKMfRACvPBzMNfvHKwKoQSkXkGw1kq";
  static final String HOTKEY = "HVovGtn9fFX4Uvvru6YwXHnSnxjkbtQbrF4T4YYS4UYD";
  static final String OTHER_WALLET = "BPhn3DozhaX4LCiAt2vQScgoivxyEWp9P23KFUS88Req";
  static final String OTHER_HOTKEY = "7EpVUZXPvNsWYnPhbvuNcfcZjsYd6GDUFthoDSBkrU7m";

  private static GrpcRunner runner;

  @TempDir static Path temp;

  @BeforeAll
  static void startRunner() throws IOException {
    runner = RunnerModels.runner().secureMode(SecureVectors.secureMode().build()).build().start();
  }

  @AfterAll
  static void stopRunner() {
    runner.close();
  }

  static GrpcTransportProvider secure() {
    return GrpcTransportProvider.builder()
        .secureCredentials(SecureCredentials.fromDirectory(SecureVectors.file("coordinator")))
        .build();
  }

  @Test
  void connectsAndCallsARunnerInSecureMode() throws Exception {
    try (ClientFleets fleets =
        new ClientFleets(secure(), ClientFleets.model(MODEL, runner.endpoint(), WALLET, HOTKEY))) {
      FleetEvent connected =
          fleets.next(FleetEvent.Kind.CONNECTED, FleetEvent.Kind.CONNECTION_FAILED);
      assertThat(connected.kind()).as(connected.toString()).isEqualTo(FleetEvent.Kind.CONNECTED);
      FanOutResult result = fleets.fleet.callAndWait(FanOut.of("answer"));
      CallOutcome answer = result.outcome(MODEL).orElseThrow();
      assertThat(answer.status()).as(answer.toString()).isEqualTo(CallStatus.SUCCESS);
      assertThat(answer.as(Long.class)).isEqualTo(42L);
      assertThat(fleets.reports).isEmpty();
    }
  }

  @Test
  void aRunnerSignedByAnotherWalletIsReported() throws Exception {
    assertRefusedAtSetup(
        secure(),
        ClientFleets.model(MODEL, runner.endpoint(), OTHER_WALLET, HOTKEY),
        "AUTHENTICATION_FAILED",
        "The provided wallet public key does not match the expected public key.");
  }

  @Test
  void aRunnerWithAnotherHotkeyIsReported() throws Exception {
    assertRefusedAtSetup(
        secure(),
        ClientFleets.model(MODEL, runner.endpoint(), WALLET, OTHER_HOTKEY),
        "AUTHENTICATION_FAILED",
        "Hotkey in the payload does not match the expected hotkey.");
  }

  @Test
  void aRunnerWhoseCertificateNamesAnotherModelIsReported() throws Exception {
    // The runner's certificate is for model-42: the probe for model-43 fails on its name.
    assertRefusedAtSetup(
        secure(),
        ClientFleets.model("model-43", runner.endpoint(), WALLET, HOTKEY),
        "AUTHENTICATION_FAILED",
        "TLS handshake failed to 127.0.0.1:"
            + runner.port()
            + " (server_hostname='model-node-model-43.crunchdao.internal')");
  }

  @Test
  void anUnregisteredCoordinatorIsRefusedByTheRunner() throws Exception {
    Path vectors = SecureVectors.dir();
    assertRefusedAtSetup(
        GrpcTransportProvider.builder()
            .secureCredentials(
                SecureCredentials.fromFiles(
                    vectors.resolve("coordinator/ca.crt"),
                    vectors.resolve("coordinator_unregistered/tls.crt"),
                    vectors.resolve("coordinator_unregistered/tls.key")))
            .build(),
        ClientFleets.model(MODEL, runner.endpoint(), WALLET, HOTKEY),
        "UNAUTHENTICATED",
        "The credentials you are refused by the Model Node => TLS certificate hash does not match"
            + " registered certificate");
  }

  @Test
  void aRunnerCertificateFromAnotherAuthorityIsReported() throws Exception {
    Path other = TestCertificates.authority("another authority").write(temp);
    Path vectors = SecureVectors.dir();
    assertRefusedAtSetup(
        GrpcTransportProvider.builder()
            .secureCredentials(
                SecureCredentials.fromFiles(
                    other,
                    vectors.resolve("coordinator/tls.crt"),
                    vectors.resolve("coordinator/tls.key")))
            .build(),
        ClientFleets.model(MODEL, runner.endpoint(), WALLET, HOTKEY),
        "AUTHENTICATION_FAILED",
        "TLS handshake failed to 127.0.0.1:" + runner.port());
  }

  @Test
  void aRunnerCertificateNamedOnlyByItsCommonNameIsReported() throws Exception {
    // The JDK's name check alone would take the common name when there is no DNS name at all.
    TestCertificates.Authority authority = TestCertificates.authority("common names");
    Path ca = authority.write(temp.resolve("common-name-authority"));
    Path leaf =
        TestCertificates.commonNameOnly(
            authority,
            temp.resolve("common-name-runner"),
            "model-node-" + MODEL + ".crunchdao.internal");
    Path vectors = SecureVectors.dir();
    try (GrpcRunner named =
        RunnerModels.runner()
            .tls(leaf.resolve("tls.crt"), leaf.resolve("tls.key"))
            .build()
            .start()) {
      assertRefusedAtSetup(
          GrpcTransportProvider.builder()
              .secureCredentials(
                  SecureCredentials.fromFiles(
                      ca,
                      vectors.resolve("coordinator/tls.crt"),
                      vectors.resolve("coordinator/tls.key")))
              .build(),
          ClientFleets.model(MODEL, named.endpoint(), WALLET, HOTKEY),
          "AUTHENTICATION_FAILED",
          "the certificate has no DNS subject alternative name");
    }
  }

  @Test
  void aPlaintextRunnerIsReportedBySecureMode() throws Exception {
    try (GrpcRunner plaintext = RunnerModels.started()) {
      assertRefusedAtSetup(
          secure(),
          ClientFleets.model(MODEL, plaintext.endpoint(), WALLET, HOTKEY),
          "AUTHENTICATION_FAILED",
          "TLS handshake failed to 127.0.0.1:" + plaintext.port());
    }
  }

  @Test
  void aPlaintextClientIsToldTheRunnerIsInSecureModeAndReportsNothing() throws Exception {
    try (ClientFleets fleets =
        new ClientFleets(null, ClientFleets.model(MODEL, runner.endpoint(), WALLET, HOTKEY))) {
      FleetEvent failed = fleets.next(FleetEvent.Kind.CONNECTED, FleetEvent.Kind.CONNECTION_FAILED);
      assertThat(failed.kind()).isEqualTo(FleetEvent.Kind.CONNECTION_FAILED);
      assertThat(failed.code()).isEqualTo(TransportException.Kind.CREDENTIALS_REQUIRED.name());
      assertThat(failed.reason())
          .contains(
              "The Model Nodes are in secure mode and credentials were not provided for"
                  + " connection.");
      // The coordinator's own error: the model is not reported (the orchestrator would stop it).
      assertThat(fleets.reports).isEmpty();
    }
  }

  @Test
  void anIdentityThatFailsDuringACallIsOneFailureThenTheModelIsReported() throws Exception {
    JsonNode valid = SecureVectors.json("secure_mode.json").get("server_response_headers");
    AtomicReference<Metadata> identity = new AtomicReference<>(SecureVectors.metadata(valid));
    // Our runner in plain TLS with the vectors' files, sending the identity this test chooses.
    ServerInterceptor headers =
        new ServerInterceptor() {
          @Override
          public <Q, R> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, R> call, Metadata requestHeaders, ServerCallHandler<Q, R> next) {
            return next.startCall(
                new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                  @Override
                  public void sendHeaders(Metadata responseHeaders) {
                    responseHeaders.merge(identity.get());
                    super.sendHeaders(responseHeaders);
                  }
                },
                requestHeaders);
          }
        };
    Path cruncher = SecureVectors.file("cruncher");
    try (GrpcRunner emulated =
            RunnerModels.runner()
                .tls(cruncher.resolve("tls.crt"), cruncher.resolve("tls.key"))
                .tlsClientAuthority(cruncher.resolve("ca.crt"))
                .interceptor(headers)
                .build()
                .start();
        ClientFleets fleets =
            new ClientFleets(
                secure(), ClientFleets.model(MODEL, emulated.endpoint(), WALLET, HOTKEY))) {
      assertThat(fleets.next(FleetEvent.Kind.CONNECTED, FleetEvent.Kind.CONNECTION_FAILED).kind())
          .isEqualTo(FleetEvent.Kind.CONNECTED);
      assertThat(
              fleets.fleet.callAndWait(FanOut.of("answer")).outcome(MODEL).orElseThrow().status())
          .isEqualTo(CallStatus.SUCCESS);

      JsonNode tampered = SecureVectors.caseRecord("secure.server_identity.bad_signature");
      identity.set(SecureVectors.metadata(tampered.get("inputs").get("response_headers")));
      FanOutResult result = fleets.fleet.callAndWait(FanOut.of("answer"));
      assertThat(result.size()).isEqualTo(1);
      CallOutcome failed = result.outcome(MODEL).orElseThrow();
      assertThat(failed.status()).isEqualTo(CallStatus.FAILURE);
      assertThat(failed.failure().orElseThrow().code()).isEqualTo("AUTHENTICATION_FAILED");
      assertThat(failed.failure().orElseThrow().message()).endsWith("Invalid wallet signature");

      FleetEvent disconnected = fleets.next(FleetEvent.Kind.DISCONNECTED);
      assertThat(disconnected.code()).isEqualTo(FailureCode.CONNECTION_FAILED.name());
      assertThat(disconnected.reason()).contains("Invalid wallet signature");
      ClientFleets.Report report = fleets.report();
      assertThat(report.code()).isEqualTo("CONNECTION_FAILED");
      assertThat(report.reason()).contains("Invalid wallet signature");
      assertThat(fleets.fleet.connectedModelIds()).isEmpty();
      assertThat(fleets.fleet.callAndWait(FanOut.of("answer")).size()).isZero();
    }
  }

  @Test
  void missingIdentityHeadersFailTheSetup() throws Exception {
    Path cruncher = SecureVectors.file("cruncher");
    try (GrpcRunner withoutIdentity =
        RunnerModels.runner()
            .tls(cruncher.resolve("tls.crt"), cruncher.resolve("tls.key"))
            .tlsClientAuthority(cruncher.resolve("ca.crt"))
            .build()
            .start()) {
      assertRefusedAtSetup(
          secure(),
          ClientFleets.model(MODEL, withoutIdentity.endpoint(), WALLET, HOTKEY),
          "AUTHENTICATION_FAILED",
          "Missing auth metadata"
              + " (x-server-auth-message/x-server-auth-signature/x-server-wallet-pubkey)");
    }
  }

  /**
   * The model never connects: one {@code CONNECTION_FAILED} event and one report, at once (not
   * retried), whose reason names the kind and the protocol's message.
   */
  public static void assertRefusedAtSetup(
      GrpcTransportProvider transport, ModelEndpoint endpoint, String kind, String message)
      throws Exception {
    assertRefusedAtSetup(transport, endpoint, RunnerModels.BASE, kind, message);
  }

  /** As {@link #assertRefusedAtSetup(GrpcTransportProvider, ModelEndpoint, String, String)}. */
  public static void assertRefusedAtSetup(
      GrpcTransportProvider transport,
      ModelEndpoint endpoint,
      String baseClass,
      String kind,
      String message)
      throws Exception {
    long start = System.nanoTime();
    try (ClientFleets fleets = new ClientFleets(transport, endpoint, baseClass)) {
      FleetEvent failed = fleets.next(FleetEvent.Kind.CONNECTED, FleetEvent.Kind.CONNECTION_FAILED);
      assertThat(failed.kind()).as(failed.toString()).isEqualTo(FleetEvent.Kind.CONNECTION_FAILED);
      assertThat(failed.code()).isEqualTo(FailureCode.CONNECTION_FAILED.name());
      assertThat(failed.reason()).contains(kind, message);
      ClientFleets.Report report = fleets.report();
      assertThat(report.modelId()).isEqualTo(endpoint.modelId());
      assertThat(report.code()).isEqualTo("CONNECTION_FAILED");
      assertThat(report.reason()).isEqualTo(failed.reason());
      assertThat(fleets.fleet.connectedModelIds()).isEmpty();
    }
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
  }
}
