package org.modelrunner.transport.grpc;

import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLException;

/**
 * A coordinator's credentials for runners in the Python ecosystem's secure mode (PROTOCOL-SECURITY
 * §A.5): the authority that issues runner certificates ({@code ca.crt}), and the coordinator's own
 * certificate and key ({@code tls.crt}, {@code tls.key}), the same files as the Python client's
 * {@code SecureCredentials}. Give them to the gRPC transport with {@link
 * GrpcTransportProvider.Builder#secureCredentials}.
 *
 * <p>For every model it connects, the transport then:
 *
 * <ol>
 *   <li>probes the runner with TLS: the runner's certificate must be issued by {@code ca.crt} and
 *       name {@code model-node-<model id>.crunchdao.internal} (its SAN); the coordinator's
 *       certificate is presented, and the runner must not close the connection after the handshake
 *       (that is how it refuses a client certificate);
 *   <li>opens the model's channels (calls and health checks) trusting only the runner certificate
 *       the probe saw, under that name;
 *   <li>checks every answer on the call channel: the runner's {@code x-server-*} headers must carry
 *       a message signed by the wallet the directory gives for the model ({@code infos}' {@code
 *       cruncher_wallet_pubkey}) that binds the runner's TLS key to the model id and the hotkey
 *       ({@code cruncher_hotkey}).
 * </ol>
 *
 * A failure of any of these fails the request with {@link
 * org.modelrunner.spi.TransportException.Kind#AUTHENTICATION_FAILED} and the protocol's message; a
 * fleet reports the model {@code CONNECTION_FAILED} and disconnects it. The files are read once,
 * when the credentials are made. Instances are immutable and thread-safe.
 */
public final class SecureCredentials {
  private final String source;
  private final List<X509Certificate> chain;
  private final PrivateKey key;
  private final SslContext probeContext;

  private SecureCredentials(
      String source,
      List<X509Certificate> authorities,
      List<X509Certificate> chain,
      PrivateKey key) {
    this.source = source;
    this.chain = chain;
    this.key = key;
    this.probeContext = context(authorities);
  }

  /**
   * Reads {@code ca.crt}, {@code tls.crt} and {@code tls.key} from a folder (as {@code
   * crunch-certificate enroll} writes them).
   *
   * @throws IllegalArgumentException if a file is missing, does not parse, the key is encrypted, or
   *     it is not the certificate's key
   * @throws UncheckedIOException if a file cannot be read
   */
  public static SecureCredentials fromDirectory(Path directory) {
    Objects.requireNonNull(directory, "directory");
    return fromFiles(
        directory.resolve("ca.crt"), directory.resolve("tls.crt"), directory.resolve("tls.key"));
  }

  /**
   * Reads the three files from explicit paths: the authority of runner certificates, the
   * coordinator's certificate (leaf first) and its unencrypted PEM key (PKCS#8 or PKCS#1).
   *
   * @throws IllegalArgumentException if a file is missing, does not parse, the key is encrypted, or
   *     it is not the certificate's key
   * @throws UncheckedIOException if a file cannot be read
   */
  public static SecureCredentials fromFiles(Path caCertificate, Path tlsCertificate, Path tlsKey) {
    Objects.requireNonNull(caCertificate, "caCertificate");
    Objects.requireNonNull(tlsCertificate, "tlsCertificate");
    Objects.requireNonNull(tlsKey, "tlsKey");
    for (Path file : List.of(caCertificate, tlsCertificate, tlsKey)) {
      if (!Files.isRegularFile(file)) {
        throw new IllegalArgumentException(
            "secure credentials: " + file + " is missing (they need ca.crt, tls.crt and tls.key)");
      }
    }
    try {
      List<X509Certificate> authorities = Pem.certificates(caCertificate);
      List<X509Certificate> chain = Pem.certificates(tlsCertificate);
      PrivateKey key = Pem.privateKey(tlsKey);
      if (!Pem.isKeyOf(key, chain.get(0))) {
        throw new IllegalArgumentException(
            "secure credentials: "
                + tlsKey
                + " is not the key of the certificate in "
                + tlsCertificate);
      }
      return new SecureCredentials(tlsCertificate.toString(), authorities, chain, key);
    } catch (IOException e) {
      throw new UncheckedIOException("secure credentials: cannot read " + e.getMessage(), e);
    }
  }

  /**
   * The probe's TLS context: runner certificates verified against {@code ca.crt}, the coordinator's
   * certificate presented, ALPN {@code h2}.
   */
  SslContext probeContext() {
    return probeContext;
  }

  /**
   * The channels' TLS context: only {@code leaf} trusted, the coordinator's certificate presented.
   */
  SslContext pinnedContext(X509Certificate leaf) {
    return context(List.of(leaf));
  }

  private SslContext context(List<X509Certificate> trusted) {
    try {
      return GrpcSslContexts.configure(
              SslContextBuilder.forClient()
                  .trustManager(trusted.toArray(new X509Certificate[0]))
                  .keyManager(key, chain.toArray(new X509Certificate[0])))
          .build();
    } catch (SSLException | IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "secure credentials: cannot make a TLS context: " + e.getMessage(), e);
    }
  }

  /** The coordinator's certificate, leaf first. */
  List<X509Certificate> certificateChain() {
    return chain;
  }

  @Override
  public String toString() {
    return "SecureCredentials{"
        + source
        + ", coordinator "
        + chain.get(0).getSubjectX500Principal().getName()
        + ", key hash "
        + Pem.spkiSha256Hex(chain.get(0).getPublicKey())
        + "}";
  }
}
