package org.modelrunner.transport.grpc;

import io.grpc.CallCredentials;
import io.grpc.ClientInterceptor;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLException;

/**
 * How a gRPC transport's channels are secured, as its provider's builder set it: plaintext, TLS
 * (the platform's trust or a CA bundle, optionally a client certificate), gateway authentication
 * (TLS plus a token per call) or secure mode; and the user's interceptors and call credentials.
 */
final class ClientSecurity {
  static final ClientSecurity PLAINTEXT =
      new ClientSecurity(null, null, false, null, null, null, List.of(), null);

  final SecureCredentials secure;
  final GatewayCredentials gateway;
  final boolean tls;
  final List<X509Certificate> trusted; // null: the platform's trust
  final PrivateKey clientKey; // null: no client certificate
  final List<X509Certificate> clientChain;
  final List<ClientInterceptor> interceptors;
  final CallCredentials callCredentials;
  private final SslContext tlsContext;

  ClientSecurity(
      SecureCredentials secure,
      GatewayCredentials gateway,
      boolean tls,
      List<X509Certificate> trusted,
      PrivateKey clientKey,
      List<X509Certificate> clientChain,
      List<ClientInterceptor> interceptors,
      CallCredentials callCredentials) {
    this.secure = secure;
    this.gateway = gateway;
    this.tls = tls;
    this.trusted = trusted;
    this.clientKey = clientKey;
    this.clientChain = clientChain;
    this.interceptors = List.copyOf(interceptors);
    this.callCredentials = callCredentials;
    this.tlsContext = tls ? tlsContext() : null;
  }

  /** Whether channels are plaintext (no TLS of any kind). */
  boolean plaintext() {
    return secure == null && !tls;
  }

  /** The TLS context of TLS and gateway channels. */
  SslContext context() {
    return tlsContext;
  }

  private SslContext tlsContext() {
    SslContextBuilder builder = SslContextBuilder.forClient();
    if (trusted != null) {
      builder.trustManager(trusted.toArray(new X509Certificate[0]));
    }
    if (clientKey != null) {
      builder.keyManager(clientKey, clientChain.toArray(new X509Certificate[0]));
    }
    try {
      return GrpcSslContexts.configure(builder).build();
    } catch (SSLException | IllegalArgumentException e) {
      throw new IllegalArgumentException("Cannot make the TLS context: " + e.getMessage(), e);
    }
  }

  /** A TLS context that verifies nothing: only to tell whether an endpoint speaks TLS. */
  static SslContext insecureContext() {
    try {
      return GrpcSslContexts.configure(
              SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE))
          .build();
    } catch (SSLException e) {
      throw new IllegalStateException("Cannot make a TLS context: " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    String mode =
        secure != null
            ? "secure mode"
            : gateway != null
                ? "gateway authentication"
                : tls ? (clientKey != null ? "mutual TLS" : "TLS") : "plaintext";
    return mode
        + (interceptors.isEmpty() ? "" : ", " + interceptors.size() + " interceptor(s)")
        + (callCredentials == null ? "" : ", call credentials");
  }
}
