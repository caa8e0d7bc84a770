package org.modelrunner.transport.grpc.crosslang;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.modelrunner.testsupport.SharedVectors;
import org.modelrunner.transport.grpc.GatewayAuth;
import org.modelrunner.transport.grpc.GrpcRunner;

/**
 * A Python gateway-auth coordinator ({@code src/test/python/gateway_client.py}, tokens signed with
 * the {@code cryptography} package at the current time) against our runner with gateway
 * authentication and the vectors' cert file: a fresh token accepted; stale, future, unregistered,
 * other-model and missing tokens refused; health open.
 */
class PythonGatewayCoordinatorCrossLanguageTest {
  @BeforeEach
  void python() {
    PythonPeer.require();
  }

  @Test
  void a_python_gateway_coordinator_talks_to_the_java_runner(@TempDir Path dir) throws Exception {
    Path vectors = SharedVectors.path().getParent().resolve("secure");
    Path submission =
        Sources.create()
            .add("com.example.crosslang.Model", PythonCoordinatorCrossLanguageTest.MODEL)
            .compileTo(dir.resolve("submission"));
    GatewayAuth auth =
        GatewayAuth.builder()
            .certFile(vectors.resolve("gateway/certs.json"))
            .modelId("model-42")
            .build();
    try (GrpcRunner runner =
        GrpcRunner.builder()
            .submission(submission)
            .host("127.0.0.1")
            .port(0)
            .gatewayAuth(auth)
            .build()) {
      runner.start();
      PythonPeer.Finished run =
          PythonPeer.runScript(
              "gateway_client.py", "127.0.0.1:" + runner.port(), vectors.toString());
      assertThat(run.exitCode()).as("gateway_client.py: %s", run).isZero();
      JsonNode out = run.json();
      assertThat(out.get("mismatches")).as("%s", run).isEmpty();
      assertThat(out.at("/results/fresh/status").asText()).isEqualTo("FAILED_PRECONDITION");
      assertThat(out.at("/results/other_model/details").asText())
          .isEqualTo("Gateway authentication failed");
    }
  }
}
