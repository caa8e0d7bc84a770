package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.modelrunner.transport.grpc.SecureVectors.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.Metadata;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The wallet delegation of PROTOCOL-SECURITY §A.3 against the vectors: every {@code
 * client_verifies_server_identity} record of {@code cases.json} with the client's exact message,
 * the same signed message as a runner's own {@code cruncher_msg.json} with the runner's exact
 * start-up message, and the {@code runner_startup_delegation} record with its exact headers.
 */
class DelegationVectorsTest {
  @TempDir Path temp;

  static Stream<Arguments> serverIdentity() {
    return SecureVectors.cases("client_verifies_server_identity");
  }

  static Stream<Arguments> runnerStartup() {
    return SecureVectors.cases("runner_startup_delegation");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("serverIdentity")
  void clientChecksTheServerIdentityHeaders(String name, JsonNode record) throws Exception {
    JsonNode inputs = record.get("inputs");
    JsonNode expected = record.get("expected_outcome");
    byte[] spki =
        Pem.certificates(inputs.get("probed_server_cert_pem").asText().getBytes(), name)
            .get(0)
            .getPublicKey()
            .getEncoded();
    Metadata headers = SecureVectors.metadata(inputs.get("response_headers"));
    var verification =
        assertThatCode(
            () ->
                Delegation.verifyServerHeaders(
                    headers,
                    inputs.get("expected_wallet_pubkey_b58").asText(),
                    spki,
                    text(inputs, "expected_model_id"),
                    text(inputs, "expected_hotkey")));
    if (expected.get("result").asText().equals("accept")) {
      verification.doesNotThrowAnyException();
    } else {
      verification
          .isInstanceOf(Delegation.Failure.class)
          .hasMessage(expected.get("client_error").asText());
    }
  }

  @ParameterizedTest(name = "{0} as the runner's own message")
  @MethodSource("serverIdentity")
  void runnerRefusesToStartWithTheSameMessage(String name, JsonNode record) throws Exception {
    JsonNode inputs = record.get("inputs");
    JsonNode expected = record.get("expected_outcome");
    boolean accepted = expected.get("result").asText().equals("accept");
    org.junit.jupiter.api.Assumptions.assumeTrue(
        accepted || expected.has("runner_startup_error"),
        "a header missing on the wire: no runner start-up counterpart");
    ObjectNode message = SecureVectors.JSON.createObjectNode();
    for (JsonNode pair : inputs.get("response_headers")) {
      String member =
          switch (pair.get(0).asText()) {
            case "x-server-auth-message" -> "message_b64";
            case "x-server-auth-signature" -> "signature_b64";
            default -> "wallet_pubkey_b58";
          };
      message.put(member, pair.get(1).asText());
    }
    Path directory =
        certificates(inputs.get("probed_server_cert_pem").asText(), message.toPrettyString());
    SecureMode.Builder builder =
        SecureMode.builder()
            .certificatesDirectory(directory)
            .modelId(text(inputs, "expected_model_id"))
            .cruncherWalletPubkey(text(inputs, "expected_wallet_pubkey_b58"))
            .cruncherHotkey(text(inputs, "expected_hotkey"));
    if (accepted) {
      assertThat(builder.build().identityHeaders().get(SecureMode.AUTH_MESSAGE))
          .isEqualTo(message.get("message_b64").asText());
    } else {
      assertThatThrownBy(builder::build)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageEndingWith(
              "cruncher_msg.json fails verification: "
                  + expected.get("runner_startup_error").asText());
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("runnerStartup")
  void runnerStartsAndSendsTheFileVerbatim(String name, JsonNode record) throws Exception {
    JsonNode inputs = record.get("inputs");
    JsonNode env = inputs.get("env");
    Path directory =
        certificates(
            inputs.get("runner_tls_crt_pem").asText(),
            inputs.get("cruncher_msg_json").toPrettyString());
    SecureMode mode =
        SecureMode.builder()
            .certificatesDirectory(directory)
            .modelId(text(env, "MODEL_ID"))
            .cruncherWalletPubkey(text(env, "CRUNCHER_WALLET_PUBKEY"))
            .cruncherHotkey(text(env, "CRUNCHER_HOTKEY"))
            .build();
    assertThat(record.get("expected_outcome").get("result").asText()).isEqualTo("accept");
    assertThat(headerList(mode.identityHeaders()))
        .isEqualTo(headerList(record.get("expected_outcome").get("server_response_headers")));
  }

  @Test
  void theExampleHeadersAreTheFileVerbatim() {
    SecureMode mode = SecureVectors.secureMode().build();
    JsonNode derived = SecureVectors.json("secure_mode.json");
    assertThat(headerList(mode.identityHeaders()))
        .isEqualTo(headerList(derived.get("server_response_headers")));
    assertThat(
            new String(
                java.util.Base64.getDecoder()
                    .decode(mode.identityHeaders().get(SecureMode.AUTH_MESSAGE)),
                StandardCharsets.UTF_8))
        .isEqualTo(derived.get("signed_message_json_text").asText());
  }

  @Test
  void base58MatchesTheWallets() {
    JsonNode wallets = SecureVectors.json("wallets/wallets.json");
    wallets.forEach(
        wallet -> {
          byte[] raw = HexFormat.of().parseHex(wallet.get("public_key_hex").asText());
          assertThat(Base58.encode(raw)).isEqualTo(wallet.get("public_key_b58").asText());
          assertThat(Base58.decode(wallet.get("public_key_b58").asText())).isEqualTo(raw);
        });
    assertThat(Base58.decode("11")).containsExactly(0, 0);
    assertThat(Base58.encode(new byte[] {0, 0, 1})).isEqualTo("112");
    assertThatThrownBy(() -> Base58.decode("0OIl")).hasMessageContaining("Invalid base58");
  }

  @Test
  void theRunnersSpkiHashIsTheVectors() throws Exception {
    JsonNode derived = SecureVectors.json("secure_mode.json");
    assertThat(
            Pem.spkiSha256Hex(
                Pem.certificates(SecureVectors.file("cruncher/tls.crt")).get(0).getPublicKey()))
        .isEqualTo(derived.get("cruncher_spki_sha256_hex").asText());
    assertThat(
            Pem.spkiSha256Hex(
                Pem.certificates(SecureVectors.file("coordinator/tls.crt")).get(0).getPublicKey()))
        .isEqualTo(derived.get("coordinator_spki_sha256_hex").asText());
  }

  private Path certificates(String certificatePem, String message) throws IOException {
    Path directory = Files.createTempDirectory(temp, "certificates");
    Files.writeString(directory.resolve("tls.crt"), certificatePem);
    for (String name : new String[] {"tls.key", "ca.crt"}) {
      Files.copy(
          SecureVectors.file("cruncher/" + name),
          directory.resolve(name),
          StandardCopyOption.REPLACE_EXISTING);
    }
    Files.writeString(directory.resolve("cruncher_msg.json"), message);
    return directory;
  }

  /** The entries, sorted by key: {@link Metadata#keys()} has no order. */
  private static List<List<String>> headerList(Metadata headers) {
    List<List<String>> list = new ArrayList<>();
    for (String key : headers.keys()) {
      for (String value : headers.getAll(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER))) {
        list.add(List.of(key, value));
      }
    }
    list.sort(java.util.Comparator.comparing(entry -> entry.get(0)));
    return list;
  }

  private static List<List<String>> headerList(JsonNode pairs) {
    List<List<String>> list = new ArrayList<>();
    pairs.forEach(pair -> list.add(List.of(pair.get(0).asText(), pair.get(1).asText())));
    list.sort(java.util.Comparator.comparing(entry -> entry.get(0)));
    return list;
  }
}
