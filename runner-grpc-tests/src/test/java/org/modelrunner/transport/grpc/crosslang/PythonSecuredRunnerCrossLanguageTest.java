package org.modelrunner.transport.grpc.crosslang;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.modelrunner.client.CallOutcome;
import org.modelrunner.client.CallStatus;
import org.modelrunner.client.FanOut;
import org.modelrunner.client.FleetEvent;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.testsupport.SharedVectors;
import org.modelrunner.transport.grpc.ClientFleets;
import org.modelrunner.transport.grpc.GatewayCredentials;
import org.modelrunner.transport.grpc.GrpcTransportProvider;
import org.modelrunner.transport.grpc.SecureClientTest;
import org.modelrunner.transport.grpc.SecureCredentials;
import org.modelrunner.transport.grpc.TestCertificates;

/**
 * Our client against Python runners in the ecosystem's secure mode and gateway authentication
 * ({@code src/test/python/serve_secured_model.py}, written from PROTOCOL-SECURITY.md with
 * python3-grpcio and python3-cryptography): a model that connects and answers in each mode, and the
 * refusals on both sides.
 */
class PythonSecuredRunnerCrossLanguageTest {
  private static final String BASE = "crosslang.tracker.TrackerBase";
  private static final String MODEL = "model-42";
  private static final String WALLET = "EQyEkxLVeXfyhdoKMfRACvPBzMNfvHKwKoQSkXkGw1kq";
  private static final String HOTKEY = "HVovGtn9fFX4Uvvru6YwXHnSnxjkbtQbrF4T4YYS4UYD";
  private static final String COORDINATOR_HASH =
      "9367e8c5ed72b2b422326e3b57198b4808460130b0fcdb3db4ede37e90fdad6a";

  @BeforeEach
  void python() {
    PythonPeer.require();
  }

  private static Path vectors() {
    return SharedVectors.path().getParent().resolve("secure");
  }

  private static GrpcTransportProvider secure() {
    return GrpcTransportProvider.builder()
        .secureCredentials(SecureCredentials.fromDirectory(vectors().resolve("coordinator")))
        .build();
  }

  private static ModelEndpoint model(int port) {
    return ClientFleets.model(MODEL, URI.create("grpc://127.0.0.1:" + port), WALLET, HOTKEY);
  }

  private static void assertTicksAndPredicts(ClientFleets fleets) throws Exception {
    FleetEvent connected =
        fleets.next(FleetEvent.Kind.CONNECTED, FleetEvent.Kind.CONNECTION_FAILED);
    assertThat(connected.kind()).as(connected.toString()).isEqualTo(FleetEvent.Kind.CONNECTED);
    assertThat(
            fleets
                .fleet
                .callAndWait(FanOut.of("tick", Map.of("price", 101.5)))
                .outcome(MODEL)
                .orElseThrow()
                .status())
        .isEqualTo(CallStatus.SUCCESS);
    CallOutcome predicted =
        fleets.fleet.callAndWait(FanOut.of("predict")).outcome(MODEL).orElseThrow();
    assertThat(predicted.as(Double.class)).as(predicted.toString()).isEqualTo(101.5);
    assertThat(fleets.reports).isEmpty();
  }

  /**
   * Serves the Python model in secure mode with the vectors' cruncher material, accepting the
   * coordinator whose certificate hash is {@code coordinatorHash}; {@code extra}: the script's
   * further arguments (a case of cases.json whose identity it should present).
   */
  private static PythonPeer.PythonServer serveSecure(String coordinatorHash, String... extra) {
    List<String> args =
        new ArrayList<>(List.of("secure", vectors().resolve("cruncher").toString()));
    args.add(coordinatorHash);
    args.addAll(List.of(extra));
    return PythonPeer.serve("serve_secured_model.py", args.toArray(String[]::new));
  }

  @Test
  void our_secure_client_calls_a_python_runner_in_secure_mode() throws Exception {
    try (PythonPeer.PythonServer server = serveSecure(COORDINATOR_HASH);
        ClientFleets fleets = new ClientFleets(secure(), model(server.port()), BASE)) {
      assertTicksAndPredicts(fleets);
    }
  }

  @Test
  void a_python_runner_whose_identity_names_another_model_is_reported() throws Exception {
    try (PythonPeer.PythonServer server =
        serveSecure(
            COORDINATOR_HASH,
            vectors().resolve("cases.json").toString(),
            "secure.server_identity.wrong_model_id")) {
      SecureClientTest.assertRefusedAtSetup(
          secure(),
          model(server.port()),
          BASE,
          "AUTHENTICATION_FAILED",
          "The model_id in the payload does not match the expected model_id.");
    }
  }

  @Test
  void a_python_runner_that_does_not_know_our_key_refuses_us() throws Exception {
    try (PythonPeer.PythonServer server =
        serveSecure("87145f07b66f1d4d0ad18470dfe03160c0ea6798c8567af5d8ed58f7931818e5")) {
      SecureClientTest.assertRefusedAtSetup(
          secure(),
          model(server.port()),
          BASE,
          "UNAUTHENTICATED",
          "TLS certificate hash does not match registered certificate");
    }
  }

  @Test
  void our_gateway_client_calls_a_python_gateway_runner_with_tokens_and_health_without(
      @TempDir Path temp) throws Exception {
    TestCertificates.Authority authority = TestCertificates.authority("python gateway");
    Path ca = authority.write(temp);
    Path leaf = TestCertificates.leaf(authority, temp.resolve("runner"), true);
    GrpcTransportProvider gateway =
        GrpcTransportProvider.builder()
            .gatewayCredentials(
                GatewayCredentials.fromKeyFile(vectors().resolve("gateway/coordinator_rsa.key")))
            .trustedCertificates(ca)
            .build();
    try (PythonPeer.PythonServer server =
        PythonPeer.serve(
            "serve_secured_model.py",
            "gateway",
            vectors().resolve("gateway/certs.json").toString(),
            leaf.resolve("tls.crt").toString(),
            leaf.resolve("tls.key").toString())) {
      try (ClientFleets fleets = new ClientFleets(gateway, model(server.port()), BASE)) {
        assertTicksAndPredicts(fleets);
      }
      assertThat(server.output())
          .contains(
              "/grpc.health.v1.Health/Check none",
              "/dynamic_subclass.DynamicSubclassService/Setup token",
              "/dynamic_subclass.DynamicSubclassService/Call token")
          .doesNotContain("Health/Check token", "Service/Call none", "Service/Setup none");

      SecureClientTest.assertRefusedAtSetup(
          GrpcTransportProvider.builder()
              .gatewayCredentials(
                  GatewayCredentials.fromKeyFile(vectors().resolve("gateway/unregistered_rsa.key")))
              .trustedCertificates(ca)
              .build(),
          model(server.port()),
          BASE,
          "UNAUTHENTICATED",
          "Gateway authentication failed");
    }
  }
}
