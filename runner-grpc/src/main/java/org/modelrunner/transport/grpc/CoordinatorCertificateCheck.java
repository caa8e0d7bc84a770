package org.modelrunner.transport.grpc;

import io.grpc.ForwardingServerCall;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthGrpc;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Secure mode's per-call checks (PROTOCOL-SECURITY §A.4), in the Python runner's order: the
 * coordinator certificate's SPKI hash, then the server-identity headers, sent before the handler
 * runs. See {@link SecureMode} for which calls are checked.
 */
final class CoordinatorCertificateCheck implements ServerInterceptor {
  static final String HASH_MISMATCH = "TLS certificate hash does not match registered certificate";
  static final String NO_CLIENT_CERTIFICATE = "No client certificate (mTLS required)";

  private static final Logger LOG = Logger.getLogger(CoordinatorCertificateCheck.class.getName());

  private final SecureMode mode;

  CoordinatorCertificateCheck(SecureMode mode) {
    this.mode = mode;
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    boolean unary = call.getMethodDescriptor().getType() == MethodType.UNARY;
    if (!unary && HealthGrpc.SERVICE_NAME.equals(call.getMethodDescriptor().getServiceName())) {
      return next.startCall(call, headers); // Watch: untouched, as the Python runner
    }
    String refusal = refusal(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    if (refusal != null) {
      LOG.log(
          Level.WARNING,
          () ->
              "Secure mode: refused /"
                  + call.getMethodDescriptor().getFullMethodName()
                  + " from "
                  + call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)
                  + ": "
                  + refusal);
      call.close(Status.UNAUTHENTICATED.withDescription(refusal.split(":", 2)[0]), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    if (!unary) {
      return next.startCall(call, headers);
    }
    call.sendHeaders(mode.identityHeaders());
    return next.startCall(new HeadersSent<>(call), headers);
  }

  /**
   * Returns why the peer is refused (the status description, then a colon and detail for the log),
   * or null.
   */
  private String refusal(SSLSession session) {
    X509Certificate leaf = null;
    if (session != null) {
      try {
        Certificate[] peer = session.getPeerCertificates();
        if (peer.length > 0 && peer[0] instanceof X509Certificate certificate) {
          leaf = certificate;
        }
      } catch (SSLPeerUnverifiedException e) {
        leaf = null;
      }
    }
    if (leaf == null) {
      return NO_CLIENT_CERTIFICATE;
    }
    String hash = Pem.spkiSha256Hex(leaf.getPublicKey());
    return mode.isRegistered(hash)
        ? null
        : HASH_MISMATCH + ": the client key's SPKI SHA-256 is " + hash;
  }

  /** The call once the identity headers are sent: the handler's own (empty) headers are dropped. */
  private static final class HeadersSent<ReqT, RespT>
      extends ForwardingServerCall.SimpleForwardingServerCall<ReqT, RespT> {
    HeadersSent(ServerCall<ReqT, RespT> call) {
      super(call);
    }

    @Override
    public void sendHeaders(Metadata headers) {
      if (headers.keys().iterator().hasNext()) {
        LOG.fine(() -> "Secure mode: headers sent after the identity headers dropped: " + headers);
      }
    }
  }
}
