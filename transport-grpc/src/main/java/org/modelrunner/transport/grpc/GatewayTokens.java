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

  GatewayTokens(GatewayCredentials credentials) {
    this.credentials = credentials;
  }

  @Override
  public <Q, R> ClientCall<Q, R> interceptCall(
      MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
    String modelId = options.getOption(MODEL_ID);
    return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
      @Override
      public void start(Listener<R> listener, Metadata headers) {
        if (modelId != null) {
          headers.merge(credentials.token(modelId));
        }
        super.start(listener, headers);
      }
    };
  }
}
