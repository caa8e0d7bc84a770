package org.modelrunner.client;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.modelrunner.spi.ProviderRegistry;

/** The built-in strategies' shared parts and the lookup by name. */
final class FanOutStrategies {
  private FanOutStrategies() {}

  /** {@link FanOutStrategy#all()}: the default plan; the fleet keeps its fast path for it. */
  static final FanOutStrategy.Plan ALL_PLAN = new FanOutStrategy.Plan() {};

  static final FanOutStrategy ALL =
      new FanOutStrategy() {
        @Override
        public Plan plan(Targets targets, Duration timeout) {
          return ALL_PLAN;
        }

        @Override
        public String toString() {
          return "all";
        }
      };

  static FanOutStrategy latencyBudget(double factor, Duration min, Duration max) {
    if (!(factor > 0) || Double.isInfinite(factor)) {
      throw new IllegalArgumentException("The latency factor must be positive, got " + factor);
    }
    Concurrency.requirePositive(min, "The minimum deadline");
    Concurrency.requirePositive(max, "The maximum deadline");
    if (max.compareTo(min) < 0) {
      throw new IllegalArgumentException(
          "The maximum deadline (" + max + ") is below the minimum (" + min + ")");
    }
    return FanOutStrategy.perModelDeadlines(
        status -> {
          if (status.latency().count() == 0) {
            return max;
          }
          long micros =
              (long) Math.min(Long.MAX_VALUE / 1000.0, status.latency().p99Micros() * factor);
          Duration budget = Duration.ofNanos(micros * 1000);
          return budget.compareTo(min) < 0 ? min : budget.compareTo(max) > 0 ? max : budget;
        });
  }

  /** The providers of both class loaders, the highest priority first for each name. */
  static FanOutStrategy named(String name, Map<String, String> options) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(options, "options");
    Map<String, FanOutStrategyProvider> byName = new LinkedHashMap<>();
    List<FanOutStrategyProvider> providers = new ArrayList<>();
    providers.addAll(ProviderRegistry.load(FanOutStrategyProvider.class).providers());
    ClassLoader context = Thread.currentThread().getContextClassLoader();
    if (context != null && context != FanOutStrategyProvider.class.getClassLoader()) {
      providers.addAll(ProviderRegistry.load(FanOutStrategyProvider.class, context).providers());
    }
    providers.sort((a, b) -> Integer.compare(b.priority(), a.priority()));
    for (FanOutStrategyProvider provider : providers) {
      byName.putIfAbsent(provider.name(), provider);
    }
    FanOutStrategyProvider provider = byName.get(name);
    if (provider == null) {
      throw new IllegalArgumentException(
          "No fan-out strategy is named '"
              + name
              + "'; available: "
              + new TreeSet<>(byName.keySet())
              + " (a jar adds one with a FanOutStrategyProvider in"
              + " META-INF/services/org.modelrunner.client.FanOutStrategyProvider)");
    }
    return provider.create(Map.copyOf(options));
  }

  static void check(
      FanOutStrategyProvider provider, Map<String, String> options, Set<String> required) {
    Set<String> unknown = new HashSet<>(options.keySet());
    unknown.removeAll(provider.options());
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException(
          "The fan-out strategy '"
              + provider.name()
              + "' has no option "
              + new TreeSet<>(unknown)
              + "; its options: "
              + new TreeSet<>(provider.options()));
    }
    for (String option : required) {
      if (!options.containsKey(option)) {
        throw new IllegalArgumentException(
            "The fan-out strategy '" + provider.name() + "' needs the option '" + option + "'");
      }
    }
  }

  static int integer(FanOutStrategyProvider provider, Map<String, String> options, String option) {
    String value = options.get(option);
    try {
      return Integer.parseInt(value.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "The fan-out strategy '"
              + provider.name()
              + "': "
              + option
              + " is not a whole number: '"
              + value
              + "'");
    }
  }

  static Duration duration(
      FanOutStrategyProvider provider,
      Map<String, String> options,
      String option,
      Duration otherwise) {
    String value = options.get(option);
    if (value == null) {
      return otherwise;
    }
    String text = value.strip().toLowerCase(Locale.ROOT);
    try {
      if (text.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(text.substring(0, text.length() - 2).strip()));
      }
      if (text.endsWith("s") && !text.startsWith("p")) {
        return Duration.ofMillis(
            Math.round(Double.parseDouble(text.substring(0, text.length() - 1).strip()) * 1000));
      }
      return Duration.parse(value.strip());
    } catch (NumberFormatException | DateTimeParseException e) {
      throw new IllegalArgumentException(
          "The fan-out strategy '"
              + provider.name()
              + "': "
              + option
              + " is not a duration (250ms, 2s, PT2S): '"
              + value
              + "'");
    }
  }
}
