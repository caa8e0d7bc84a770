package org.modelrunner.transport.grpc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.HashSet;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Gateway authentication for a {@link GrpcRunner} (PROTOCOL-SECURITY §B.3, the Python runner's
 * current version): the runner serves plaintext behind a TLS-terminating gateway, and each call
 * carries a token signed by the coordinator's RSA key in its {@code x-gateway-auth-message}, {@code
 * -signature} and {@code -pubkey} metadata.
 *
 * <p>A call is accepted when the three entries are present, the key's SPKI SHA-256 is in the
 * {@linkplain Builder#certFile cert file}'s {@code cert_hashes}, the RSASSA-PKCS1-v1_5/SHA-256
 * signature over the message verifies, and the message's {@code timestamp} lies in {@code now − 30
 * s … now + 5 s}. Beyond the Python runner, the message's {@code model_id} must also be the
 * runner's {@linkplain Builder#modelId model id} when one is set ({@linkplain Builder#checkModelId
 * on by default}). Health ({@code Check} and {@code Watch}) is exempt. Every other call that fails
 * ends with {@code UNAUTHENTICATED "Gateway authentication failed"}; the log gives the reason.
 *
 * <p>The cert file is read at {@link Builder#build()} (a missing, unreadable or empty file is an
 * error), then again on the first call at least 30 s after the last attempt; a failed re-read keeps
 * the previous hashes, with a warning. Instances are thread-safe.
 */
public final class GatewayAuth {
  /** The variable that turns gateway authentication on, naming the cert file. */
  public static final String CERT_FILE_VARIABLE = "GATEWAY_AUTH_CERT_FILE";

  /** How long the allowed hashes are used before the file is read again. */
  public static final Duration REFRESH_INTERVAL = Duration.ofSeconds(30);

  /** The oldest token accepted. */
  public static final Duration MAX_AGE = Duration.ofSeconds(30);

  /** How far in the future a token's timestamp may be. */
  public static final Duration MAX_FUTURE_SKEW = Duration.ofSeconds(5);

  private static final Logger LOG = Logger.getLogger(GatewayAuth.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path certFile;
  private final String modelId;
  private final boolean checkModelId;
  private final InstantSource clock;

  private Set<String> hashes; // guarded by this
  private long lastAttemptMillis; // guarded by this

  private GatewayAuth(Builder builder) {
    this.certFile = builder.certFile;
    this.modelId = builder.modelId;
    this.checkModelId = builder.checkModelId;
    this.clock = builder.clock;
    this.lastAttemptMillis = clock.millis();
    this.hashes = load(certFile);
  }

  /** Returns a builder; {@link Builder#certFile} is required. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns the allowed-hash file. */
  public Path certFile() {
    return certFile;
  }

  /** The model id a token must name, or null when it is not checked. */
  String requiredModelId() {
    return checkModelId ? modelId : null;
  }

  InstantSource clock() {
    return clock;
  }

  /**
   * The allowed hashes, read again when {@link #REFRESH_INTERVAL} has passed since the last try.
   */
  synchronized Set<String> allowedHashes() {
    long now = clock.millis();
    if (now - lastAttemptMillis >= REFRESH_INTERVAL.toMillis()) {
      lastAttemptMillis = now;
      try {
        hashes = load(certFile);
      } catch (IllegalArgumentException e) {
        LOG.warning(
            "Gateway auth: keeping the previous "
                + hashes.size()
                + " cert hash(es): "
                + e.getMessage());
      }
    }
    return hashes;
  }

  /**
   * Reads a cert file: a JSON object whose {@code cert_hashes} lists hex hashes, lower-cased.
   *
   * @throws IllegalArgumentException with the Python runner's message
   */
  static Set<String> load(Path file) {
    if (!Files.exists(file)) {
      throw new IllegalArgumentException(
          "Cert file not found: " + file + " — the host cert poller may not have written it yet");
    }
    JsonNode list;
    try {
      JsonNode root = JSON.readTree(Files.readAllBytes(file));
      list = root == null || !root.isObject() ? null : root.get("cert_hashes");
      if (list != null && !list.isNull() && !list.isArray()) {
        throw new IOException("cert_hashes is not a list");
      }
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "Failed to read cert file " + file + ": " + e.getMessage(), e);
    }
    Set<String> hashes = new HashSet<>();
    if (list != null) {
      for (JsonNode hash : list) {
        if (!hash.isTextual()) {
          throw new IllegalArgumentException(
              "Failed to read cert file " + file + ": a cert hash is not a string: " + hash);
        }
        hashes.add(hash.asText().toLowerCase(Locale.ROOT));
      }
    }
    if (hashes.isEmpty()) {
      throw new IllegalArgumentException("No cert hashes in " + file);
    }
    return Set.copyOf(hashes);
  }

  @Override
  public String toString() {
    return "GatewayAuth{"
        + certFile
        + (requiredModelId() == null ? "" : ", model id " + requiredModelId())
        + "}";
  }

  /** Configures {@link GatewayAuth}. */
  public static final class Builder {
    private Path certFile;
    private String modelId;
    private boolean checkModelId = true;
    private InstantSource clock = InstantSource.system();

    private Builder() {}

    /**
     * Sets the allowed-hash file ({@code GATEWAY_AUTH_CERT_FILE}; by convention {@code
     * /etc/gateway-auth/certs.json}, rewritten by the host): a JSON object whose {@code
     * cert_hashes} lists the hex SHA-256 of the allowed coordinators' SPKI.
     */
    public Builder certFile(Path file) {
      this.certFile = Objects.requireNonNull(file, "file");
      return this;
    }

    /**
     * Sets the runner's model id ({@code MODEL_ID}): with {@link #checkModelId} on, a token must
     * name it. Null or empty: not checked.
     */
    public Builder modelId(String modelId) {
      this.modelId = SecureMode.unsetIfEmpty(modelId);
      return this;
    }

    /**
     * Sets whether a token's {@code model_id} must be the runner's {@linkplain #modelId model id}
     * (when one is set). Default on. The Python runner does not check it, so a token a coordinator
     * signed for another model (behind the same gateway, say) can be replayed here within its 30 s;
     * checking it confines each token to the model it was made for. Turn it off only for a gateway
     * that rewrites model ids.
     */
    public Builder checkModelId(boolean check) {
      this.checkModelId = check;
      return this;
    }

    /** Sets the clock that token timestamps and the refresh interval are measured with. */
    public Builder clock(InstantSource clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Reads the cert file once.
     *
     * @throws IllegalStateException if no cert file was given
     * @throws IllegalArgumentException if it is missing ({@code Cert file not found: …}),
     *     unreadable or not JSON ({@code Failed to read cert file …}), or lists no hash ({@code No
     *     cert hashes in …})
     */
    public GatewayAuth build() {
      if (certFile == null) {
        throw new IllegalStateException("Give the cert file (GATEWAY_AUTH_CERT_FILE)");
      }
      return new GatewayAuth(this);
    }
  }
}
