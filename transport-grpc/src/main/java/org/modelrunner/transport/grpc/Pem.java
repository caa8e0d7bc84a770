package org.modelrunner.transport.grpc;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PEM certificates and unencrypted private keys (PKCS#8 {@code PRIVATE KEY}, or PKCS#1 {@code RSA
 * PRIVATE KEY} as the Python loaders also accept), and the SPKI hashes of PROTOCOL-SECURITY.
 */
final class Pem {
  private static final Pattern BLOCK =
      Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \\1-----");

  /** DER of AlgorithmIdentifier rsaEncryption with NULL parameters. */
  private static final byte[] RSA_ALGORITHM = {
    0x30,
    0x0d,
    0x06,
    0x09,
    0x2a,
    (byte) 0x86,
    0x48,
    (byte) 0x86,
    (byte) 0xf7,
    0x0d,
    0x01,
    0x01,
    0x01,
    0x05,
    0x00
  };

  private Pem() {}

  /**
   * Reads the certificates of a PEM file, leaf first.
   *
   * @throws IOException if it cannot be read
   * @throws IllegalArgumentException if it holds no certificate or one that does not parse
   */
  static List<X509Certificate> certificates(Path file) throws IOException {
    return certificates(Files.readAllBytes(file), file.toString());
  }

  /** Reads the certificates of PEM text; {@code source} names it in errors. */
  static List<X509Certificate> certificates(byte[] pem, String source) {
    try {
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      List<X509Certificate> certificates = new ArrayList<>();
      for (var certificate : factory.generateCertificates(new ByteArrayInputStream(pem))) {
        certificates.add((X509Certificate) certificate);
      }
      if (certificates.isEmpty()) {
        throw new IllegalArgumentException(source + " holds no certificate");
      }
      return certificates;
    } catch (CertificateException e) {
      throw new IllegalArgumentException(
          source + " does not hold PEM certificates: " + e.getMessage(), e);
    }
  }

  /**
   * Reads an unencrypted private key: PKCS#8 ({@code BEGIN PRIVATE KEY}) of any algorithm the JDK
   * knows, or PKCS#1 RSA ({@code BEGIN RSA PRIVATE KEY}).
   *
   * @throws IOException if it cannot be read
   * @throws IllegalArgumentException if it is encrypted or does not parse
   */
  static PrivateKey privateKey(Path file) throws IOException {
    return privateKey(Files.readString(file, StandardCharsets.US_ASCII), file.toString());
  }

  /**
   * Reads an unencrypted private key from PEM text; {@code source} names it in errors.
   *
   * @throws IllegalArgumentException if it is encrypted or does not parse
   */
  static PrivateKey privateKey(String text, String source) {
    Matcher matcher = BLOCK.matcher(text);
    while (matcher.find()) {
      String type = matcher.group(1);
      byte[] der;
      try {
        der = Base64.getMimeDecoder().decode(matcher.group(2));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(source + ": bad base64 in " + type + " block", e);
      }
      switch (type) {
        case "PRIVATE KEY" -> {
          return pkcs8(der, source);
        }
        case "RSA PRIVATE KEY" -> {
          return pkcs8(wrapPkcs1(der), source);
        }
        case "ENCRYPTED PRIVATE KEY" ->
            throw new IllegalArgumentException(
                source + " holds an encrypted key: keys must not be");
        default -> {
          // another block (a certificate, parameters): look further
        }
      }
    }
    throw new IllegalArgumentException(
        source + " holds no PEM private key (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)");
  }

  private static PrivateKey pkcs8(byte[] der, String source) {
    for (String algorithm : new String[] {"RSA", "EC", "Ed25519"}) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException e) {
        // try the next algorithm
      }
    }
    throw new IllegalArgumentException(source + " does not hold an RSA, EC or Ed25519 private key");
  }

  /** PrivateKeyInfo { version 0, rsaEncryption, OCTET STRING { the PKCS#1 key } }. */
  private static byte[] wrapPkcs1(byte[] pkcs1) {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.writeBytes(new byte[] {0x02, 0x01, 0x00});
    body.writeBytes(RSA_ALGORITHM);
    body.writeBytes(tlv(0x04, pkcs1));
    return tlv(0x30, body.toByteArray());
  }

  private static byte[] tlv(int tag, byte[] value) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(tag);
    int length = value.length;
    if (length < 0x80) {
      out.write(length);
    } else {
      byte[] bytes = BigInteger.valueOf(length).toByteArray();
      int skip = bytes[0] == 0 ? 1 : 0;
      out.write(0x80 | (bytes.length - skip));
      out.write(bytes, skip, bytes.length - skip);
    }
    out.writeBytes(value);
    return out.toByteArray();
  }

  /**
   * Whether {@code key} is the private key of {@code certificate}: what it signs verifies with the
   * certificate's public key.
   */
  static boolean isKeyOf(PrivateKey key, X509Certificate certificate) {
    String algorithm =
        switch (key.getAlgorithm()) {
          case "RSA" -> "SHA256withRSA";
          case "EC" -> "SHA256withECDSA";
          default -> key.getAlgorithm();
        };
    try {
      byte[] probe = "model-runner key check".getBytes(StandardCharsets.US_ASCII);
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(probe);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(certificate.getPublicKey());
      verifier.update(probe);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /** Returns {@code lower_hex(SHA-256(SPKI DER))} of a public key. */
  static String spkiSha256Hex(PublicKey key) {
    return sha256Hex(key.getEncoded());
  }

  /** Returns the lowercase hex SHA-256 of bytes. */
  static String sha256Hex(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("The JDK has no SHA-256", e);
    }
  }
}
