package org.modelrunner.transport.grpc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLException;

/**
 * The Python ecosystem's secure mode for a {@link GrpcRunner} (PROTOCOL-SECURITY §A.4): mutual TLS
 * with a client certificate required and verified against {@code ca.crt}, the coordinator's public
 * key pinned by its SPKI SHA-256 on every unary call, and the runner's wallet-signed identity sent
 * as response headers.
 *
 * <p>{@link Builder#build()} reads the certificates directory ({@code tls.crt}, {@code tls.key},
 * {@code ca.crt}, {@code cruncher_msg.json}) and checks the runner's own signed message: a runner
 * whose files are missing or whose message fails verification never starts. Then, on each call:
 *
 * <ul>
 *   <li>a connection without a client certificate issued by {@code ca.crt} fails in the TLS
 *       handshake, before any call;
 *   <li>a unary call (model calls, health {@code Check}) from a certificate whose SPKI SHA-256
 *       (lowercase hex) is neither {@linkplain Builder#coordinatorCertHash the registered hash} nor
 *       {@linkplain Builder#coordinatorCertHashSecondary the secondary one} ends with {@code
 *       UNAUTHENTICATED "TLS certificate hash does not match registered certificate"}, trailers
 *       only (the comparison is exact: an upper-case hash never matches);
 *   <li>every accepted unary call first sends {@code x-server-auth-message}, {@code
 *       x-server-auth-signature} and {@code x-server-wallet-pubkey}, copied verbatim from {@code
 *       cruncher_msg.json}, so that even an error from the model arrives with them;
 *   <li>streaming calls: health {@code Watch} passes untouched, as in the Python runner; server
 *       reflection (which the Python runner does not serve) is held to the coordinator hash as the
 *       other services are, without the identity headers.
 * </ul>
 *
 * Instances are immutable and thread-safe.
 */
public final class SecureMode {
  /** The folder the Python runner's container reads, by default. */
  public static final Path DEFAULT_CERTIFICATES_DIRECTORY = Path.of("/workspace/certificates");

  static final Metadata.Key<String> AUTH_MESSAGE = Delegation.AUTH_MESSAGE;
  static final Metadata.Key<String> AUTH_SIGNATURE = Delegation.AUTH_SIGNATURE;
  static final Metadata.Key<String> WALLET_PUBKEY = Delegation.WALLET_PUBKEY;

  private final Path directory;
  private final SslContext sslContext;
  private final String messageB64;
  private final String signatureB64;
  private final String walletB58;
  private final String coordinatorCertHash;
  private final String coordinatorCertHashSecondary;

  private SecureMode(Builder builder, Loaded loaded) {
    this.directory = builder.directory;
    this.sslContext = loaded.sslContext;
    this.messageB64 = loaded.messageB64;
    this.signatureB64 = loaded.signatureB64;
    this.walletB58 = loaded.walletB58;
    this.coordinatorCertHash = builder.coordinatorCertHash;
    this.coordinatorCertHashSecondary = builder.coordinatorCertHashSecondary;
  }

  /** Returns a builder, with the certificates directory {@code /workspace/certificates}. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns the certificates directory the files were read from. */
  public Path certificatesDirectory() {
    return directory;
  }

  /** The TLS context: the runner's chain and key, client certificates required and verified. */
  SslContext sslContext() {
    return sslContext;
  }

  private static SslContext sslContext(
      PrivateKey key, List<X509Certificate> chain, List<X509Certificate> authorities)
      throws SSLException {
    SslContextBuilder builder =
        SslContextBuilder.forServer(key, chain.toArray(new X509Certificate[0]))
            .trustManager(authorities.toArray(new X509Certificate[0]))
            .clientAuth(ClientAuth.REQUIRE);
    return GrpcSslContexts.configure(builder).build();
  }

  /** The three response headers, as a fresh {@link Metadata}. */
  Metadata identityHeaders() {
    Metadata headers = new Metadata();
    headers.put(AUTH_MESSAGE, messageB64);
    headers.put(AUTH_SIGNATURE, signatureB64);
    headers.put(WALLET_PUBKEY, walletB58);
    return headers;
  }

  /** Whether no coordinator hash is registered: then every unary call is refused. */
  boolean hasNoCoordinator() {
    return coordinatorCertHash == null && coordinatorCertHashSecondary == null;
  }

  /** Whether a client's SPKI SHA-256 (lowercase hex) is one of the registered hashes. */
  boolean isRegistered(String spkiSha256Hex) {
    return spkiSha256Hex.equals(coordinatorCertHash)
        || spkiSha256Hex.equals(coordinatorCertHashSecondary);
  }

  @Override
  public String toString() {
    return "SecureMode{"
        + directory
        + ", coordinator hashes "
        + (coordinatorCertHash == null ? "none" : coordinatorCertHash)
        + (coordinatorCertHashSecondary == null ? "" : ", " + coordinatorCertHashSecondary)
        + "}";
  }

  private record Loaded(
      SslContext sslContext, String messageB64, String signatureB64, String walletB58) {}

  /**
   * Configures {@link SecureMode}; each setting is the Python runner's option (and environment
   * variable) of the same name. A null or empty value means unset.
   */
  public static final class Builder {
    private Path directory = DEFAULT_CERTIFICATES_DIRECTORY;
    private String modelId;
    private String cruncherWalletPubkey;
    private String cruncherHotkey;
    private String coordinatorCertHash;
    private String coordinatorCertHashSecondary;

    private Builder() {}

    /**
     * Sets the folder of {@code tls.crt} (the runner's certificate, leaf first), {@code tls.key}
     * (its unencrypted PEM key, PKCS#8 or PKCS#1), {@code ca.crt} (the authority that issues
     * coordinator certificates) and {@code cruncher_msg.json} ({@code --certificates-directory},
     * {@code CERTIFICATES_DIRECTORY}). Default {@code /workspace/certificates}.
     */
    public Builder certificatesDirectory(Path directory) {
      this.directory = Objects.requireNonNull(directory, "directory");
      return this;
    }

    /**
     * Sets the model id the signed message must name ({@code --model-id}, {@code MODEL_ID}). Unset,
     * the message must name none.
     */
    public Builder modelId(String modelId) {
      this.modelId = unsetIfEmpty(modelId);
      return this;
    }

    /**
     * Sets the wallet (base58) that must have signed the message ({@code --cruncher-wallet-pubkey},
     * {@code CRUNCHER_WALLET_PUBKEY}). Unset, no message verifies.
     */
    public Builder cruncherWalletPubkey(String wallet) {
      this.cruncherWalletPubkey = unsetIfEmpty(wallet);
      return this;
    }

    /**
     * Sets the hotkey the message must name ({@code --cruncher-hotkey}, {@code CRUNCHER_HOTKEY}).
     * Unset, the message must name none.
     */
    public Builder cruncherHotkey(String hotkey) {
      this.cruncherHotkey = unsetIfEmpty(hotkey);
      return this;
    }

    /**
     * Sets the registered coordinator key: the lowercase hex SHA-256 of its SPKI DER ({@code
     * --coordinator-cert-hash}, {@code COORDINATOR_CERT_HASH}). Compared exactly. With no hash at
     * all, every unary call is refused.
     */
    public Builder coordinatorCertHash(String hash) {
      this.coordinatorCertHash = unsetIfEmpty(hash);
      return this;
    }

    /**
     * Sets the secondary registered coordinator key, for rotation ({@code
     * --coordinator-cert-hash-secondary}, {@code COORDINATOR_CERT_HASH_SECONDARY}).
     */
    public Builder coordinatorCertHashSecondary(String hash) {
      this.coordinatorCertHashSecondary = unsetIfEmpty(hash);
      return this;
    }

    /**
     * Reads the certificates directory and verifies the runner's signed message (PROTOCOL-SECURITY
     * §A.3, the runner's wording).
     *
     * @throws IllegalArgumentException naming the file and the reason, if a file is missing or
     *     unreadable, a certificate or key does not parse, the key is not the certificate's, or
     *     {@code cruncher_msg.json} fails verification (for instance {@code "Wallet pubkey does not
     *     match expected crunch wallet"})
     */
    public SecureMode build() {
      Path certificate = directory.resolve("tls.crt");
      Path keyFile = directory.resolve("tls.key");
      Path authority = directory.resolve("ca.crt");
      Path message = directory.resolve("cruncher_msg.json");
      for (Path file : List.of(certificate, keyFile, authority, message)) {
        if (!Files.isRegularFile(file)) {
          throw new IllegalArgumentException(
              "secure mode: "
                  + file
                  + " is missing (the certificates directory needs tls.crt,"
                  + " tls.key, ca.crt and cruncher_msg.json)");
        }
      }
      try {
        List<X509Certificate> chain = Pem.certificates(certificate);
        PrivateKey key = Pem.privateKey(keyFile);
        List<X509Certificate> authorities = Pem.certificates(authority);
        if (!Pem.isKeyOf(key, chain.get(0))) {
          throw new IllegalArgumentException(
              "secure mode: " + keyFile + " is not the key of the certificate in " + certificate);
        }
        JsonNode signed;
        try {
          signed = new ObjectMapper().readTree(Files.readAllBytes(message));
        } catch (IOException e) {
          throw new IllegalArgumentException(
              "secure mode: " + message + " is not JSON: " + e.getMessage(), e);
        }
        String messageB64 = text(signed, "message_b64");
        String signatureB64 = text(signed, "signature_b64");
        String walletB58 = text(signed, "wallet_pubkey_b58");
        try {
          Delegation.verify(
              messageB64,
              signatureB64,
              walletB58,
              cruncherWalletPubkey,
              chain.get(0).getPublicKey().getEncoded(),
              modelId,
              cruncherHotkey,
              Delegation.Wording.RUNNER);
        } catch (Delegation.Failure e) {
          throw new IllegalArgumentException(
              "secure mode: " + message + " fails verification: " + e.getMessage(), e);
        }
        SslContext context;
        try {
          context = sslContext(key, chain, authorities);
        } catch (SSLException | IllegalArgumentException e) {
          throw new IllegalArgumentException(
              "secure mode: cannot make a TLS context of " + directory + ": " + e.getMessage(), e);
        }
        return new SecureMode(this, new Loaded(context, messageB64, signatureB64, walletB58));
      } catch (NoSuchFileException e) {
        throw new IllegalArgumentException("secure mode: " + e.getFile() + " is missing", e);
      } catch (IOException e) {
        throw new IllegalArgumentException("secure mode: cannot read " + e.getMessage(), e);
      }
    }

    private static String text(JsonNode node, String member) {
      JsonNode value = node == null ? null : node.get(member);
      return value != null && value.isTextual() ? value.asText() : null;
    }
  }

  static String unsetIfEmpty(String value) {
    return value == null || value.isEmpty() ? null : value;
  }
}
