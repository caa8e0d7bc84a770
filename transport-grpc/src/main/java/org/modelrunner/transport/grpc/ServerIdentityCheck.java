package org.modelrunner.transport.grpc;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.util.List;

/**
 * Secure mode's check of every answer on a model's call channel (PROTOCOL-SECURITY §A.5): the
 * runner's {@code x-server-*} response headers must verify (§A.3, the client's wording) against the
 * wallet, model id and hotkey the directory gave, and the TLS key the probe saw. A call whose
 * headers fail is cancelled and closes {@code UNAUTHENTICATED} with an {@link
 * AuthenticationFailure} as its cause, which the transport reports as {@code
 * AUTHENTICATION_FAILED}. A call that ends without headers (a trailers-only error such as {@code
 * Server busy}, or the runner refusing this coordinator) keeps its own status: it never delivered
 * an answer, so there is nothing to trust or distrust.
 */
final class ServerIdentityCheck implements ClientInterceptor {
  /** Marks a status whose call failed the client's own verification of the runner. */
  static final class AuthenticationFailure extends Exception {
    private static final long serialVersionUID = 1L;

    AuthenticationFailure(String message) {
      super(message, null, false, false);
    }
  }

  private final String expectedWallet;
  private final byte[] tlsSpki;
  private final String expectedModelId;
  private final String expectedHotkey;

  /**
   * The last identity that verified ({@code message}, {@code signature}, {@code wallet}): the
   * runner sends the same one on every answer, and the same input verifies the same way, so it is
   * checked once (an Ed25519 verification costs about a millisecond of CPU).
   */
  private volatile List<String> verified;

  ServerIdentityCheck(
      String expectedWallet, byte[] tlsSpki, String expectedModelId, String expectedHotkey) {
    this.expectedWallet = expectedWallet;
    this.tlsSpki = tlsSpki.clone();
    this.expectedModelId = expectedModelId;
    this.expectedHotkey = expectedHotkey;
  }

  /** Verifies a set of response headers; returns the protocol's message, or null if they pass. */
  String refusal(Metadata headers) {
    String message = headers.get(Delegation.AUTH_MESSAGE);
    String signature = headers.get(Delegation.AUTH_SIGNATURE);
    String wallet = headers.get(Delegation.WALLET_PUBKEY);
    List<String> identity =
        message == null || signature == null || wallet == null
            ? null
            : List.of(message, signature, wallet);
    if (identity != null && identity.equals(verified)) {
      return null;
    }
    try {
      Delegation.verifyServerHeaders(
          headers, expectedWallet, tlsSpki, expectedModelId, expectedHotkey);
      verified = identity;
      return null;
    } catch (Delegation.Failure e) {
      return e.getMessage();
    }
  }

  @Override
  public <Q, R> ClientCall<Q, R> interceptCall(
      MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
    return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
      @Override
      public void start(Listener<R> listener, Metadata headers) {
        super.start(new Checked<>(listener, delegate()), headers);
      }
    };
  }

  private final class Checked<R>
      extends ForwardingClientCallListener.SimpleForwardingClientCallListener<R> {
    private final ClientCall<?, R> call;
    private boolean verified; // the call's callbacks are serialized
    private String failure;

    Checked(ClientCall.Listener<R> listener, ClientCall<?, R> call) {
      super(listener);
      this.call = call;
    }

    @Override
    public void onHeaders(Metadata headers) {
      String refusal = refusal(headers);
      if (refusal == null) {
        verified = true;
        super.onHeaders(headers);
        return;
      }
      failure = refusal;
      call.cancel("The runner's identity failed verification: " + refusal, null);
    }

    @Override
    public void onMessage(R message) {
      if (verified) {
        super.onMessage(message);
      } else if (failure == null) {
        failure = "Missing auth metadata (an answer arrived without response headers)";
        call.cancel(failure, null);
      }
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      if (failure != null) {
        super.onClose(
            Status.UNAUTHENTICATED
                .withDescription(failure)
                .withCause(new AuthenticationFailure(failure)),
            trailers);
        return;
      }
      super.onClose(status, trailers);
    }
  }
}
