package org.modelrunner.transport.grpc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Metadata;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;

/**
 * The wallet delegation check of PROTOCOL-SECURITY §A.3: a Solana wallet (Ed25519) signed a JSON
 * message that binds a TLS public key ({@code cert_pub}) to a model id and a hotkey. The runner
 * runs it on its own {@code cruncher_msg.json} at start-up; a coordinator on the {@code x-server-*}
 * headers of each response. The first failing step decides the error, worded as each side of the
 * Python ecosystem words it.
 */
final class Delegation {
  /** Who checks: the messages differ for steps 2, 8 and 9. */
  enum Wording {
    RUNNER(
        "Wallet pubkey does not match expected crunch wallet",
        "model_id in payload does not match the expected model_id",
        "hotkey in payload does not match the expected hotkey"),
    CLIENT(
        "The provided wallet public key does not match the expected public key.",
        "The model_id in the payload does not match the expected model_id.",
        "Hotkey in the payload does not match the expected hotkey.");

    final String wrongWallet;
    final String wrongModelId;
    final String wrongHotkey;

    Wording(String wrongWallet, String wrongModelId, String wrongHotkey) {
      this.wrongWallet = wrongWallet;
      this.wrongModelId = wrongModelId;
      this.wrongHotkey = wrongHotkey;
    }
  }

  /** A failed check; its message is the protocol's text. */
  static final class Failure extends Exception {
    private static final long serialVersionUID = 1L;

    Failure(String message) {
      super(message);
    }
  }

  /** The runner's identity headers (PROTOCOL-SECURITY §A.4), sent on every accepted unary call. */
  static final Metadata.Key<String> AUTH_MESSAGE =
      Metadata.Key.of("x-server-auth-message", Metadata.ASCII_STRING_MARSHALLER);

  static final Metadata.Key<String> AUTH_SIGNATURE =
      Metadata.Key.of("x-server-auth-signature", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> WALLET_PUBKEY =
      Metadata.Key.of("x-server-wallet-pubkey", Metadata.ASCII_STRING_MARSHALLER);

  /** The DER prefix of an Ed25519 SubjectPublicKeyInfo, before the 32 raw key bytes. */
  private static final byte[] ED25519_SPKI_PREFIX = {
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
  };

  private static final ObjectMapper JSON = new ObjectMapper();

  private Delegation() {}

  /**
   * Runs §A.3.
   *
   * @param messageB64 base64 of the signed message bytes (may be null: an encoding failure)
   * @param signatureB64 base64 of the 64-byte Ed25519 signature
   * @param walletB58 the signing wallet, base58
   * @param expectedWallet the wallet the message must come from (null never matches a string)
   * @param tlsSpki the SPKI DER the message must bind
   * @param expectedModelId the model id it must name (null: it must name none)
   * @param expectedHotkey the hotkey it must name (null: it must name none)
   * @throws Failure with the protocol's message for the first failing step
   */
  static void verify(
      String messageB64,
      String signatureB64,
      String walletB58,
      String expectedWallet,
      byte[] tlsSpki,
      String expectedModelId,
      String expectedHotkey,
      Wording wording)
      throws Failure {
    byte[] message;
    byte[] signature;
    byte[] wallet;
    try {
      message = decode(messageB64, "message_b64");
      signature = decode(signatureB64, "signature_b64");
      if (walletB58 == null) {
        throw new IllegalArgumentException("wallet_pubkey_b58 is missing");
      }
      wallet = Base58.decode(walletB58);
    } catch (IllegalArgumentException e) {
      throw new Failure("Invalid encoding in auth data: " + e.getMessage());
    }
    if (!walletB58.equals(expectedWallet)) {
      throw new Failure(wording.wrongWallet);
    }
    if (!ed25519Verifies(wallet, message, signature)) {
      throw new Failure("Invalid wallet signature");
    }
    JsonNode payload;
    try {
      payload = JSON.readTree(message);
      if (payload == null || payload.isMissingNode()) {
        throw new IOException("no JSON value");
      }
    } catch (IOException e) {
      throw new Failure("Bad auth message JSON format: " + e.getMessage());
    }
    if (!payload.isObject()) {
      // The Python code fails here with an AttributeError: not an auth error, but a failure still.
      throw new Failure("Bad auth message JSON format: not a JSON object");
    }
    JsonNode certPub = payload.get("cert_pub");
    if (certPub == null
        || certPub.isNull()
        || (certPub.isTextual() && certPub.asText().isEmpty())) {
      throw new Failure("Missing cert_pub in signed message");
    }
    byte[] certPubBytes;
    try {
      if (!certPub.isTextual()) {
        throw new IllegalArgumentException("not a string");
      }
      certPubBytes = Base64.getDecoder().decode(certPub.asText());
    } catch (IllegalArgumentException e) {
      throw new Failure("Bad cert_pub encoding in message: " + e.getMessage());
    }
    if (!Arrays.equals(certPubBytes, tlsSpki)) {
      throw new Failure("TLS client key does not match wallet-authorized cert_pub");
    }
    if (!matches(payload.get("model_id"), expectedModelId)) {
      throw new Failure(wording.wrongModelId);
    }
    if (!matches(payload.get("hotkey"), expectedHotkey)) {
      throw new Failure(wording.wrongHotkey);
    }
    JsonNode expiresAt = payload.get("expires_at");
    if (expiresAt != null && !expiresAt.isNull() && !expiresAt.canConvertToLong()) {
      // Parsed by both Python sides (int(...)) and never compared with the clock.
      if (!expiresAt.isTextual() || !expiresAt.asText().strip().matches("[+-]?\\d+")) {
        throw new Failure("Bad auth message JSON format: expires_at is not an integer");
      }
    }
  }

  /**
   * The client's per-call check (PROTOCOL-SECURITY §A.5): the three {@code x-server-*} response
   * headers (the last value of a repeated key wins), then §A.3 in the client's wording.
   *
   * @throws Failure with the protocol's message
   */
  static void verifyServerHeaders(
      Metadata headers,
      String expectedWallet,
      byte[] tlsSpki,
      String expectedModelId,
      String expectedHotkey)
      throws Failure {
    String message = headers.get(AUTH_MESSAGE);
    String signature = headers.get(AUTH_SIGNATURE);
    String wallet = headers.get(WALLET_PUBKEY);
    if (message == null
        || message.isEmpty()
        || signature == null
        || signature.isEmpty()
        || wallet == null
        || wallet.isEmpty()) {
      throw new Failure(
          "Missing auth metadata"
              + " (x-server-auth-message/x-server-auth-signature/x-server-wallet-pubkey)");
    }
    verify(
        message,
        signature,
        wallet,
        expectedWallet,
        tlsSpki,
        expectedModelId,
        expectedHotkey,
        Wording.CLIENT);
  }

  private static byte[] decode(String base64, String name) {
    if (base64 == null) {
      throw new IllegalArgumentException(name + " is missing");
    }
    return Base64.getDecoder().decode(base64);
  }

  /** A missing member counts as null; comparisons are exact. */
  private static boolean matches(JsonNode member, String expected) {
    if (member == null || member.isNull()) {
      return expected == null;
    }
    return member.isTextual() && member.asText().equals(expected);
  }

  /** Pure Ed25519 over the message; a key that is not 32 bytes never verifies. */
  static boolean ed25519Verifies(byte[] rawKey, byte[] message, byte[] signature) {
    if (rawKey.length != 32) {
      return false;
    }
    try {
      byte[] spki = Arrays.copyOf(ED25519_SPKI_PREFIX, ED25519_SPKI_PREFIX.length + 32);
      System.arraycopy(rawKey, 0, spki, ED25519_SPKI_PREFIX.length, 32);
      PublicKey key =
          KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
      Signature verifier = Signature.getInstance("Ed25519");
      verifier.initVerify(key);
      verifier.update(message);
      return verifier.verify(signature);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }
}
