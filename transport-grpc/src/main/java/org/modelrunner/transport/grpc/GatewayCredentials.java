package org.modelrunner.transport.grpc;

import io.grpc.Metadata;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.RSAPublicKeySpec;
import java.time.Clock;
import java.util.Base64;
import java.util.Objects;

/**
 * A coordinator's credentials for runners behind an authenticating gateway (PROTOCOL-SECURITY
 * §B.2): an RSA private key (unencrypted PEM, PKCS#8 {@code BEGIN PRIVATE KEY} or PKCS#1 {@code
 * BEGIN RSA PRIVATE KEY}), in practice the coordinator's TLS key, whose public key hash the runners
 * allow. Give them to the gRPC transport with {@link
 * GrpcTransportProvider.Builder#gatewayCredentials}.
 *
 * <p>The transport then speaks TLS to the gateway (the platform's trust, or {@linkplain
 * GrpcTransportProvider.Builder#trustedCertificates a CA bundle}) and adds to every request on the
 * call channel (setup, call, reset) a fresh token: {@code x-gateway-auth-message}, the base64 of
 * {@code {"model_id":"<id>","timestamp":<unix seconds>}}; {@code x-gateway-auth-signature}, its
 * RSASSA-PKCS1-v1_5 SHA-256 signature; {@code x-gateway-auth-pubkey}, the base64 of the key's
 * SubjectPublicKeyInfo. Health checks, on their own channel, carry none, as with the Python client.
 * A runner accepts a token for 30 s: the coordinator's clock must be right within a few seconds.
 * Instances are immutable and thread-safe.
 */
public final class GatewayCredentials {
  static final Metadata.Key<String> MESSAGE =
      Metadata.Key.of("x-gateway-auth-message", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> SIGNATURE =
      Metadata.Key.of("x-gateway-auth-signature", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> PUBKEY =
      Metadata.Key.of("x-gateway-auth-pubkey", Metadata.ASCII_STRING_MARSHALLER);

  private final PrivateKey key;
  private final String publicKeyB64;
  private final String publicKeyHash;
  private final Clock clock;

  private GatewayCredentials(PrivateKey key, byte[] spki, Clock clock) {
    this.key = key;
    this.publicKeyB64 = Base64.getEncoder().encodeToString(spki);
    this.publicKeyHash = Pem.sha256Hex(spki);
    this.clock = clock;
  }

  /**
   * Reads the key from a PEM file (the Python client's {@code from_files} reads only the key too).
   *
   * @throws IllegalArgumentException if the file holds no unencrypted PEM key, or not an RSA key
   *     ({@code "Only RSA keys are supported, got <algorithm>"})
   * @throws UncheckedIOException if it cannot be read
   */
  public static GatewayCredentials fromKeyFile(Path key) {
    Objects.requireNonNull(key, "key");
    try {
      return of(Pem.privateKey(key), key.toString());
    } catch (IOException e) {
      throw new UncheckedIOException("gateway credentials: cannot read " + key, e);
    }
  }

  /**
   * Reads the key from PEM text.
   *
   * @throws IllegalArgumentException if the text holds no unencrypted PEM key, or not an RSA key
   */
  public static GatewayCredentials fromPem(String pem) {
    Objects.requireNonNull(pem, "pem");
    return of(Pem.privateKey(pem, "the gateway key"), "the gateway key");
  }

  private static GatewayCredentials of(PrivateKey key, String source) {
    if (!(key instanceof RSAPrivateCrtKey rsa)) {
      throw new IllegalArgumentException(
          "gateway credentials: "
              + source
              + ": Only RSA keys are supported, got "
              + key.getAlgorithm());
    }
    try {
      byte[] spki =
          KeyFactory.getInstance("RSA")
              .generatePublic(new RSAPublicKeySpec(rsa.getModulus(), rsa.getPublicExponent()))
              .getEncoded();
      return new GatewayCredentials(key, spki, Clock.systemUTC());
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("gateway credentials: " + source + ": " + e, e);
    }
  }

  /** Returns these credentials reading the time from {@code clock}; for tests. */
  GatewayCredentials withClock(Clock clock) {
    GatewayCredentials copy =
        new GatewayCredentials(key, Base64.getDecoder().decode(publicKeyB64), clock);
    return copy;
  }

  /**
   * Returns the lowercase hex SHA-256 of the key's SubjectPublicKeyInfo: the hash a runner's
   * allowed-hash file ({@code cert_hashes}) must list.
   */
  public String publicKeyHash() {
    return publicKeyHash;
  }

  /** The clock's current Unix second ({@code floor(time.time())}). */
  long currentSecond() {
    return Math.floorDiv(clock.millis(), 1000);
  }

  /** The token for a request to {@code modelId} at {@code epochSeconds}. */
  Metadata token(String modelId, long epochSeconds) {
    byte[] payload = payload(modelId, epochSeconds);
    byte[] signature;
    try {
      Signature signer = Signature.getInstance("SHA256withRSA");
      signer.initSign(key);
      signer.update(payload);
      signature = signer.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Cannot sign a gateway token: " + e, e);
    }
    Metadata headers = new Metadata();
    headers.put(MESSAGE, Base64.getEncoder().encodeToString(payload));
    headers.put(SIGNATURE, Base64.getEncoder().encodeToString(signature));
    headers.put(PUBKEY, publicKeyB64);
    return headers;
  }

  /**
   * The payload bytes: compact JSON, {@code model_id} then {@code timestamp}, non-ASCII escaped as
   * {@code \\uXXXX} (Python's {@code json.dumps(..., separators=(",", ":"))}).
   */
  static byte[] payload(String modelId, long epochSeconds) {
    StringBuilder json = new StringBuilder("{\"model_id\":");
    quote(json, modelId);
    json.append(",\"timestamp\":").append(epochSeconds).append('}');
    return json.toString().getBytes(StandardCharsets.US_ASCII);
  }

  private static void quote(StringBuilder out, String text) {
    out.append('"');
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> {
          if (c < 0x20 || c > 0x7e) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }

  @Override
  public String toString() {
    return "GatewayCredentials{RSA key, hash " + publicKeyHash + "}";
  }
}
