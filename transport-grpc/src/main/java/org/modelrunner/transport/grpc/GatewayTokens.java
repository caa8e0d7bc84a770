package org.modelrunner.transport.grpc;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;

/**
 * Gateway authentication on a call channel (PROTOCOL-SECURITY §B.2): appends a fresh token, signed
 * now, for the model the request is for ({@link #MODEL_ID}, set by the connection) after the
 * request's other metadata.
 */
final class GatewayTokens implements ClientInterceptor {
  /** The model a request is for. */
  static final CallOptions.Key<String> MODEL_ID = CallOptions.Key.create("modelrunner-model-id");

  private final GatewayCredentials credentials;

  /**
   * The last token made, for its model and second: RSASSA-PKCS1-v1_5 is deterministic, so a token
   * made again within the same second would be the same bytes; signing costs about a millisecond of
   * CPU. A channel serves one endpoint, usually one model.
   */
  private volatile Token last;

  private record Token(String modelId, long second, Metadata headers) {}

  GatewayTokens(GatewayCredentials credentials) {
    this.credentials = credentials;
  }

  /** The token for a request to {@code modelId} now. */
  Metadata token(String modelId) {
    long second = credentials.currentSecond();
    Token token = last;
    if (token == null || token.second() != second || !token.modelId().equals(modelId)) {
      token = new Token(modelId, second, credentials.token(modelId, second));
      last = token;
    }
    return token.headers();
  }

  @Override
  public <Q, R> ClientCall<Q, R> interceptCall(
      MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
    String modelId = options.getOption(MODEL_ID);
    return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
      @Override
      public void start(Listener<R> listener, Metadata headers) {
        if (modelId != null) {
          headers.merge(token(modelId));
        }
        super.start(listener, headers);
      }
    };
  }
}
