package org.modelrunner.transport.grpc;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates made at test time (the vectors cover secure mode; plain TLS and gateway runners need
 * certificates for 127.0.0.1): an authority, and leaves it issues, written as PEM files.
 */
public final class TestCertificates {
  private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime());

  /** An authority: its certificate and key. */
  public record Authority(X509Certificate certificate, KeyPair keys) {
    /** Writes the authority's certificate as {@code ca.crt} in {@code directory}. */
    public Path write(Path directory) {
      try {
        Files.createDirectories(directory);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return TestCertificates.write(directory.resolve("ca.crt"), certificate);
    }
  }

  private TestCertificates() {}

  /**
   * A key pair on the P-256 curve: TLS takes it as readily as RSA, and it is made in a millisecond
   * where an RSA key of 2048 bits takes up to a second of a test's time.
   */
  static KeyPair keys() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A self-signed authority named {@code name}. */
  public static Authority authority(String name) {
    KeyPair keys = keys();
    X500Name subject = new X500Name("CN=" + name);
    try {
      X509v3CertificateBuilder builder = builder(subject, subject, keys);
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      builder.addExtension(
          Extension.keyUsage,
          true,
          new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature));
      return new Authority(sign(builder, keys), keys);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Writes {@code tls.crt} and {@code tls.key} (PKCS#8) in {@code directory}: a leaf issued by
   * {@code authority} for {@code 127.0.0.1} and {@code localhost}, for servers ({@code server}) or
   * clients.
   */
  public static Path leaf(Authority authority, Path directory, boolean server) {
    GeneralNames names =
        server
            ? new GeneralNames(
                new GeneralName[] {
                  new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
                  new GeneralName(GeneralName.dNSName, "localhost")
                })
            : null;
    return issue(authority, directory, server ? "CN=runner" : "CN=coordinator", server, names);
  }

  /**
   * Writes {@code tls.crt} and {@code tls.key} in {@code directory}: a server leaf issued by {@code
   * authority} whose only name is its subject's common name {@code commonName} (no subject
   * alternative name).
   */
  public static Path commonNameOnly(Authority authority, Path directory, String commonName) {
    return issue(authority, directory, "CN=" + commonName, true, null);
  }

  /** Issues a leaf for {@code subject}, with {@code names} as subject alternative names if any. */
  private static Path issue(
      Authority authority, Path directory, String subject, boolean server, GeneralNames names) {
    KeyPair keys = keys();
    try {
      Files.createDirectories(directory);
      X509v3CertificateBuilder builder =
          builder(
              new X500Name(authority.certificate().getSubjectX500Principal().getName()),
              new X500Name(subject),
              keys);
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      builder.addExtension(
          Extension.extendedKeyUsage,
          false,
          new ExtendedKeyUsage(
              server ? KeyPurposeId.id_kp_serverAuth : KeyPurposeId.id_kp_clientAuth));
      if (names != null) {
        builder.addExtension(Extension.subjectAlternativeName, false, names);
      }
      X509Certificate certificate = sign(builder, authority.keys());
      write(directory.resolve("tls.crt"), certificate);
      write(directory.resolve("tls.key"), new JcaPKCS8Generator(keys.getPrivate(), null));
      return directory;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair keys) {
    Instant now = Instant.now();
    return new JcaX509v3CertificateBuilder(
        issuer,
        BigInteger.valueOf(SERIAL.incrementAndGet()),
        Date.from(now.minus(Duration.ofMinutes(1))),
        Date.from(now.plus(Duration.ofDays(1))),
        subject,
        keys.getPublic());
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, KeyPair issuer) {
    try {
      return new JcaX509CertificateConverter()
          .getCertificate(
              builder.build(
                  new JcaContentSignerBuilder("SHA256withECDSA").build(issuer.getPrivate())));
    } catch (Exception e) {
      throw new IllegalStateException("Cannot sign a test certificate: " + e, e);
    }
  }

  /** Writes objects (certificates, keys) as PEM. */
  static Path write(Path file, Object... objects) {
    StringWriter text = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
      for (Object object : objects) {
        writer.writeObject(object);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      return Files.writeString(file, text.toString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
