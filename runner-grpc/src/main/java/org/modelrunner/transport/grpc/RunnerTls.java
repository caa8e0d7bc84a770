package org.modelrunner.transport.grpc;

import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLException;

/** The TLS context of a runner that serves plain TLS ({@link GrpcRunner.Builder#tls}). */
final class RunnerTls {
  private RunnerTls() {}

  /**
   * Reads the certificate chain and key (and the clients' authority, if any) and makes the server
   * context: client certificates required and verified when {@code clientAuthority} is given.
   *
   * @throws IllegalArgumentException if a file is missing or does not parse, or the key is not the
   *     certificate's
   * @throws UncheckedIOException if a file cannot be read
   */
  static SslContext context(Path certificateChain, Path keyFile, Path clientAuthority) {
    try {
      List<X509Certificate> chain = Pem.certificates(certificateChain);
      PrivateKey key = Pem.privateKey(keyFile);
      if (!Pem.isKeyOf(key, chain.get(0))) {
        throw new IllegalArgumentException(
            "TLS: " + keyFile + " is not the key of the certificate in " + certificateChain);
      }
      SslContextBuilder builder =
          SslContextBuilder.forServer(key, chain.toArray(new X509Certificate[0]));
      if (clientAuthority != null) {
        builder
            .trustManager(Pem.certificates(clientAuthority).toArray(new X509Certificate[0]))
            .clientAuth(ClientAuth.REQUIRE);
      }
      return GrpcSslContexts.configure(builder).build();
    } catch (SSLException e) {
      throw new IllegalArgumentException("TLS: cannot make a TLS context: " + e.getMessage(), e);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new IllegalArgumentException("TLS: " + e.getFile() + " does not exist", e);
    } catch (IOException e) {
      throw new UncheckedIOException("TLS: cannot read " + e.getMessage(), e);
    }
  }
}
