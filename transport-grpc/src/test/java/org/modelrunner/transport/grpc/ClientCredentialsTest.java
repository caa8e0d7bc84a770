package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Metadata;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.TransportSettings;
import org.modelrunner.testsupport.SharedVectors;

/**
 * The client's credentials against the vectors of {@code ../shared/vectors/secure/}: gateway tokens
 * byte for byte (payload, RSA signature, public key), keys in PKCS#8 and PKCS#1, the checks of the
 * files, and the transport builder's refusals.
 */
class ClientCredentialsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path temp;

  static Path vectors() {
    return SharedVectors.path().getParent().resolve("secure");
  }

  static JsonNode gatewayVector() throws IOException {
    return JSON.readTree(vectors().resolve("gateway_auth.json").toFile());
  }

  @Test
  void aGatewayTokenIsTheVectorsByteForByte() throws IOException {
    JsonNode vector = gatewayVector();
    GatewayCredentials credentials =
        GatewayCredentials.fromKeyFile(vectors().resolve("gateway/coordinator_rsa.key"));
    byte[] payload =
        GatewayCredentials.payload(
            vector.get("model_id").asText(), vector.get("timestamp").asLong());
    assertThat(new String(payload, StandardCharsets.US_ASCII))
        .isEqualTo(vector.get("payload_json_text").asText());
    assertThat(HexFormat.of().formatHex(payload))
        .isEqualTo(vector.get("payload_bytes_hex").asText());
    Metadata token = credentials.token("model-42", vector.get("timestamp").asLong());
    JsonNode expected = vector.get("request_headers");
    assertThat(expected.get(0).get(0).asText()).isEqualTo("x-gateway-auth-message");
    assertThat(token.get(GatewayCredentials.MESSAGE)).isEqualTo(expected.get(0).get(1).asText());
    assertThat(expected.get(1).get(0).asText()).isEqualTo("x-gateway-auth-signature");
    assertThat(token.get(GatewayCredentials.SIGNATURE)).isEqualTo(expected.get(1).get(1).asText());
    assertThat(expected.get(2).get(0).asText()).isEqualTo("x-gateway-auth-pubkey");
    assertThat(token.get(GatewayCredentials.PUBKEY)).isEqualTo(expected.get(2).get(1).asText());
    assertThat(credentials.publicKeyHash())
        .isEqualTo(vector.get("pubkey_spki_sha256_hex").asText());
    assertThat(token.keys())
        .containsExactlyInAnyOrder(
            "x-gateway-auth-message", "x-gateway-auth-signature", "x-gateway-auth-pubkey");
  }

  @Test
  void aChannelSignsOneTokenPerSecondAndModel() {
    AtomicLong millis = new AtomicLong(1_767_225_600_000L);
    Clock clock =
        new Clock() {
          @Override
          public ZoneId getZone() {
            return ZoneOffset.UTC;
          }

          @Override
          public Clock withZone(ZoneId zone) {
            return this;
          }

          @Override
          public Instant instant() {
            return Instant.ofEpochMilli(millis.get());
          }
        };
    GatewayTokens tokens =
        new GatewayTokens(
            GatewayCredentials.fromKeyFile(vectors().resolve("gateway/coordinator_rsa.key"))
                .withClock(clock));
    Metadata first = tokens.token("model-42");
    millis.addAndGet(999);
    assertThat(tokens.token("model-42")).isSameAs(first);
    assertThat(tokens.token("model-43")).isNotSameAs(first);
    millis.addAndGet(1);
    Metadata next = tokens.token("model-42");
    assertThat(payload(next)).isEqualTo("{\"model_id\":\"model-42\",\"timestamp\":1767225601}");
    assertThat(payload(first)).isEqualTo("{\"model_id\":\"model-42\",\"timestamp\":1767225600}");
  }

  private static String payload(Metadata token) {
    return new String(
        Base64.getDecoder().decode(token.get(GatewayCredentials.MESSAGE)),
        StandardCharsets.US_ASCII);
  }

  @Test
  void theRunnersIdentityIsCheckedAgainWhenItChanges() throws IOException {
    JsonNode cases = JSON.readTree(vectors().resolve("cases.json").toFile());
    ServerIdentityCheck check = null;
    Metadata valid = null;
    Metadata tampered = null;
    for (JsonNode record : cases) {
      JsonNode inputs = record.get("inputs");
      String name = record.get("name").asText();
      if (!name.equals("secure.server_identity.valid")
          && !name.equals("secure.server_identity.bad_signature")) {
        continue;
      }
      Metadata headers = new Metadata();
      for (JsonNode pair : inputs.get("response_headers")) {
        headers.put(
            Metadata.Key.of(pair.get(0).asText(), Metadata.ASCII_STRING_MARSHALLER),
            pair.get(1).asText());
      }
      if (check == null) {
        byte[] spki =
            Pem.certificates(inputs.get("probed_server_cert_pem").asText().getBytes(), name)
                .get(0)
                .getPublicKey()
                .getEncoded();
        check =
            new ServerIdentityCheck(
                inputs.get("expected_wallet_pubkey_b58").asText(),
                spki,
                inputs.get("expected_model_id").asText(),
                inputs.get("expected_hotkey").asText());
      }
      if (name.endsWith(".valid")) {
        valid = headers;
      } else {
        tampered = headers;
      }
    }
    assertThat(check.refusal(valid)).isNull();
    assertThat(check.refusal(valid)).isNull();
    assertThat(check.refusal(tampered)).isEqualTo("Invalid wallet signature");
    assertThat(check.refusal(new Metadata()))
        .isEqualTo(
            "Missing auth metadata"
                + " (x-server-auth-message/x-server-auth-signature/x-server-wallet-pubkey)");
    assertThat(check.refusal(valid)).isNull();
  }

  @Test
  void aPkcs1KeySignsTheSameTokenAsItsPkcs8Form() throws IOException {
    JsonNode vector = gatewayVector();
    String pkcs8 = Files.readString(vectors().resolve("gateway/coordinator_rsa.key"));
    assertThat(pkcs8).contains("BEGIN PRIVATE KEY");
    String pkcs1 = pkcs1Pem(pkcs8);
    GatewayCredentials credentials = GatewayCredentials.fromPem(pkcs1);
    assertThat(
            credentials
                .token("model-42", vector.get("timestamp").asLong())
                .get(GatewayCredentials.SIGNATURE))
        .isEqualTo(vector.get("request_headers").get(1).get(1).asText());
  }

  @Test
  void aPayloadEscapesWhatIsNotAsciiAsPythonDoes() {
    assertThat(
            new String(
                GatewayCredentials.payload("mod\u00e8le \"q\"", 7), StandardCharsets.US_ASCII))
        .isEqualTo("{\"model_id\":\"mod\\u00e8le \\\"q\\\"\",\"timestamp\":7}");
  }

  @Test
  void onlyRsaKeysMakeGatewayCredentials() throws Exception {
    byte[] der =
        KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPrivate().getEncoded();
    String pem =
        "-----BEGIN PRIVATE KEY-----\n"
            + Base64.getMimeEncoder().encodeToString(der)
            + "\n-----END PRIVATE KEY-----\n";
    assertThatThrownBy(() -> GatewayCredentials.fromPem(pem))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Only RSA keys are supported, got EdDSA");
    assertThatThrownBy(() -> GatewayCredentials.fromPem("no key"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("holds no PEM private key");
  }

  @Test
  void secureCredentialsNameWhatIsWrongWithTheirFiles() throws IOException {
    Path coordinator = vectors().resolve("coordinator");
    SecureCredentials credentials = SecureCredentials.fromDirectory(coordinator);
    assertThat(credentials.toString())
        .contains("9367e8c5ed72b2b422326e3b57198b4808460130b0fcdb3db4ede37e90fdad6a");
    assertThatThrownBy(() -> SecureCredentials.fromDirectory(temp))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(temp.resolve("ca.crt") + " is missing");
    assertThatThrownBy(
            () ->
                SecureCredentials.fromFiles(
                    coordinator.resolve("ca.crt"),
                    coordinator.resolve("tls.crt"),
                    vectors().resolve("coordinator_unregistered/tls.key")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is not the key of the certificate");
  }

  @Test
  void secureAndGatewayCredentialsTogetherAreRefusedWhenTheProviderIsBuilt() {
    GrpcTransportProvider.Builder both =
        GrpcTransportProvider.builder()
            .secureCredentials(SecureCredentials.fromDirectory(vectors().resolve("coordinator")))
            .gatewayCredentials(
                GatewayCredentials.fromKeyFile(vectors().resolve("gateway/coordinator_rsa.key")));
    assertThatThrownBy(both::build)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("secure credentials and gateway credentials are mutually exclusive");
    assertThatThrownBy(
            () ->
                GrpcTransportProvider.builder()
                    .secureCredentials(
                        SecureCredentials.fromDirectory(vectors().resolve("coordinator")))
                    .tls()
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("bring their own trust");
  }

  @Test
  void aTransportThatAuthenticatesPerModelNeedsTheModelsEndpoint() {
    GrpcTransportProvider gateway =
        GrpcTransportProvider.builder()
            .gatewayCredentials(
                GatewayCredentials.fromKeyFile(vectors().resolve("gateway/coordinator_rsa.key")))
            .build();
    assertThat(gateway.toString()).contains("gateway authentication");
    try (ModelTransport transport = gateway.create(TransportSettings.defaults())) {
      assertThatThrownBy(() -> transport.connect(URI.create("grpc://127.0.0.1:1")))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("connect with the model's ModelEndpoint");
    }
  }

  /** The PKCS#1 form of a PKCS#8 RSA key: the OCTET STRING inside its PrivateKeyInfo. */
  private static String pkcs1Pem(String pkcs8Pem) {
    String body = pkcs8Pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    byte[] der = Base64.getDecoder().decode(body);
    int at = 0;
    at = skipHeader(der, at); // PrivateKeyInfo SEQUENCE
    at = skipElement(der, at); // version
    at = skipElement(der, at); // algorithm
    int contentStart = skipHeader(der, at); // OCTET STRING
    byte[] pkcs1 = Arrays.copyOfRange(der, contentStart, der.length);
    return "-----BEGIN RSA PRIVATE KEY-----\n"
        + Base64.getMimeEncoder().encodeToString(pkcs1)
        + "\n-----END RSA PRIVATE KEY-----\n";
  }

  private static int skipHeader(byte[] der, int at) {
    int length = der[at + 1] & 0xff;
    return at + 2 + ((length & 0x80) != 0 ? length & 0x7f : 0);
  }

  private static int skipElement(byte[] der, int at) {
    int first = der[at + 1] & 0xff;
    int length = first;
    int header = 2;
    if ((first & 0x80) != 0) {
      int bytes = first & 0x7f;
      length = 0;
      for (int i = 0; i < bytes; i++) {
        length = (length << 8) | (der[at + 2 + i] & 0xff);
      }
      header += bytes;
    }
    return at + header + length;
  }
}
