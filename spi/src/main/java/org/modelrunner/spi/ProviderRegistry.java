package org.modelrunner.spi;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/**
 * The providers of one seam: those found through {@link ServiceLoader}, the available ones sorted
 * by descending {@link Provider#priority()} then class name, and a description of all of them
 * (including the ones that declined or failed to load) for the error message a user sees when
 * nothing fits.
 *
 * @param <P> the provider type
 */
public final class ProviderRegistry<P extends Provider> {
  private static final Comparator<Provider> ORDER =
      Comparator.comparingInt(Provider::priority)
          .reversed()
          .thenComparing(p -> p.getClass().getName());

  private final Class<P> type;
  private final List<P> available;
  private final List<String> descriptions;

  private ProviderRegistry(Class<P> type, List<P> available, List<String> descriptions) {
    this.type = type;
    this.available = List.copyOf(available);
    this.descriptions = List.copyOf(descriptions);
  }

  /**
   * Loads the providers of {@code type} through the class loader of {@code type} itself (so that a
   * provider is always of the same {@code type} as the caller's), creating new instances.
   */
  public static <P extends Provider> ProviderRegistry<P> load(Class<P> type) {
    return load(type, type.getClassLoader());
  }

  /** Loads the providers of {@code type} through the given class loader, creating new instances. */
  public static <P extends Provider> ProviderRegistry<P> load(Class<P> type, ClassLoader loader) {
    Objects.requireNonNull(type, "type");
    List<P> found = new ArrayList<>();
    List<String> failures = new ArrayList<>();
    Iterator<P> iterator = ServiceLoader.load(type, loader).iterator();
    while (true) {
      try {
        if (!iterator.hasNext()) {
          break;
        }
        found.add(iterator.next());
      } catch (ServiceConfigurationError e) {
        failures.add("failed to load: " + e.getMessage());
      }
    }
    return of(type, found, failures);
  }

  /** Returns a registry of the given provider instances, without {@link ServiceLoader}. */
  public static <P extends Provider> ProviderRegistry<P> of(
      Class<P> type, List<? extends P> providers) {
    return of(type, providers, List.of());
  }

  private static <P extends Provider> ProviderRegistry<P> of(
      Class<P> type, List<? extends P> providers, List<String> failures) {
    List<P> available = new ArrayList<>();
    List<String> descriptions = new ArrayList<>();
    for (P provider : providers) {
      boolean isAvailable;
      String reason;
      try {
        isAvailable = provider.isAvailable();
        reason = isAvailable ? "" : provider.unavailableReason();
      } catch (RuntimeException | LinkageError e) {
        isAvailable = false;
        reason = "isAvailable() threw " + e;
      }
      if (isAvailable) {
        available.add(provider);
        descriptions.add(provider.getClass().getName() + " (priority " + provider.priority() + ")");
      } else {
        descriptions.add(provider.getClass().getName() + " (declined: " + reason + ")");
      }
    }
    available.sort(ORDER);
    descriptions.addAll(failures);
    return new ProviderRegistry<>(type, available, descriptions);
  }

  /** Returns the available providers, most preferred first. */
  public List<P> providers() {
    return available;
  }

  /**
   * Returns one line that lists every provider seen and its state, such as {@code "ValueCodec
   * providers: a.B (priority 5), c.D (declined: needs x)"}, or says that none was found.
   */
  public String describe() {
    if (descriptions.isEmpty()) {
      return "no " + type.getSimpleName() + " provider was found on the class path";
    }
    return type.getSimpleName() + " providers: " + String.join(", ", descriptions);
  }
}
