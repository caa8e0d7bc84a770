package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.stub.MetadataUtils;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.modelrunner.testsupport.LogCapture;
import org.modelrunner.transport.grpc.proto.CallRequest;
import org.modelrunner.transport.grpc.proto.DynamicSubclassServiceGrpc;

/**
 * Gateway authentication (PROTOCOL-SECURITY §B.3), end to end on a plaintext runner on 127.0.0.1:
 * each {@code runner_verifies_gateway_token} record of {@code cases.json} at its {@code now}, with
 * its exact status and logged reason; the model id check this runner adds; the cert file's refresh.
 */
class GatewayAuthTest {
  @TempDir Path temp;

  private LogCapture checkLog;
  private LogCapture authLog;

  @BeforeEach
  void captureLogs() {
    checkLog = LogCapture.start(GatewayTokenCheck.class.getName(), Level.WARNING);
    authLog = LogCapture.start(GatewayAuth.class.getName(), Level.WARNING);
  }

  @AfterEach
  void releaseLogs() {
    checkLog.close();
    authLog.close();
  }

  /** What the token check and the cert file's refresh logged, at WARNING, during the test. */
  private List<String> logged() {
    return Stream.concat(checkLog.messages().stream(), authLog.messages().stream()).toList();
  }

  static Stream<Arguments> tokenCases() {
    return SecureVectors.cases("runner_verifies_gateway_token");
  }

  /** As the Python runner: {@code model_id} not checked, so every outcome is the vector's. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("tokenCases")
  void checksTheTokenAsThePythonRunner(String name, JsonNode record) throws Exception {
    JsonNode inputs = record.get("inputs");
    JsonNode expected = record.get("expected_outcome");
    GatewayAuth auth =
        GatewayAuth.builder()
            .certFile(certFile(inputs.get("certs_json")))
            .modelId("model-42")
            .checkModelId(false)
            .clock(InstantSource.fixed(Instant.ofEpochSecond(inputs.get("now").asLong())))
            .build();
    Status status = call(auth, inputs.get("method").asText(), inputs.get("request_headers"));
    if (expected.get("result").asText().equals("accept")) {
      assertThat(status.getCode()).as("%s", status).isEqualTo(Status.Code.OK);
      assertThat(logged()).noneMatch(line -> line.startsWith("Gateway auth failed"));
    } else {
      assertThat(status.getCode().name()).isEqualTo(expected.get("grpc_status").asText());
      assertThat(status.getCode().value()).isEqualTo(expected.get("grpc_status_code").asInt());
      assertThat(status.getDescription()).isEqualTo(expected.get("grpc_details").asText());
      assertThat(logged())
          .contains(
              "Gateway auth failed on "
                  + inputs.get("method").asText()
                  + ": "
                  + expected.get("runner_log_reason").asText());
    }
  }

  /** By default this runner also refuses a token made for another model. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("tokenCases")
  void checksTheModelIdByDefault(String name, JsonNode record) throws Exception {
    JsonNode inputs = record.get("inputs");
    boolean accepted = record.get("expected_outcome").get("result").asText().equals("accept");
    GatewayAuth auth =
        GatewayAuth.builder()
            .certFile(certFile(inputs.get("certs_json")))
            .modelId("model-42")
            .clock(InstantSource.fixed(Instant.ofEpochSecond(inputs.get("now").asLong())))
            .build();
    Status status = call(auth, inputs.get("method").asText(), inputs.get("request_headers"));
    if (name.equals("gateway.wrong_model_id")) {
      assertThat(status.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(status.getDescription()).isEqualTo(GatewayTokenCheck.FAILED);
      assertThat(logged())
          .contains(
              "Gateway auth failed on "
                  + SecureVectors.CALL
                  + ": Token model_id \"model-43\" is not this runner's model id \"model-42\"");
    } else {
      assertThat(status.getCode() == Status.Code.OK).as("%s", status).isEqualTo(accepted);
    }
  }

  @Test
  void theExampleTokenIsTheVectors() throws Exception {
    JsonNode vector = SecureVectors.json("gateway_auth.json");
    Metadata headers = SecureVectors.metadata(vector.get("request_headers"));
    GatewayAuth auth =
        GatewayAuth.builder()
            .certFile(SecureVectors.file("gateway/certs.json"))
            .modelId(vector.get("model_id").asText())
            .clock(InstantSource.fixed(Instant.ofEpochSecond(vector.get("timestamp").asLong())))
            .build();
    assertThat(new GatewayTokenCheck(auth).reason(SecureVectors.CALL, headers)).isNull();
    assertThat(
            Pem.sha256Hex(
                java.util.Base64.getDecoder().decode(headers.get(GatewayTokenCheck.PUBKEY))))
        .isEqualTo(vector.get("pubkey_spki_sha256_hex").asText());
    assertThat(GatewayAuth.MAX_AGE.toSeconds()).isEqualTo(vector.get("max_age_seconds").asLong());
    assertThat(GatewayAuth.MAX_FUTURE_SKEW.toSeconds())
        .isEqualTo(vector.get("max_future_skew_seconds").asLong());
  }

  @Test
  void theCertFileIsReadAgainEvery30SecondsAndKeptWhenARereadFails() throws Exception {
    Path file = temp.resolve("certs.json");
    Files.writeString(file, "{\"cert_hashes\": [\"AA\"]}");
    AtomicLong millis = new AtomicLong(1_000_000);
    GatewayAuth auth =
        GatewayAuth.builder()
            .certFile(file)
            .clock(() -> Instant.ofEpochMilli(millis.get()))
            .build();
    assertThat(auth.allowedHashes()).isEqualTo(Set.of("aa"));

    Files.writeString(
        file, "{\"cert_hashes\": [\"bb\"], \"updated_at\": \"2026-01-01T00:00:00Z\"}");
    millis.addAndGet(29_999);
    assertThat(auth.allowedHashes()).isEqualTo(Set.of("aa"));
    millis.addAndGet(1);
    assertThat(auth.allowedHashes()).isEqualTo(Set.of("bb"));

    Files.writeString(file, "{not json");
    millis.addAndGet(30_000);
    assertThat(auth.allowedHashes()).isEqualTo(Set.of("bb"));
    assertThat(logged()).anyMatch(line -> line.contains("keeping the previous 1 cert hash(es)"));

    // The failed attempt counts: the next re-read waits another 30 s.
    Files.writeString(file, "{\"cert_hashes\": [\"cc\"]}");
    millis.addAndGet(29_999);
    assertThat(auth.allowedHashes()).isEqualTo(Set.of("bb"));
    millis.addAndGet(1);
    assertThat(auth.allowedHashes()).isEqualTo(Set.of("cc"));
  }

  @Test
  void aMissingUnreadableOrEmptyCertFileIsFatalAtStartUp() throws Exception {
    Path missing = temp.resolve("missing.json");
    assertThatThrownBy(() -> GatewayAuth.builder().certFile(missing).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "Cert file not found: "
                + missing
                + " — the host cert poller may not have written it yet");
    Path invalid = Files.writeString(temp.resolve("invalid.json"), "[1, 2");
    assertThatThrownBy(() -> GatewayAuth.builder().certFile(invalid).build())
        .hasMessageStartingWith("Failed to read cert file " + invalid + ": ");
    Path empty = Files.writeString(temp.resolve("empty.json"), "{\"cert_hashes\": []}");
    assertThatThrownBy(() -> GatewayAuth.builder().certFile(empty).build())
        .hasMessage("No cert hashes in " + empty);
    Path none = Files.writeString(temp.resolve("none.json"), "{\"updated_at\": \"x\"}");
    assertThatThrownBy(() -> GatewayAuth.builder().certFile(none).build())
        .hasMessage("No cert hashes in " + none);
  }

  @Test
  void healthIsExemptAndReflectionIsNot() throws Exception {
    GatewayAuth auth =
        GatewayAuth.builder().certFile(SecureVectors.file("gateway/certs.json")).build();
    try (GrpcRunner runner = RunnerModels.runner().gatewayAuth(auth).build().start();
        RunnerClient client = new RunnerClient(runner)) {
      assertThat(client.health("")).isEqualTo(ServingStatus.SERVING);
      assertThatThrownBy(
              () -> SecureModeTest.listServices(client.channel).get(20, TimeUnit.SECONDS))
          .cause()
          .isInstanceOf(io.grpc.StatusRuntimeException.class)
          .hasMessage("UNAUTHENTICATED: " + GatewayTokenCheck.FAILED);
    }
  }

  private Path certFile(JsonNode certs) throws Exception {
    return Files.writeString(
        Files.createTempFile(temp, "certs", ".json"), SecureVectors.JSON.writeValueAsString(certs));
  }

  /** Calls {@code method} (the protocol's Call or health Check) with the given headers. */
  private static Status call(GatewayAuth auth, String method, JsonNode requestHeaders)
      throws Exception {
    Metadata headers = SecureVectors.metadata(requestHeaders);
    try (GrpcRunner runner = RunnerModels.runner().gatewayAuth(auth).build().start();
        RunnerClient client = new RunnerClient(runner)) {
      try {
        if (method.equals(SecureVectors.CALL)) {
          DynamicSubclassServiceGrpc.newBlockingStub(client.channel)
              .withDeadlineAfter(20, TimeUnit.SECONDS)
              .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
              .call(CallRequest.newBuilder().setMethodName("answer").build());
        } else if (method.equals("/grpc.health.v1.Health/Check")) {
          client
              .health()
              .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
              .check(io.grpc.health.v1.HealthCheckRequest.getDefaultInstance());
        } else {
          throw new AssertionError("A case with an unexpected method: " + method);
        }
        return Status.OK;
      } catch (io.grpc.StatusRuntimeException e) {
        return e.getStatus();
      }
    }
  }
}
