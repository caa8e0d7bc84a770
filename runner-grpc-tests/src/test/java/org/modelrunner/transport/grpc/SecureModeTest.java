package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.modelrunner.transport.grpc.SecureVectors.text;

import com.fasterxml.jackson.databind.JsonNode;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.MetadataUtils;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.modelrunner.transport.grpc.proto.CallRequest;
import org.modelrunner.transport.grpc.proto.CallResponse;
import org.modelrunner.transport.grpc.proto.DynamicSubclassServiceGrpc;

/**
 * A runner in secure mode (PROTOCOL-SECURITY §A.4), end to end over TLS on 127.0.0.1 with the
 * vectors' certificates: each {@code runner_verifies_client_cert_hash} record of {@code
 * cases.json}, health, reflection, and the connections refused in the TLS layer.
 */
class SecureModeTest {
  @TempDir Path temp;

  static Stream<Arguments> certificateHashCases() {
    return SecureVectors.cases("runner_verifies_client_cert_hash");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("certificateHashCases")
  void checksTheCoordinatorKeyOnEachCall(String name, JsonNode record) throws Exception {
    JsonNode inputs = record.get("inputs");
    JsonNode expected = record.get("expected_outcome");
    Path credentials = credentialsOf(inputs.get("client_cert_pem").asText());
    SecureMode mode =
        SecureVectors.secureMode()
            .coordinatorCertHash(text(inputs, "COORDINATOR_CERT_HASH"))
            .coordinatorCertHashSecondary(text(inputs, "COORDINATOR_CERT_HASH_SECONDARY"))
            .build();
    assertThat(inputs.get("method").asText()).isEqualTo(SecureVectors.CALL);
    try (GrpcRunner runner = RunnerModels.runner().secureMode(mode).build().start()) {
      ManagedChannel channel =
          SecureVectors.tlsChannel(
              runner.port(), credentials, SecureVectors.file("coordinator/ca.crt"));
      try {
        AtomicReference<Metadata> headers = new AtomicReference<>();
        AtomicReference<Metadata> trailers = new AtomicReference<>();
        DynamicSubclassServiceGrpc.DynamicSubclassServiceBlockingStub stub =
            DynamicSubclassServiceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(20, TimeUnit.SECONDS)
                .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers));
        CallRequest request = CallRequest.newBuilder().setMethodName("answer").build();
        if (expected.get("result").asText().equals("accept")) {
          CallResponse response = stub.call(request);
          // Before Setup: the protocol's own answer, with the identity headers.
          assertThat(response.getStatus().getCode()).isEqualTo("FAILED_PRECONDITION");
          assertIdentityHeaders(headers.get());
          assertThat(expected.get("response_headers_sent").asBoolean()).isTrue();
        } else {
          StatusRuntimeException error =
              org.junit.jupiter.api.Assertions.assertThrows(
                  StatusRuntimeException.class, () -> stub.call(request));
          assertThat(error.getStatus().getCode().value())
              .isEqualTo(expected.get("grpc_status_code").asInt());
          assertThat(error.getStatus().getCode().name())
              .isEqualTo(expected.get("grpc_status").asText());
          assertThat(error.getStatus().getDescription())
              .isEqualTo(expected.get("grpc_details").asText());
          // Trailers-only: no response headers at all.
          assertThat(headers.get()).isNull();
          assertThat(expected.get("response_headers_sent").asBoolean()).isFalse();
        }
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void healthCheckIsCheckedAndAnsweredWithTheHeaders() throws Exception {
    try (GrpcRunner runner =
        RunnerModels.runner().secureMode(SecureVectors.secureMode().build()).build().start()) {
      ManagedChannel good = SecureVectors.coordinatorChannel(runner.port(), "coordinator");
      ManagedChannel unregistered =
          SecureVectors.coordinatorChannel(runner.port(), "coordinator_unregistered");
      try {
        AtomicReference<Metadata> headers = new AtomicReference<>();
        ServingStatus status =
            HealthGrpc.newBlockingStub(good)
                .withDeadlineAfter(20, TimeUnit.SECONDS)
                .withInterceptors(
                    MetadataUtils.newCaptureMetadataInterceptor(headers, new AtomicReference<>()))
                .check(HealthCheckRequest.getDefaultInstance())
                .getStatus();
        assertThat(status).isEqualTo(ServingStatus.SERVING);
        assertIdentityHeaders(headers.get());

        Status refused =
            RunnerClient.grpcError(
                () ->
                    HealthGrpc.newBlockingStub(unregistered)
                        .withDeadlineAfter(20, TimeUnit.SECONDS)
                        .check(HealthCheckRequest.getDefaultInstance()));
        assertThat(refused.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
        assertThat(refused.getDescription()).isEqualTo(CoordinatorCertificateCheck.HASH_MISMATCH);
      } finally {
        good.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        unregistered.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void anErrorFromTheRunnerArrivesWithTheHeaders() throws Exception {
    org.modelrunner.testsupport.Gate.arm();
    java.util.concurrent.ExecutorService background =
        java.util.concurrent.Executors.newSingleThreadExecutor();
    try (GrpcRunner runner =
        RunnerModels.runner().secureMode(SecureVectors.secureMode().build()).build().start()) {
      ManagedChannel channel = SecureVectors.coordinatorChannel(runner.port(), "coordinator");
      try {
        DynamicSubclassServiceGrpc.DynamicSubclassServiceBlockingStub stub =
            DynamicSubclassServiceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(20, TimeUnit.SECONDS);
        stub.setup(
            org.modelrunner.transport.grpc.proto.SetupRequest.newBuilder()
                .setClassName(RunnerModels.BASE)
                .build());
        java.util.concurrent.Future<CallResponse> held =
            background.submit(
                () -> stub.call(CallRequest.newBuilder().setMethodName("hold").build()));
        assertThat(org.modelrunner.testsupport.Gate.awaitEntered()).isTrue();
        AtomicReference<Metadata> headers = new AtomicReference<>();
        Status busy =
            RunnerClient.grpcError(
                () ->
                    stub.withInterceptors(
                            MetadataUtils.newCaptureMetadataInterceptor(
                                headers, new AtomicReference<>()))
                        .call(CallRequest.newBuilder().setMethodName("answer").build()));
        assertThat(busy.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(busy.getDescription()).isEqualTo("Server busy");
        assertIdentityHeaders(headers.get());
        org.modelrunner.testsupport.Gate.open();
        assertThat(held.get(20, TimeUnit.SECONDS).getStatus().getCode()).isEqualTo("SUCCESS");
      } finally {
        org.modelrunner.testsupport.Gate.open();
        background.shutdownNow();
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void reflectionIsHeldToTheCoordinatorKey() throws Exception {
    try (GrpcRunner runner =
        RunnerModels.runner().secureMode(SecureVectors.secureMode().build()).build().start()) {
      ManagedChannel good = SecureVectors.coordinatorChannel(runner.port(), "coordinator");
      ManagedChannel unregistered =
          SecureVectors.coordinatorChannel(runner.port(), "coordinator_unregistered");
      try {
        assertThat(listServices(good).get(20, TimeUnit.SECONDS).hasListServicesResponse()).isTrue();
        assertThatThrownBy(() -> listServices(unregistered).get(20, TimeUnit.SECONDS))
            .cause()
            .isInstanceOf(StatusRuntimeException.class)
            .hasMessage("UNAUTHENTICATED: " + CoordinatorCertificateCheck.HASH_MISMATCH);
      } finally {
        good.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        unregistered.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void connectionsWithoutAnAcceptedClientCertificateFailBeforeAnyCall() throws Exception {
    Path otherAuthority = Files.createDirectories(temp.resolve("other-ca"));
    for (String name : new String[] {"tls.crt", "tls.key", "cruncher_msg.json"}) {
      Files.copy(SecureVectors.file("cruncher/" + name), otherAuthority.resolve(name));
    }
    // An authority that did not issue the coordinator's certificate.
    Files.copy(
        SecureVectors.file("cruncher/tls.crt"),
        otherAuthority.resolve("ca.crt"),
        StandardCopyOption.REPLACE_EXISTING);
    for (SecureMode mode :
        new SecureMode[] {
          SecureVectors.secureMode().build(),
          SecureVectors.secureMode().certificatesDirectory(otherAuthority).build()
        }) {
      try (GrpcRunner runner = RunnerModels.runner().secureMode(mode).build().start()) {
        boolean foreignAuthority = mode.certificatesDirectory().equals(otherAuthority);
        ManagedChannel channel =
            SecureVectors.tlsChannel(
                runner.port(),
                foreignAuthority ? SecureVectors.file("coordinator") : null,
                SecureVectors.file("coordinator/ca.crt"));
        try (RunnerClient plaintext = new RunnerClient(runner)) {
          Status noCertificate =
              RunnerClient.grpcError(
                  () ->
                      HealthGrpc.newBlockingStub(channel)
                          .withDeadlineAfter(20, TimeUnit.SECONDS)
                          .check(HealthCheckRequest.getDefaultInstance()));
          assertThat(noCertificate.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
          Status plain = RunnerClient.grpcError(() -> plaintext.health(""));
          assertThat(plain.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        } finally {
          channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
      }
    }
  }

  @Test
  void refusesToBuildWhenAFileIsMissingOrTheMessageFails() throws Exception {
    Path partial = Files.createDirectories(temp.resolve("partial"));
    Files.copy(SecureVectors.file("cruncher/tls.crt"), partial.resolve("tls.crt"));
    assertThatThrownBy(() -> SecureVectors.secureMode().certificatesDirectory(partial).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tls.key is missing");
    assertThatThrownBy(() -> SecureVectors.secureMode().cruncherHotkey("someone-else").build())
        .hasMessageEndingWith("hotkey in payload does not match the expected hotkey");
    assertThatThrownBy(() -> SecureVectors.secureMode().modelId(null).build())
        .hasMessageEndingWith("model_id in payload does not match the expected model_id");
    assertThatThrownBy(() -> SecureVectors.secureMode().cruncherWalletPubkey("").build())
        .hasMessageEndingWith("Wallet pubkey does not match expected crunch wallet");
  }

  @Test
  void secureModeAndGatewayAuthenticationAreExclusive() {
    GatewayAuth gateway =
        GatewayAuth.builder().certFile(SecureVectors.file("gateway/certs.json")).build();
    assertThatThrownBy(
            () ->
                RunnerModels.runner()
                    .secureMode(SecureVectors.secureMode().build())
                    .gatewayAuth(gateway)
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not both");
  }

  /** Asks for the list of services by server reflection. */
  static CompletableFuture<ServerReflectionResponse> listServices(ManagedChannel channel) {
    return GrpcRunnerReflectionTest.askAsync(
        channel, ServerReflectionRequest.newBuilder().setListServices("").build());
  }

  private static void assertIdentityHeaders(Metadata headers) {
    assertThat(headers).as("response headers").isNotNull();
    JsonNode expected = SecureVectors.json("secure_mode.json").get("server_response_headers");
    for (JsonNode pair : expected) {
      assertThat(
              headers.getAll(
                  Metadata.Key.of(pair.get(0).asText(), Metadata.ASCII_STRING_MARSHALLER)))
          .as(pair.get(0).asText())
          .containsExactly(pair.get(1).asText());
    }
  }

  /** The vectors' credentials folder whose {@code tls.crt} is {@code pem}. */
  private static Path credentialsOf(String pem) throws Exception {
    for (String folder : new String[] {"coordinator", "coordinator_unregistered"}) {
      Path directory = SecureVectors.file(folder);
      if (Files.readString(directory.resolve("tls.crt")).strip().equals(pem.strip())) {
        return directory;
      }
    }
    throw new AssertionError("No credentials folder holds the certificate of the case");
  }
}
