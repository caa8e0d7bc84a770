package org.modelrunner.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import org.modelrunner.spi.ModelEndpoint;

/**
 * One call to spread over a fleet: the method, its arguments (the same for every model, or computed
 * per model), which models to target (all connected ones by default), an optional timeout that
 * overrides the fleet's, and an optional consumer that sees each outcome as it arrives.
 *
 * <p>Arguments are plain Java values, converted to wire values by the fleet's {@link
 * org.modelrunner.spi.ValueConverter} once per fan-out (not once per model). Immutable; build with
 * {@link #builder(String)} or {@link #of(String, Object...)}.
 */
public final class FanOut {
  private final String method;
  private final List<Object> arguments;
  private final Map<String, Object> keywords;
  private final Function<ModelEndpoint, List<?>> perModelArguments;
  private final Function<ModelEndpoint, ModelArguments> perModel;
  private final Set<String> subset;
  private final Duration timeout;
  private final Consumer<CallOutcome> onOutcome;
  private final FanOutStrategy strategy;

  private FanOut(Builder builder) {
    this.method = builder.method;
    this.arguments =
        Collections.unmodifiableList(new ArrayList<>(builder.arguments)); // nulls are NONE
    this.keywords = Collections.unmodifiableMap(new LinkedHashMap<>(builder.keywords));
    this.perModelArguments = builder.perModelArguments;
    this.perModel = builder.perModel;
    this.subset = builder.subset == null ? null : Set.copyOf(builder.subset);
    this.timeout = builder.timeout;
    this.onOutcome = builder.onOutcome;
    this.strategy = builder.strategy;
  }

  /**
   * Returns a fan-out of {@code method} with the given positional arguments to every connected
   * model.
   */
  public static FanOut of(String method, Object... arguments) {
    return builder(method).arguments(arguments).build();
  }

  /** Returns a builder for a call of {@code method}. */
  public static Builder builder(String method) {
    return new Builder(method);
  }

  /** Returns the method name. */
  public String method() {
    return method;
  }

  /** Returns the positional arguments shared by every model (empty when computed per model). */
  public List<Object> arguments() {
    return arguments;
  }

  /** Returns the keyword arguments shared by every model. */
  public Map<String, Object> keywords() {
    return keywords;
  }

  /** Returns the function that computes each model's positional arguments, if any. */
  public Optional<Function<ModelEndpoint, List<?>>> perModelArguments() {
    return Optional.ofNullable(perModelArguments);
  }

  /** Returns the function that computes each model's positional and keyword arguments, if any. */
  public Optional<Function<ModelEndpoint, ModelArguments>> perModel() {
    return Optional.ofNullable(perModel);
  }

  /** Returns the ids of the targeted models; empty means every connected model. */
  public Optional<Set<String>> subset() {
    return Optional.ofNullable(subset);
  }

  /** Returns the timeout that overrides the fleet's default, if any. */
  public Optional<Duration> timeout() {
    return Optional.ofNullable(timeout);
  }

  /** Returns the strategy that overrides the fleet's for this fan-out, if any. */
  public Optional<FanOutStrategy> strategy() {
    return Optional.ofNullable(strategy);
  }

  /** Returns the consumer of outcomes as they arrive, if any. */
  public Optional<Consumer<CallOutcome>> onOutcome() {
    return Optional.ofNullable(onOutcome);
  }

  @Override
  public String toString() {
    return "FanOut{"
        + method
        + ", "
        + arguments.size()
        + " argument(s), "
        + keywords.size()
        + " keyword(s)"
        + (subset == null ? "" : ", subset of " + subset.size())
        + "}";
  }

  /** Builds a {@link FanOut}. */
  public static final class Builder {
    private final String method;
    private final List<Object> arguments = new ArrayList<>();
    private final Map<String, Object> keywords = new LinkedHashMap<>();
    private Function<ModelEndpoint, List<?>> perModelArguments;
    private Function<ModelEndpoint, ModelArguments> perModel;
    private Set<String> subset;
    private Duration timeout;
    private Consumer<CallOutcome> onOutcome;
    private FanOutStrategy strategy;

    private Builder(String method) {
      Objects.requireNonNull(method, "method");
      if (method.isEmpty()) {
        throw new IllegalArgumentException("method cannot be empty");
      }
      this.method = method;
    }

    /**
     * Appends positional arguments (Java values; {@code null} is NONE, and so is a null array:
     * {@code arguments((Object[]) null)} appends one NONE).
     */
    public Builder arguments(Object... values) {
      if (values == null) {
        arguments.add(null);
      } else {
        arguments.addAll(Arrays.asList(values));
      }
      return this;
    }

    /** Adds a keyword argument. */
    public Builder keyword(String name, Object value) {
      keywords.put(Objects.requireNonNull(name, "name"), value);
      return this;
    }

    /**
     * Computes each model's positional arguments from its endpoint, instead of sharing one list.
     * Keyword arguments stay shared.
     *
     * @throws IllegalStateException if shared positional arguments were given too
     */
    public Builder argumentsPerModel(Function<ModelEndpoint, List<?>> function) {
      if (!arguments.isEmpty()) {
        throw new IllegalStateException(
            "Positional arguments are either shared or per model, not both");
      }
      if (perModel != null) {
        throw new IllegalStateException("argumentsPerModel and perModel cannot both be set");
      }
      this.perModelArguments = Objects.requireNonNull(function, "function");
      return this;
    }

    /**
     * Computes each model's positional and keyword arguments from its endpoint (the Python client's
     * per-model argument function). Its keywords are added to the shared ones ({@link #keyword}),
     * and win over a shared keyword of the same name. The function runs on the calling thread, once
     * per targeted model; if it throws, the fan-out is not started and the exception propagates.
     *
     * @throws IllegalStateException if shared positional arguments or {@link #argumentsPerModel}
     *     were given
     */
    public Builder perModel(Function<ModelEndpoint, ModelArguments> function) {
      if (!arguments.isEmpty()) {
        throw new IllegalStateException(
            "Positional arguments are either shared or per model, not both");
      }
      if (perModelArguments != null) {
        throw new IllegalStateException("argumentsPerModel and perModel cannot both be set");
      }
      this.perModel = Objects.requireNonNull(function, "function");
      return this;
    }

    /**
     * Targets only these models (by model id). An empty collection targets nobody; an id the fleet
     * does not know fails the fan-out with {@link IllegalArgumentException}.
     */
    public Builder only(Collection<String> modelIds) {
      this.subset = new LinkedHashSet<>(modelIds);
      return this;
    }

    /**
     * Overrides the fleet's call timeout for this fan-out.
     *
     * @throws IllegalArgumentException if the timeout is not positive
     */
    public Builder timeout(Duration timeout) {
      this.timeout = Concurrency.requirePositive(timeout, "timeout");
      return this;
    }

    /**
     * Receives each outcome as soon as it is known, on the fleet's executor, one at a time, before
     * the fan-out's future completes.
     */
    public Builder onOutcome(Consumer<CallOutcome> consumer) {
      this.onOutcome = Objects.requireNonNull(consumer, "consumer");
      return this;
    }

    /**
     * Spreads this fan-out with {@code strategy} instead of the fleet's ({@link
     * FanOutStrategy#quorum}, {@link FanOutStrategy#bounded}, {@link FanOutStrategy#named}...).
     */
    public Builder strategy(FanOutStrategy strategy) {
      this.strategy = Objects.requireNonNull(strategy, "strategy");
      return this;
    }

    /** Returns the fan-out. */
    public FanOut build() {
      if ((perModelArguments != null || perModel != null) && !arguments.isEmpty()) {
        throw new IllegalStateException(
            "Positional arguments are either shared or per model, not both");
      }
      return new FanOut(this);
    }
  }
}
