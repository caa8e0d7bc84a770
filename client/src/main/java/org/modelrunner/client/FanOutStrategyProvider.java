package org.modelrunner.client;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.modelrunner.spi.Provider;

/**
 * Makes a {@link FanOutStrategy} by name: the provider of the fan-out seam, found through {@link
 * java.util.ServiceLoader} by {@link FanOutStrategy#named}. A jar adds a strategy with a subclass
 * (public, with a public no-argument constructor that never throws) listed in {@code
 * META-INF/services/org.modelrunner.client.FanOutStrategyProvider}. When two available providers
 * have the same name, the one with the higher {@link #priority()} wins.
 *
 * <p>The built-in providers are the nested classes: {@code all}, {@code quorum}, {@code bounded}
 * and {@code latency-budget}.
 */
public abstract class FanOutStrategyProvider extends Provider {
  /** Creates the provider. */
  protected FanOutStrategyProvider() {}

  /** Returns the name the strategy is chosen by, such as {@code quorum}. */
  public abstract String name();

  /** Returns the option names {@link #create} understands (for error messages). */
  public Set<String> options() {
    return Set.of();
  }

  /**
   * Makes the strategy.
   *
   * @param options its options, as text (see {@link #options()})
   * @throws IllegalArgumentException if an option is unknown, missing or invalid
   */
  public abstract FanOutStrategy create(Map<String, String> options);

  /** {@code all}: {@link FanOutStrategy#all()}; no option. */
  public static final class All extends FanOutStrategyProvider {
    @Override
    public String name() {
      return "all";
    }

    @Override
    public FanOutStrategy create(Map<String, String> options) {
      FanOutStrategies.check(this, options, Set.of());
      return FanOutStrategy.all();
    }
  }

  /** {@code quorum}: {@link FanOutStrategy#quorum(int)}; option {@code successes} (required). */
  public static final class Quorum extends FanOutStrategyProvider {
    @Override
    public String name() {
      return "quorum";
    }

    @Override
    public Set<String> options() {
      return Set.of("successes");
    }

    @Override
    public FanOutStrategy create(Map<String, String> options) {
      FanOutStrategies.check(this, options, Set.of("successes"));
      return FanOutStrategy.quorum(FanOutStrategies.integer(this, options, "successes"));
    }
  }

  /**
   * {@code bounded}: {@link FanOutStrategy#bounded(int)}; option {@code maxInFlight} (required).
   */
  public static final class Bounded extends FanOutStrategyProvider {
    @Override
    public String name() {
      return "bounded";
    }

    @Override
    public Set<String> options() {
      return Set.of("maxInFlight");
    }

    @Override
    public FanOutStrategy create(Map<String, String> options) {
      FanOutStrategies.check(this, options, Set.of("maxInFlight"));
      return FanOutStrategy.bounded(FanOutStrategies.integer(this, options, "maxInFlight"));
    }
  }

  /**
   * {@code latency-budget}: {@link FanOutStrategy#latencyBudget}; options {@code factor} (default
   * 3), {@code min} (default 50ms) and {@code max} (default 10s), durations as {@code 250ms},
   * {@code 2s} or ISO-8601.
   */
  public static final class LatencyBudget extends FanOutStrategyProvider {
    @Override
    public String name() {
      return "latency-budget";
    }

    @Override
    public Set<String> options() {
      return Set.of("factor", "min", "max");
    }

    @Override
    public FanOutStrategy create(Map<String, String> options) {
      FanOutStrategies.check(this, options, Set.of());
      double factor;
      try {
        factor = Double.parseDouble(options.getOrDefault("factor", "3"));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "latency-budget: factor is not a number: " + options.get("factor"));
      }
      Duration min = FanOutStrategies.duration(this, options, "min", Duration.ofMillis(50));
      Duration max = FanOutStrategies.duration(this, options, "max", Duration.ofSeconds(10));
      return FanOutStrategy.latencyBudget(factor, min, max);
    }
  }
}
