package org.modelrunner.client;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.modelrunner.spi.ModelEndpoint;

/**
 * How one fan-out is spread over the models it targets and when it completes: the fan-out seam.
 *
 * <p>A strategy makes a {@link Plan} for each fan-out: each model's deadline, how many calls may be
 * in flight at once, and whether the fan-out may complete before every model answered. The fleet
 * carries the plan out and keeps its guarantees whatever the plan says: every targeted model gets
 * exactly one outcome, and the fan-out completes by its deadline (the latest of the models'
 * deadlines) plus a small bound. Outcomes a plan causes are never counted against a model: a call
 * the fan-out no longer needed ends {@link CallStatus#CANCELLED} ({@link CallFailure#NOT_NEEDED}),
 * one that could not be sent before its deadline ends {@link CallStatus#SKIPPED} ({@link
 * CallFailure#NOT_SENT}).
 *
 * <p>Built in: {@link #all()} (the default), {@link #quorum(int)}, {@link #bounded(int)}, {@link
 * #perModelDeadlines(Function)} and {@link #latencyBudget(double, Duration, Duration)}. All but
 * {@code perModelDeadlines} (which takes a function) can also be chosen by name, with options,
 * through {@link #named(String, Map)}, which finds strategies through {@link
 * java.util.ServiceLoader}: a jar can add its own with a {@link FanOutStrategyProvider} listed in
 * {@code META-INF/services/org.modelrunner.client.FanOutStrategyProvider}.
 *
 * <pre>{@code
 * ModelFleet fleet = ModelFleet.builder()...fanOutStrategy(FanOutStrategy.bounded(200)).build();
 * fleet.callAndWait(FanOut.builder("predict").strategy(FanOutStrategy.quorum(10)).build());
 * fleet.callAndWait(FanOut.builder("predict").strategy(FanOutStrategy.named("quorum", Map.of("successes", "10"))).build());
 * }</pre>
 *
 * <p>Implementations must be thread-safe; plans are used by one fan-out each, but their methods may
 * be called from several threads (never at the same time for {@link Plan#completeAfter}).
 */
public interface FanOutStrategy {
  /**
   * Plans one fan-out. Called on the thread that starts it; must return quickly.
   *
   * @param targets the models targeted and connected, in the fan-out's order
   * @param timeout the fan-out's timeout (the {@link FanOut}'s, or the fleet's)
   */
  Plan plan(Targets targets, Duration timeout);

  /** The models a fan-out targets. */
  interface Targets {
    /** Returns how many there are. */
    int size();

    /** Returns the deployment of target {@code index}. */
    ModelEndpoint endpoint(int index);

    /** Returns the status of target {@code index} (counts, latency...); computed on each call. */
    ModelStatus status(int index);
  }

  /**
   * One fan-out's plan. The defaults are {@link #all()}'s: every call at once, one deadline, no
   * early end.
   */
  interface Plan {
    /**
     * Returns the deadline of target {@code index}'s call, from the fan-out's start. Default: the
     * fan-out's timeout. The fan-out ends by the latest of them.
     */
    default Duration timeout(int index, Duration fanOutTimeout) {
      return fanOutTimeout;
    }

    /** Returns how many calls of this fan-out may be in flight at once. Default: no limit. */
    default int maxInFlight() {
      return Integer.MAX_VALUE;
    }

    /**
     * Called after each outcome, one at a time: returns whether the fan-out is complete now. The
     * models that have no outcome yet end {@link CallStatus#CANCELLED}. Default: never (it
     * completes when every model has an outcome, or at its deadline).
     */
    default boolean completeAfter(CallOutcome outcome) {
      return false;
    }
  }

  /** Every targeted model at once, one deadline, exactly one outcome each: the default. */
  static FanOutStrategy all() {
    return FanOutStrategies.ALL;
  }

  /**
   * Completes once {@code successes} models answered {@code SUCCESS}, or at the deadline. The calls
   * still running then end {@link CallStatus#CANCELLED} (their answers are dropped), which the
   * failure policy does not count.
   *
   * @throws IllegalArgumentException if {@code successes < 1}
   */
  static FanOutStrategy quorum(int successes) {
    if (successes < 1) {
      throw new IllegalArgumentException("A quorum needs at least 1 success, got " + successes);
    }
    return (targets, timeout) ->
        new Plan() {
          private final AtomicInteger seen = new AtomicInteger();

          @Override
          public boolean completeAfter(CallOutcome outcome) {
            return outcome.isSuccess() && seen.incrementAndGet() >= successes;
          }
        };
  }

  /**
   * At most {@code maxInFlight} calls of the fan-out in flight at once, in the fan-out's order, one
   * deadline: for 10,000 remote models, so that a tick is not a burst of 10,000 requests. A model
   * whose call could not be sent before the deadline ends {@link CallStatus#SKIPPED} ({@link
   * CallFailure#NOT_SENT}), not counted.
   *
   * @throws IllegalArgumentException if {@code maxInFlight < 1}
   */
  static FanOutStrategy bounded(int maxInFlight) {
    if (maxInFlight < 1) {
      throw new IllegalArgumentException("maxInFlight must be at least 1, got " + maxInFlight);
    }
    return (targets, timeout) ->
        new Plan() {
          @Override
          public int maxInFlight() {
            return maxInFlight;
          }
        };
  }

  /**
   * Each model's deadline from its status, for example more inference budget for top performers.
   * The function runs once per model per fan-out, on the calling thread; a null or non-positive
   * answer means the fan-out's timeout.
   */
  static FanOutStrategy perModelDeadlines(Function<ModelStatus, Duration> deadline) {
    Objects.requireNonNull(deadline, "deadline");
    return (targets, timeout) -> {
      Duration[] deadlines = new Duration[targets.size()];
      for (int i = 0; i < deadlines.length; i++) {
        Duration chosen = deadline.apply(targets.status(i));
        deadlines[i] = chosen == null || chosen.isNegative() || chosen.isZero() ? timeout : chosen;
      }
      return new Plan() {
        @Override
        public Duration timeout(int index, Duration fanOutTimeout) {
          return deadlines[index];
        }
      };
    };
  }

  /**
   * Per-model deadlines from each model's own latency: {@code factor} × its p99, within {@code
   * [min, max]}; a model without answered calls yet gets {@code max}. A fast model is not given the
   * slow ones' budget, and a fan-out over fast models ends early.
   *
   * @throws IllegalArgumentException if {@code factor} is not positive, a duration is not positive,
   *     or {@code max < min}
   */
  static FanOutStrategy latencyBudget(double factor, Duration min, Duration max) {
    return FanOutStrategies.latencyBudget(factor, min, max);
  }

  /**
   * Returns the strategy named {@code name}, made with {@code options}, from the providers found
   * through {@link java.util.ServiceLoader} (the client's class loader and the thread's context
   * class loader). Built in: {@code all}; {@code quorum} ({@code successes}); {@code bounded}
   * ({@code maxInFlight}); {@code latency-budget} ({@code factor}, {@code min}, {@code max} as
   * durations such as {@code 250ms}).
   *
   * @throws IllegalArgumentException if no provider has that name (the message lists those
   *     available), or the options are invalid
   */
  static FanOutStrategy named(String name, Map<String, String> options) {
    return FanOutStrategies.named(name, options);
  }
}
