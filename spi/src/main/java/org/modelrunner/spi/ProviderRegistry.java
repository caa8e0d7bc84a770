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
   * provider is always of the same {@code type} as the caller's), creating new instances. The
   * service files are read once per type: that class loader's services do not change, and reading
   * them took about 60 µs for each converter, which ten thousand models each make.
   */
  public static <P extends Provider> ProviderRegistry<P> load(Class<P> type) {
    Objects.requireNonNull(type, "type");
    Located located = LOCATED.get(type);
    List<P> found = new ArrayList<>();
    List<String> failures = new ArrayList<>(located.failures());
    for (ServiceLoader.Provider<?> provider : located.providers()) {
      try {
        found.add(type.cast(provider.get()));
      } catch (ServiceConfigurationError e) {
        failures.add("failed to load: " + e.getMessage());
      }
    }
    return of(type, found, failures);
  }

  /** Loads the providers of {@code type} through the given class loader, creating new instances. */
  public static <P extends Provider> ProviderRegistry<P> load(Class<P> type, ClassLoader loader) {
    Objects.requireNonNull(type, "type");
    if (loader == type.getClassLoader()) {
      return load(type);
    }
    List<P> found = new ArrayList<>();
    List<String> failures = new ArrayList<>();
    drain(ServiceLoader.load(type, loader).iterator(), found, failures);
    return of(type, found, failures);
  }

  /**
   * Takes every element of a service loader's iterator into {@code found}, and the description of
   * each entry that fails to load into {@code failures} (the iterator goes on past them).
   */
  private static <T> void drain(
      Iterator<? extends T> iterator, List<T> found, List<String> failures) {
    while (true) {
      try {
        if (!iterator.hasNext()) {
          return;
        }
        found.add(iterator.next());
      } catch (ServiceConfigurationError e) {
        failures.add("failed to load: " + e.getMessage());
      }
    }
  }

  /** The providers of a type its own class loader lists, and the entries that failed to load. */
  private record Located(List<ServiceLoader.Provider<?>> providers, List<String> failures) {}

  /** The providers each type's own class loader lists, located once (not instantiated). */
  private static final ClassValue<Located> LOCATED =
      new ClassValue<>() {
        @Override
        protected Located computeValue(Class<?> type) {
          List<ServiceLoader.Provider<?>> providers = new ArrayList<>();
          List<String> failures = new ArrayList<>();
          drain(
              ServiceLoader.load(type, type.getClassLoader()).stream().iterator(),
              providers,
              failures);
          return new Located(List.copyOf(providers), List.copyOf(failures));
        }
      };

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
