package org.modelrunner.transport.inprocess;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.PreparedCall;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.TransportSettings;

/**
 * The client side of the in-process transport: prepares calls (encodes them once, within the
 * client's size limit) and makes connections to {@code inproc://} endpoints. It holds a reference
 * to the shared threads while open; closing it closes its connections.
 */
final class InProcessTransport implements ModelTransport {
  final int maxMessageBytes;
  final SharedResources resources;

  /** Where its connections keep their requests in flight. */
  final InFlightHeads inFlightHeads = new InFlightHeads();

  private final SharedResources.Reference reference;
  private final Set<InProcessConnection> connections = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  InProcessTransport(TransportSettings settings) {
    this.maxMessageBytes = settings.maxMessageBytes();
    this.reference = SharedResources.acquire();
    this.resources = reference.get();
  }

  /**
   * Encodes the request once; the bytes are shared by every connection the call is sent on.
   *
   * @throws TransportException of kind {@code MESSAGE_TOO_LARGE} if the request exceeds this
   *     transport's limit
   * @throws NullPointerException if an argument is null
   */
  @Override
  public PreparedCall prepare(String methodName, Arguments arguments) {
    Objects.requireNonNull(methodName, "methodName");
    Objects.requireNonNull(arguments, "arguments");
    return encode(methodName, arguments);
  }

  /** Returns {@code call} encoded: as is if it is already, else encoded now. */
  EncodedCall encode(PreparedCall call) {
    if (call instanceof EncodedCall encoded) {
      return encoded;
    }
    return encode(
        Objects.requireNonNull(call.methodName(), "methodName"),
        Objects.requireNonNull(call.arguments(), "arguments"));
  }

  private EncodedCall encode(String methodName, Arguments arguments) {
    byte[] name = methodName.getBytes(StandardCharsets.UTF_8);
    long size = WireFormat.requestSize(name, arguments);
    if (size > maxMessageBytes) {
      throw tooLarge(size);
    }
    return new EncodedCall(
        methodName, arguments, WireFormat.encodeRequest(WireFormat.CALL, name, arguments, size));
  }

  TransportException tooLarge(long size) {
    return new TransportException(
        TransportException.Kind.MESSAGE_TOO_LARGE,
        "The request is "
            + size
            + " bytes, over the client's limit of "
            + maxMessageBytes
            + " bytes");
  }

  /**
   * Returns a connection to {@code inproc://name}; the name is resolved at each request.
   *
   * @throws IllegalArgumentException if the URI is not {@code inproc://name}
   * @throws IllegalStateException if this transport is closed
   */
  @Override
  public ModelConnection connect(URI endpoint) {
    String name = InProcessModels.nameOf(endpoint);
    if (closed) {
      throw new IllegalStateException("This in-process transport is closed");
    }
    InProcessConnection connection = new InProcessConnection(this, endpoint, name);
    connections.add(connection);
    if (closed) {
      connection.close();
    }
    return connection;
  }

  void forget(InProcessConnection connection) {
    connections.remove(connection);
  }

  /** Closes every connection (their requests in flight fail {@code CANCELLED}). Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (InProcessConnection connection : connections) {
      connection.close();
    }
    reference.release();
  }

  @Override
  public String toString() {
    return "InProcessTransport{maxMessageBytes=" + maxMessageBytes + "}";
  }
}
