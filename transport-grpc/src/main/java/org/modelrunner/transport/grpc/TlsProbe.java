package org.modelrunner.transport.grpc;

import io.grpc.netty.shaded.io.netty.bootstrap.Bootstrap;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelFuture;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.ChannelInitializer;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandler;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.grpc.netty.shaded.io.netty.util.ReferenceCountUtil;
import io.grpc.netty.shaded.io.netty.util.concurrent.ScheduledFuture;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.modelrunner.spi.TransportException;

/**
 * A TLS connection that is not gRPC, made before a model's channels (PROTOCOL-SECURITY §A.5): in
 * secure mode, to learn the runner's leaf certificate (which the channels then pin) and to see a
 * refusal of the client certificate, which under TLS 1.3 shows only after the handshake, as the
 * runner closing the connection; without credentials, to tell a runner that speaks TLS from one
 * that cannot be reached. Non-blocking: it runs on the transport's event loops.
 */
final class TlsProbe {
  private TlsProbe() {}

  /**
   * Runs the secure-mode probe: a handshake with {@code context} naming the runner {@code
   * serverName} (SNI and hostname verification against its DNS SANs), then at least one byte from
   * the runner, all within {@code timeout}.
   *
   * @return the runner's leaf certificate; the future fails with a {@link TransportException}:
   *     {@code AUTHENTICATION_FAILED} for a TLS or certificate error or a connection closed after
   *     the handshake, {@code UNAVAILABLE} when the TCP connection fails or nothing happens in time
   */
  static CompletableFuture<X509Certificate> secure(
      EventLoopGroup group,
      SslContext context,
      GrpcAddress address,
      String serverName,
      Duration timeout) {
    CompletableFuture<X509Certificate> result = new CompletableFuture<>();
    String where = address.host() + ":" + address.port();
    String failedHandshake =
        "TLS handshake failed to " + where + " (server_hostname='" + serverName + "'): ";
    connect(
        group,
        address,
        timeout,
        result,
        channel -> {
          SslHandler ssl = context.newHandler(channel.alloc(), serverName, address.port());
          SSLEngine engine = ssl.engine();
          SSLParameters parameters = engine.getSSLParameters();
          parameters.setEndpointIdentificationAlgorithm("HTTPS");
          engine.setSSLParameters(parameters);
          channel
              .pipeline()
              .addLast(ssl)
              .addLast(
                  new ChannelInboundHandlerAdapter() {
                    private X509Certificate leaf;

                    @Override
                    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
                      if (!(event instanceof SslHandshakeCompletionEvent done)) {
                        return;
                      }
                      if (!done.isSuccess()) {
                        fail(result, failedHandshake + detail(done.cause()), done.cause());
                        ctx.close();
                        return;
                      }
                      try {
                        Certificate[] peer = engine.getSession().getPeerCertificates();
                        leaf = (X509Certificate) peer[0];
                      } catch (Exception e) {
                        fail(result, failedHandshake + detail(e), e);
                        ctx.close();
                        return;
                      }
                      if (!hasDnsName(leaf)) {
                        // The JDK's check falls back to the subject's common name when a
                        // certificate has no DNS name at all; the ecosystem never consults it.
                        fail(
                            result,
                            failedHandshake
                                + "the certificate has no DNS subject alternative name (its common"
                                + " name is not consulted)",
                            null);
                        ctx.close();
                        return;
                      }
                      if (!(leaf.getPublicKey() instanceof RSAPublicKey)) {
                        fail(
                            result,
                            "Server public key is not RSA (got "
                                + leaf.getPublicKey().getAlgorithm()
                                + ")",
                            null);
                        ctx.close();
                      }
                    }

                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object message) {
                      ReferenceCountUtil.release(message);
                      if (leaf != null) {
                        result.complete(leaf);
                        ctx.close();
                      }
                    }

                    @Override
                    public void channelInactive(ChannelHandlerContext ctx) {
                      fail(
                          result,
                          leaf != null
                              ? "Server terminated the connection immediately after TLS handshake."
                                  + " This may indicate invalid TLS certificates (is this"
                                  + " coordinator's certificate issued by the runner's ca.crt?)"
                              : failedHandshake + "the connection was closed",
                          null);
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                      fail(result, failedHandshake + detail(cause), cause);
                      ctx.close();
                    }
                  });
        });
    return result;
  }

  /** Whether the certificate carries at least one dNSName subject alternative name. */
  static boolean hasDnsName(X509Certificate certificate) {
    try {
      Collection<List<?>> names = certificate.getSubjectAlternativeNames();
      if (names == null) {
        return false;
      }
      for (List<?> name : names) {
        if (!name.isEmpty() && Integer.valueOf(2).equals(name.get(0))) {
          return true;
        }
      }
      return false;
    } catch (CertificateParsingException e) {
      return false;
    }
  }

  /**
   * Tells whether the endpoint completes a TLS handshake (with no verification and no client
   * certificate), within {@code timeout}; false when it cannot be reached or does not speak TLS.
   * Never fails.
   */
  static CompletableFuture<Boolean> speaksTls(
      EventLoopGroup group, SslContext insecureContext, GrpcAddress address, Duration timeout) {
    CompletableFuture<Boolean> result = new CompletableFuture<>();
    CompletableFuture<X509Certificate> connected = new CompletableFuture<>();
    connect(
        group,
        address,
        timeout,
        connected,
        channel ->
            channel
                .pipeline()
                .addLast(
                    insecureContext.newHandler(channel.alloc(), address.host(), address.port()))
                .addLast(
                    new ChannelInboundHandlerAdapter() {
                      @Override
                      public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
                        if (event instanceof SslHandshakeCompletionEvent done) {
                          result.complete(done.isSuccess());
                          ctx.close();
                        }
                      }

                      @Override
                      public void channelInactive(ChannelHandlerContext ctx) {
                        result.complete(false);
                      }

                      @Override
                      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        result.complete(false);
                        ctx.close();
                      }
                    }));
    connected.whenComplete((ignored, error) -> result.complete(false));
    return result;
  }

  private interface Pipeline {
    void build(Channel channel);
  }

  private static void connect(
      EventLoopGroup group,
      GrpcAddress address,
      Duration timeout,
      CompletableFuture<?> result,
      Pipeline pipeline) {
    long millis = Math.max(1, timeout.toMillis());
    Bootstrap bootstrap =
        new Bootstrap()
            .group(group)
            .channel(NettyIo.socketChannel())
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, millis))
            .handler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel channel) {
                    pipeline.build(channel);
                  }
                });
    String where = address.host() + ":" + address.port();
    try {
      ChannelFuture connecting = bootstrap.connect(address.host(), address.port());
      connecting.addListener(
          connected -> {
            if (!connected.isSuccess()) {
              result.completeExceptionally(
                  new TransportException(
                      TransportException.Kind.UNAVAILABLE,
                      "TCP connect failed to " + where + ": " + detail(connected.cause()),
                      connected.cause()));
            }
          });
      ScheduledFuture<?> timer =
          group
              .next()
              .schedule(
                  () -> {
                    if (result.completeExceptionally(
                        new TransportException(
                            TransportException.Kind.UNAVAILABLE,
                            "TLS probe of " + where + ": no answer within " + millis + " ms"))) {
                      connecting.channel().close();
                    }
                  },
                  millis,
                  TimeUnit.MILLISECONDS);
      result.whenComplete((value, error) -> timer.cancel(false));
    } catch (RuntimeException e) { // the event loops are shut down
      result.completeExceptionally(
          new TransportException(
              TransportException.Kind.CANCELLED, "TLS probe of " + where + ": " + e, e));
    }
  }

  private static void fail(CompletableFuture<?> result, String message, Throwable cause) {
    result.completeExceptionally(
        new TransportException(TransportException.Kind.AUTHENTICATION_FAILED, message, cause));
  }

  /** The innermost message of a TLS error, such as {@code No subject alternative DNS name…}. */
  static String detail(Throwable error) {
    String message = null;
    int depth = 0;
    for (Throwable t = error; t != null && depth < 16; t = t.getCause(), depth++) {
      if (t.getMessage() != null && !t.getMessage().isBlank()) {
        message = t.getClass().getSimpleName() + ": " + t.getMessage();
      }
    }
    return message != null ? message : String.valueOf(error);
  }
}
