package org.modelrunner.transport.grpc.crosslang;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.modelrunner.testsupport.SharedVectors;
import org.modelrunner.transport.grpc.GrpcRunner;
import org.modelrunner.transport.grpc.SecureMode;

/**
 * A Python secure-mode coordinator ({@code src/test/python/secure_client.py}: Python's {@code ssl},
 * grpcio's TLS and the {@code cryptography} package) against our runner in secure mode with the
 * vectors of {@code ../shared/vectors/secure/}: the TLS probe, the leaf pinned, the identity
 * headers verified on health and a call, an unregistered coordinator refused trailers-only, a
 * plaintext client unable to talk.
 */
class PythonSecureCoordinatorCrossLanguageTest {
  @BeforeEach
  void python() {
    PythonPeer.require();
  }

  @Test
  void a_python_secure_coordinator_talks_to_the_java_runner(@TempDir Path dir) throws Exception {
    Path vectors = SharedVectors.path().getParent().resolve("secure");
    JsonNode env =
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(vectors.resolve("secure_mode.json").toFile())
            .get("runner_env");
    Path submission =
        Sources.create()
            .add("com.example.crosslang.Model", PythonCoordinatorCrossLanguageTest.MODEL)
            .compileTo(dir.resolve("submission"));
    SecureMode mode =
        SecureMode.builder()
            .certificatesDirectory(vectors.resolve("cruncher"))
            .modelId(env.get("MODEL_ID").asText())
            .cruncherWalletPubkey(env.get("CRUNCHER_WALLET_PUBKEY").asText())
            .cruncherHotkey(env.get("CRUNCHER_HOTKEY").asText())
            .coordinatorCertHash(env.get("COORDINATOR_CERT_HASH").asText())
            .build();
    try (GrpcRunner runner =
        GrpcRunner.builder()
            .submission(submission)
            .host("127.0.0.1")
            .port(0)
            .secureMode(mode)
            .build()) {
      runner.start();
      PythonPeer.Finished run =
          PythonPeer.runScript(
              "secure_client.py", "127.0.0.1:" + runner.port(), vectors.toString());
      assertThat(run.exitCode()).as("secure_client.py: %s", run).isZero();
      JsonNode out = run.json();
      assertThat(out.get("mismatches")).as("%s", run).isEmpty();
      assertThat(out.get("ok").asBoolean()).isTrue();
      assertThat(out.at("/results/call/code").asText()).isEqualTo("FAILED_PRECONDITION");
      assertThat(out.at("/results/unregistered/details").asText())
          .isEqualTo("TLS certificate hash does not match registered certificate");
      assertThat(out.at("/results/plaintext").asText()).isEqualTo("UNAVAILABLE");
    }
  }
}
