package org.modelrunner.transport.grpc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthGrpc;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.Base64;
import java.util.Iterator;
import java.util.Set;
import java.util.logging.Logger;

/**
 * The per-call check of gateway authentication (PROTOCOL-SECURITY §B.3); see {@link GatewayAuth}.
 */
final class GatewayTokenCheck implements ServerInterceptor {
  static final String FAILED = "Gateway authentication failed";

  static final Metadata.Key<String> MESSAGE = GatewayCredentials.MESSAGE;
  static final Metadata.Key<String> SIGNATURE = GatewayCredentials.SIGNATURE;
  static final Metadata.Key<String> PUBKEY = GatewayCredentials.PUBKEY;

  private static final Logger LOG = Logger.getLogger(GatewayTokenCheck.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The methods the Python runner exempts by name. */
  private static final Set<String> EXEMPT =
      Set.of(
          "/" + HealthGrpc.getCheckMethod().getFullMethodName(),
          "/" + HealthGrpc.getWatchMethod().getFullMethodName());

  private final GatewayAuth auth;

  GatewayTokenCheck(GatewayAuth auth) {
    this.auth = auth;
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    String method = "/" + call.getMethodDescriptor().getFullMethodName();
    if (EXEMPT.contains(method)) {
      return next.startCall(call, headers);
    }
    String reason = reason(method, headers);
    if (reason == null) {
      return next.startCall(call, headers);
    }
    LOG.warning("Gateway auth failed on " + method + ": " + reason);
    call.close(Status.UNAUTHENTICATED.withDescription(FAILED), new Metadata());
    return new ServerCall.Listener<>() {};
  }

  /** Returns why the call's token is refused, or null when it is accepted. */
  String reason(String method, Metadata headers) {
    String message = first(headers, MESSAGE);
    String signature = first(headers, SIGNATURE);
    String pubkey = first(headers, PUBKEY);
    if (message == null || signature == null || pubkey == null) {
      return "Gateway auth: missing metadata on " + method;
    }
    byte[] messageBytes;
    byte[] signatureBytes;
    byte[] keyBytes;
    try {
      messageBytes = Base64.getDecoder().decode(message);
      signatureBytes = Base64.getDecoder().decode(signature);
      keyBytes = Base64.getDecoder().decode(pubkey);
    } catch (IllegalArgumentException e) {
      return "Invalid base64 encoding: " + e.getMessage();
    }
    Set<String> allowed = auth.allowedHashes();
    String hash = Pem.sha256Hex(keyBytes);
    if (!allowed.contains(hash)) {
      return "Public key hash " + hash + " not found in on-chain cert hashes";
    }
    PublicKey key;
    try {
      key = KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(keyBytes));
    } catch (GeneralSecurityException e) {
      return "Expected RSA public key, got " + keyKind(keyBytes);
    }
    try {
      Signature verifier = Signature.getInstance("SHA256withRSA");
      verifier.initVerify(key);
      verifier.update(messageBytes);
      if (!verifier.verify(signatureBytes)) {
        return "Signature verification failed: ";
      }
    } catch (SignatureException e) {
      return "Signature verification failed: " + e.getMessage();
    } catch (GeneralSecurityException e) {
      return "Signature verification failed: " + e;
    }
    JsonNode payload;
    try {
      payload = JSON.readTree(messageBytes);
    } catch (IOException e) {
      return "Invalid JSON payload: " + e.getMessage();
    }
    if (payload == null || !payload.isObject()) {
      return "Invalid JSON payload: not a JSON object";
    }
    JsonNode timestamp = payload.get("timestamp");
    if (timestamp == null || timestamp.isNull()) {
      return "Missing 'timestamp' in payload";
    }
    if (!timestamp.isNumber()) {
      return "Invalid 'timestamp' in payload: " + timestamp;
    }
    Instant instant = auth.clock().instant();
    double now = instant.getEpochSecond() + instant.getNano() / 1e9;
    double seconds = timestamp.asDouble();
    if (seconds > now + GatewayAuth.MAX_FUTURE_SKEW.toSeconds()) {
      return "Token timestamp is in the future";
    }
    double age = now - seconds;
    if (age > GatewayAuth.MAX_AGE.toSeconds()) {
      return "Token expired: age="
          + new BigDecimal(age).setScale(0, RoundingMode.HALF_EVEN).toPlainString()
          + "s exceeds max_age="
          + GatewayAuth.MAX_AGE.toSeconds()
          + "s";
    }
    String required = auth.requiredModelId();
    if (required != null) {
      JsonNode modelId = payload.get("model_id");
      if (modelId == null || !modelId.isTextual() || !modelId.asText().equals(required)) {
        return "Token model_id "
            + (modelId == null ? "(none)" : modelId.toString())
            + " is not this runner's model id \""
            + required
            + "\"";
      }
    }
    return null;
  }

  /** The first entry of a key (keys are lower case in gRPC metadata), or null if none or empty. */
  private static String first(Metadata headers, Metadata.Key<String> key) {
    Iterable<String> values = headers.getAll(key);
    if (values == null) {
      return null;
    }
    Iterator<String> iterator = values.iterator();
    String value = iterator.hasNext() ? iterator.next() : null;
    return value == null || value.isEmpty() ? null : value;
  }

  private static String keyKind(byte[] spki) {
    for (String algorithm : new String[] {"EC", "Ed25519", "Ed448", "DSA"}) {
      try {
        return KeyFactory.getInstance(algorithm)
                .generatePublic(new X509EncodedKeySpec(spki))
                .getClass()
                .getSimpleName()
            + " ("
            + algorithm
            + ")";
      } catch (GeneralSecurityException e) {
        // try the next one
      }
    }
    return "a key that does not parse as a SubjectPublicKeyInfo";
  }
}
