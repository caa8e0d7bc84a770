package org.modelrunner.transport.grpc;

import java.util.concurrent.CompletableFuture;
import org.modelrunner.spi.TransportException;

/**
 * The channels of one connection in secure mode (PROTOCOL-SECURITY §A.5), which no other connection
 * shares: they trust only the certificate the runner showed to this connection's TLS probe, and
 * check answers against this model. The probe runs on the first request (a connection starts it at
 * once); a probe that failed is run again by the next request, as each connection attempt of the
 * Python client probes anew.
 */
final class SecureSession {
  /** The directory's info that names the wallet that must have signed the runner's identity. */
  static final String WALLET_INFO = "cruncher_wallet_pubkey";

  /** The directory's info that names the hotkey the runner's identity must carry. */
  static final String HOTKEY_INFO = "cruncher_hotkey";

  private final GrpcTransport transport;
  private final GrpcAddress address;
  private final String modelId;
  private final String wallet;
  private final String hotkey;
  private final String target;
  private CompletableFuture<EndpointChannels> channels; // guarded by this
  private boolean closed; // guarded by this

  SecureSession(
      GrpcTransport transport, GrpcAddress address, String modelId, String wallet, String hotkey) {
    this.transport = transport;
    this.address = address;
    this.modelId = modelId;
    this.wallet = wallet;
    this.hotkey = hotkey;
    this.target = targetName(modelId);
  }

  /** The name a runner's certificate must carry: {@code model-node-<id>.crunchdao.internal}. */
  static String targetName(String modelId) {
    return "model-node-" + modelId + ".crunchdao.internal";
  }

  /**
   * Returns the connection's channels, probing the runner first if no probe succeeded yet; the
   * future fails with the probe's {@link TransportException}.
   */
  synchronized CompletableFuture<EndpointChannels> channels() {
    if (closed) {
      return CompletableFuture.failedFuture(
          new TransportException(TransportException.Kind.CANCELLED, "closed"));
    }
    if (channels == null || channels.isCompletedExceptionally()) {
      channels =
          transport
              .probe(address, target)
              .thenApply(
                  leaf ->
                      open(
                          transport.pinnedChannels(
                              address,
                              target,
                              leaf,
                              new ServerIdentityCheck(
                                  wallet, leaf.getPublicKey().getEncoded(), modelId, hotkey))));
    }
    return channels;
  }

  private EndpointChannels open(EndpointChannels opened) {
    synchronized (this) {
      if (!closed) {
        return opened;
      }
    }
    opened.shutdownNow();
    throw new TransportException(TransportException.Kind.CANCELLED, "closed");
  }

  /** Shuts the channels down gracefully (requests running finish); idempotent. */
  void close() {
    CompletableFuture<EndpointChannels> opened;
    synchronized (this) {
      closed = true;
      opened = channels;
    }
    if (opened != null) {
      opened.thenAccept(
          channels -> {
            channels.shutdown();
            transport.forget(channels);
          });
    }
  }

  @Override
  public String toString() {
    return "SecureSession{" + address + " as " + target + "}";
  }
}
