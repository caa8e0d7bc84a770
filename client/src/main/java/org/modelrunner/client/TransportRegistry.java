package org.modelrunner.client;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.ProviderRegistry;
import org.modelrunner.spi.TransportProvider;
import org.modelrunner.spi.TransportSettings;

/**
 * The transports of one fleet: one per provider, created on first use, found by endpoint scheme.
 */
final class TransportRegistry implements AutoCloseable {
  private static final Map<String, String> KNOWN_ARTIFACTS =
      Map.of(
          "grpc", "org.modelrunner:model-runner-transport-grpc",
          "inproc", "org.modelrunner:model-runner-transport-inprocess");

  private final ProviderRegistry<TransportProvider> providers;
  private final List<TransportProvider> given;
  private final TransportSettings settings;
  private final Map<TransportProvider, ModelTransport> transports = new LinkedHashMap<>();
  private boolean closed;

  /**
   * @param given providers the fleet's builder was given, which serve their schemes before any
   *     found on the class path
   */
  TransportRegistry(
      ProviderRegistry<TransportProvider> providers,
      List<TransportProvider> given,
      TransportSettings settings) {
    this.providers = providers;
    this.given = List.copyOf(given);
    this.settings = settings;
  }

  /**
   * Returns the transport for the endpoint's scheme.
   *
   * @throws IllegalStateException if no transport serves that scheme: the message names the
   *     artifact to add
   */
  synchronized ModelTransport transportFor(URI endpoint) {
    if (closed) {
      throw new IllegalStateException("The fleet is closed");
    }
    TransportProvider provider = providerFor(endpoint);
    return transports.computeIfAbsent(provider, p -> p.create(settings));
  }

  /** Throws the missing-transport error if no provider serves the endpoint's scheme. */
  void check(URI endpoint) {
    providerFor(endpoint);
  }

  private TransportProvider providerFor(URI endpoint) {
    String scheme = endpoint.getScheme();
    if (scheme != null) {
      for (TransportProvider provider : given) {
        if (provider.schemes().contains(scheme)) {
          return provider;
        }
      }
      for (TransportProvider provider : providers.providers()) {
        if (provider.schemes().contains(scheme)) {
          return provider;
        }
      }
    }
    String artifact = KNOWN_ARTIFACTS.get(scheme);
    throw new IllegalStateException(
        "No transport for the endpoint "
            + endpoint
            + ": "
            + (artifact != null
                ? "add " + artifact + " to the class path"
                : "add a transport that serves the scheme '" + scheme + "' to the class path")
            + " ("
            + providers.describe()
            + ")");
  }

  @Override
  public synchronized void close() {
    closed = true;
    for (ModelTransport transport : transports.values()) {
      try {
        transport.close();
      } catch (RuntimeException e) {
        System.getLogger(Concurrency.FLEET_LOGGER)
            .log(System.Logger.Level.WARNING, "Closing a transport failed: " + e, e);
      }
    }
    transports.clear();
  }
}
