package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.modelrunner.client.FanOut;
import org.modelrunner.client.FleetEvent;
import org.modelrunner.spi.ModelEndpoint;

/**
 * Our client with gateway credentials (PROTOCOL-SECURITY §B.2) against our runner with gateway
 * authentication, which here terminates TLS itself (a certificate for 127.0.0.1 made at test time):
 * the tokens on every call and none on health, and the tokens the runner refuses (an unknown key, a
 * stale or future timestamp, another model), each reported {@code CONNECTION_FAILED} at once.
 */
@Timeout(120)
class GatewayClientTest {
  private static final String MODEL = "model-42";

  @TempDir static Path temp;

  private static GrpcRunner runner;
  private static Path authority;

  /** The metadata of the requests the runner received, by method. */
  private static final Map<String, List<Metadata>> received = new ConcurrentHashMap<>();

  @BeforeAll
  static void startRunner() throws IOException {
    TestCertificates.Authority ca = TestCertificates.authority("gateway test authority");
    authority = ca.write(temp);
    Path leaf = TestCertificates.leaf(ca, temp.resolve("runner"), true);
    ServerInterceptor recorder =
        new ServerInterceptor() {
          @Override
          public <Q, R> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            received
                .computeIfAbsent(
                    call.getMethodDescriptor().getFullMethodName(),
                    method -> new CopyOnWriteArrayList<>())
                .add(headers);
            return next.startCall(call, headers);
          }
        };
    runner =
        RunnerModels.runner()
            .gatewayAuth(
                GatewayAuth.builder()
                    .certFile(SecureVectors.file("gateway/certs.json"))
                    .modelId(MODEL)
                    .build())
            .tls(leaf.resolve("tls.crt"), leaf.resolve("tls.key"))
            .interceptor(recorder)
            .build()
            .start();
  }

  @AfterAll
  static void stopRunner() {
    runner.close();
  }

  private static GrpcTransportProvider gateway(GatewayCredentials credentials) {
    return GrpcTransportProvider.builder()
        .gatewayCredentials(credentials)
        .trustedCertificates(authority)
        .build();
  }

  private static GatewayCredentials coordinator() {
    return GatewayCredentials.fromKeyFile(SecureVectors.file("gateway/coordinator_rsa.key"));
  }

  private static ModelEndpoint model(String id) {
    return ClientFleets.model(id, runner.endpoint(), null, null);
  }

  @Test
  void everyCallCarriesAFreshTokenAndHealthChecksNone() throws Exception {
    received.clear();
    long before = Instant.now().getEpochSecond();
    try (ClientFleets fleets = new ClientFleets(gateway(coordinator()), model(MODEL))) {
      FleetEvent connected =
          fleets.next(FleetEvent.Kind.CONNECTED, FleetEvent.Kind.CONNECTION_FAILED);
      assertThat(connected.kind()).as(connected.toString()).isEqualTo(FleetEvent.Kind.CONNECTED);
      assertThat(
              fleets
                  .fleet
                  .callAndWait(FanOut.of("answer"))
                  .outcome(MODEL)
                  .orElseThrow()
                  .as(Long.class))
          .isEqualTo(42L);
    }
    long after = Instant.now().getEpochSecond();
    List<Metadata> health = received.get("grpc.health.v1.Health/Check");
    assertThat(health).isNotEmpty();
    for (Metadata headers : health) {
      assertThat(headers.get(GatewayCredentials.MESSAGE)).isNull();
      assertThat(headers.get(GatewayCredentials.SIGNATURE)).isNull();
      assertThat(headers.get(GatewayCredentials.PUBKEY)).isNull();
    }
    for (String method :
        List.of(
            "dynamic_subclass.DynamicSubclassService/Setup",
            "dynamic_subclass.DynamicSubclassService/Call")) {
      Metadata headers = received.get(method).get(0);
      String payload =
          new String(
              Base64.getDecoder().decode(headers.get(GatewayCredentials.MESSAGE)),
              StandardCharsets.US_ASCII);
      JsonNode token = SecureVectors.JSON.readTree(payload);
      assertThat(payload)
          .isEqualTo(
              "{\"model_id\":\"model-42\",\"timestamp\":" + token.get("timestamp").asLong() + "}");
      assertThat(token.get("timestamp").asLong()).isBetween(before, after);
      assertThat(headers.get(GatewayCredentials.PUBKEY))
          .isEqualTo(
              SecureVectors.json("gateway_auth.json")
                  .get("request_headers")
                  .get(2)
                  .get(1)
                  .asText());
    }
  }

  @Test
  void anUnknownKeyIsRefusedAndReported() throws Exception {
    assertRefused(
        GatewayCredentials.fromKeyFile(SecureVectors.file("gateway/unregistered_rsa.key")), MODEL);
  }

  @Test
  void aStaleTokenIsRefusedAndReported() throws Exception {
    assertRefused(coordinator().withClock(offset(Duration.ofSeconds(-45))), MODEL);
  }

  @Test
  void aTokenFromTheFutureIsRefusedAndReported() throws Exception {
    assertRefused(coordinator().withClock(offset(Duration.ofSeconds(20))), MODEL);
  }

  @Test
  void aTokenForAnotherModelIsRefusedAndReported() throws Exception {
    assertRefused(coordinator(), "model-43");
  }

  private static Clock offset(Duration offset) {
    return Clock.offset(Clock.system(ZoneOffset.UTC), offset);
  }

  private static void assertRefused(GatewayCredentials credentials, String modelId)
      throws Exception {
    SecureClientTest.assertRefusedAtSetup(
        gateway(credentials), model(modelId), "UNAUTHENTICATED", "Gateway authentication failed");
  }
}
