package org.modelrunner.spi;

import java.util.Set;

/**
 * The transport seam: makes {@link ModelTransport}s for some URI schemes. Found with {@link
 * java.util.ServiceLoader} (register it in {@code
 * META-INF/services/org.modelrunner.spi.TransportProvider}); the client picks, for an endpoint's
 * scheme, the available provider of highest priority.
 */
public abstract class TransportProvider extends Provider {
  /**
   * Creates the provider; implementations have a public no-argument constructor that never throws.
   */
  protected TransportProvider() {}

  /** Returns the URI schemes this provider's transports serve, such as {@code "grpc"}. */
  public abstract Set<String> schemes();

  /** Creates a transport with the given settings. */
  public abstract ModelTransport create(TransportSettings settings);
}
