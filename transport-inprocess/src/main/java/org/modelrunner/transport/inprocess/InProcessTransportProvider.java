package org.modelrunner.transport.inprocess;

import java.util.Objects;
import java.util.Set;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.TransportProvider;
import org.modelrunner.spi.TransportSettings;

/**
 * The {@link TransportProvider} of {@code inproc://name} endpoints: models registered in this JVM
 * with {@link InProcessModels}. Registered in {@code
 * META-INF/services/org.modelrunner.spi.TransportProvider}, so a client finds it on the class path
 * with {@link java.util.ServiceLoader}.
 *
 * <p>Its transports take the same path as the network: a call is encoded once into bytes, the
 * runner decodes its own copy, and the reply comes back as bytes, with the message size limits of
 * both sides enforced; model code runs on the transport's shared worker threads, never on the
 * caller's.
 */
public final class InProcessTransportProvider extends TransportProvider {
  /** The URI scheme this provider serves. */
  public static final String SCHEME = "inproc";

  /** Creates the provider (used by {@link java.util.ServiceLoader}); never throws. */
  public InProcessTransportProvider() {}

  /** Returns {@code {"inproc"}}. */
  @Override
  public Set<String> schemes() {
    return Set.of(SCHEME);
  }

  /**
   * Creates a transport with the given settings; its message size limit is the client's side of the
   * limit (each runner has its own). Close it when done: it holds the shared threads while open.
   *
   * @throws NullPointerException if {@code settings} is null
   */
  @Override
  public ModelTransport create(TransportSettings settings) {
    return new InProcessTransport(Objects.requireNonNull(settings, "settings"));
  }
}
