package org.modelrunner.spi;

import java.net.URI;

/**
 * A way to reach model endpoints of some URI schemes (such as {@code grpc://host:port} or {@code
 * inproc://name}), created by a {@link TransportProvider}. One transport serves many connections
 * and shares its resources (threads, event loops, channels) among them.
 */
public interface ModelTransport extends AutoCloseable {
  /**
   * Prepares a call for many connections: the work every model's request has in common (such as
   * encoding it) is done here, once.
   *
   * @throws TransportException of kind {@link TransportException.Kind#MESSAGE_TOO_LARGE} if the
   *     request exceeds the size limit
   */
  PreparedCall prepare(String methodName, Arguments arguments);

  /**
   * Returns a connection to {@code endpoint}. Never blocks: the connection is established in the
   * background, and requests sent before it is ready wait for it within their own timeout.
   *
   * @throws IllegalArgumentException if this transport does not serve the endpoint's scheme, or the
   *     URI is malformed
   */
  ModelConnection connect(URI endpoint);

  /**
   * Returns a connection to a model's endpoint, as a {@link ModelDirectory} announced it. A
   * transport whose authentication depends on the model (the gRPC transport's secure mode checks
   * the runner's identity against the model id and the infos' wallet and hotkey; its gateway tokens
   * name the model) uses them; by default this is {@link #connect(URI)
   * connect(endpoint.address())}.
   *
   * @throws IllegalArgumentException if this transport does not serve the endpoint's scheme, or the
   *     URI is malformed
   */
  default ModelConnection connect(ModelEndpoint endpoint) {
    return connect(endpoint.address());
  }

  /** Closes every connection this transport made and releases its resources. Idempotent. */
  @Override
  void close();
}
