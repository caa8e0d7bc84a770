package org.modelrunner.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.DirectoryStatus;
import org.modelrunner.spi.ModelDirectory;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.TransportSettings;
import org.modelrunner.spi.ValueConverter;

/**
 * A coordinator's fleet of models: it follows a {@link ModelDirectory}, connects to and sets up
 * each model it lists, and fans calls out to all of them (or a subset) concurrently, with a
 * deadline.
 *
 * <pre>{@code
 * try (ModelFleet fleet = ModelFleet.builder()
 *     .directory(StaticModelDirectory.of("inproc://alice", "inproc://bob"))
 *     .baseClass("com.example.tracker.TrackerBase")
 *     .callTimeout(Duration.ofSeconds(2))
 *     .build()) {
 *   fleet.awaitConnected(2, Duration.ofSeconds(30));
 *   fleet.callAndWait(FanOut.of("tick", Map.of("price", 101.5)));
 *   for (CallOutcome outcome : fleet.callAndWait(FanOut.of("predict")).outcomes()) {
 *     System.out.println(outcome.modelId() + " " + outcome.status() + " " + outcome.value());
 *   }
 * }
 * }</pre>
 *
 * <h2>Guarantees</h2>
 *
 * <ul>
 *   <li>Every model targeted by a fan-out gets exactly one {@link CallOutcome}: {@code SUCCESS},
 *       {@code FAILURE} (with the reason), {@code TIMEOUT}, or {@code SKIPPED} (the cooldown
 *       below); the fan-out completes by its deadline plus a small bound, whatever the models do.
 *       The models targeted are those connected when the call starts (or the {@linkplain
 *       FanOut.Builder#only subset}: known but unconnected ones fail with {@link
 *       CallFailure#NOT_CONNECTED}).
 *   <li>A model never has two calls in flight from this fleet: calls to a model wait in a small
 *       bounded queue, and one that waits past its fan-out's deadline is never sent.
 *   <li>No caller thread waits on model work (except in {@link #callAndWait}); results, per-outcome
 *       callbacks and {@link FleetListener} events run on the fleet's executor, one at a time,
 *       never on a transport thread. The fleet uses two threads of its own (timers and membership;
 *       callbacks when no executor is given), never one per model.
 * </ul>
 *
 * <h2>Failure policy and membership</h2>
 *
 * Models that keep failing or timing out are disconnected and reported to the directory, as by the
 * Python client, and directory reports (joins, redeploys, restarts, leaves) are applied without
 * waiting on any model: the {@linkplain org.modelrunner.client package overview} gives the rules,
 * and {@link Builder} their settings.
 *
 * <p>{@link #awaitSettled} waits until every model of the first snapshot connected or failed;
 * {@link #awaitConnected} until enough models are connected; {@link #models()} tells each model's
 * state, counts and latency.
 */
public final class ModelFleet implements AutoCloseable {
  private final FleetParts parts;

  private ModelFleet(Builder builder) {
    this.parts = new FleetParts(builder);
  }

  /** Returns a builder. */
  public static Builder builder() {
    return new Builder();
  }

  // ---------------------------------------------------------------------------------------------
  // Fan-out

  /**
   * Starts a fan-out and returns its result's future, which completes (on the fleet's executor)
   * when every targeted model has an outcome, by the deadline plus a small bound.
   *
   * @throws IllegalArgumentException if the subset names a model the fleet does not know
   * @throws org.modelrunner.spi.ValueConversionException if an argument cannot be converted
   * @throws TransportException of kind {@code MESSAGE_TOO_LARGE} if the request is over the size
   *     limit
   * @throws IllegalStateException if the fleet is closed
   */
  public CompletableFuture<FanOutResult> call(FanOut request) {
    return parts.engine.call(request);
  }

  /**
   * Runs a fan-out and waits for its result: the blocking convenience over {@link #call(FanOut)}.
   * It returns as soon as the result is complete (after the request's per-outcome callbacks, if it
   * has any), without waiting for the fleet's executor to complete {@link #call}'s future.
   *
   * @throws InterruptedException if the thread is interrupted while waiting
   * @throws IllegalArgumentException if the subset names a model the fleet does not know
   */
  public FanOutResult callAndWait(FanOut request) throws InterruptedException {
    try {
      return parts.engine.start(request).awaited().get();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new IllegalStateException(cause);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // What coordinators can see

  /** Returns the status of every model the fleet knows (connected, connecting or disconnected). */
  public List<ModelStatus> models() {
    return parts.membership.models();
  }

  /**
   * Returns the state of the directory's link to its source: for the Model Orchestrator, whether
   * its connection is up, or since when it is reconnecting and why; empty for a directory without
   * one (a static list). While it is not connected the fleet keeps calling the models it has.
   */
  public Optional<DirectoryStatus> directoryStatus() {
    return parts.directory.status();
  }

  /** Returns the ids of the models that are connected now, sorted. */
  public List<String> connectedModelIds() {
    return parts.membership.connectedModelIds();
  }

  /**
   * Waits until at least {@code count} models are connected.
   *
   * @return whether they were, before the timeout
   * @throws InterruptedException if the thread is interrupted while waiting
   */
  public boolean awaitConnected(int count, Duration timeout) throws InterruptedException {
    return parts.membership.awaitConnected(count, timeout);
  }

  /**
   * Waits until the directory's first snapshot is settled: it arrived, and every model it listed is
   * connected or could not be (failed, left, or disconnected). Once settled, the fleet stays
   * settled.
   *
   * @return whether it was settled before the timeout
   * @throws InterruptedException if the thread is interrupted while waiting
   */
  public boolean awaitSettled(Duration timeout) throws InterruptedException {
    return parts.membership.awaitSettled(timeout);
  }

  /**
   * Reports a model to the directory (for the Model Orchestrator: a {@code report_failure}, after
   * which it stops the model and, for most codes, quarantines its submission), for example when its
   * predictions are poor. Reporting does not disconnect the model here: calls still go to it until
   * the directory stops it, or until {@link #disconnect} is called. Never blocks.
   *
   * @throws IllegalArgumentException if the fleet knows no model with that id
   */
  public void report(String modelId, FailureCode code, String reason) {
    report(modelId, Objects.requireNonNull(code, "code").name(), reason);
  }

  /**
   * Reports a model to the directory with any failure code (the orchestrator quarantines a model
   * reported with a code it does not know). See {@link #report(String, FailureCode, String)}.
   *
   * @throws IllegalArgumentException if the fleet knows no model with that id, or the code is blank
   */
  public void report(String modelId, String failureCode, String reason) {
    parts.membership.report(modelId, failureCode, reason);
  }

  /**
   * Disconnects a model here without reporting it to the directory: no fan-out started after this
   * call targets it, and it stays out until the directory announces a new deployment or a restart
   * of it. A {@link FleetEvent.Kind#DISCONNECTED} event with the code {@link FleetEvent#LOCAL}
   * follows.
   *
   * @return whether the model was connected or connecting (false if it already was out)
   * @throws IllegalArgumentException if the fleet knows no model with that id
   */
  public boolean disconnect(String modelId, String reason) {
    return parts.membership.disconnectLocally(modelId, reason);
  }

  /** Adds a listener of membership and policy events. */
  public void addListener(FleetListener listener) {
    parts.listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  /** Returns the converter used for arguments and results. */
  public ValueConverter valueConverter() {
    return parts.converter;
  }

  /**
   * Closes the directory, every connection and transport, and the fleet's threads. Fan-outs still
   * in flight complete at once: models without an outcome fail with the client code {@code
   * FLEET_CLOSED}. Idempotent.
   */
  @Override
  public void close() {
    parts.close();
  }

  /** Returns the fleet's parts, for this package's tests. */
  FleetParts parts() {
    return parts;
  }

  /** Configures a {@link ModelFleet}. */
  public static final class Builder {
    // Read by FleetParts.
    ModelDirectory directory;
    String baseClass;
    Arguments setupArguments = Arguments.none();
    Duration callTimeout = Duration.ofSeconds(30);
    Duration setupTimeout = Duration.ofSeconds(60);
    Duration connectTimeout = Duration.ofSeconds(5);
    int setupAttempts = 5;
    Duration setupBackoff = Duration.ofSeconds(2);
    int maxConsecutiveFailures = 3;
    int maxConsecutiveTimeouts = 3;
    boolean timeoutCooldown = true;
    boolean reportFailures = true;
    Scheduler scheduler;
    FanOutStrategy fanOutStrategy = FanOutStrategy.all();
    int healthCheckEvery = -1;
    Duration healthCheckTimeout = Duration.ofSeconds(2);
    Duration ejectionBase = Ejection.DEFAULT_BASE;
    double ejectionMultiplier = Ejection.DEFAULT_MULTIPLIER;
    Duration ejectionMax = Ejection.DEFAULT_MAX;

    /** Null: re-admission unless the directory acts on reports. */
    Boolean readmission;

    boolean stallGuard = true;
    double stallFraction = FailurePolicy.Stall.DEFAULT.fraction();
    int stallMinModels = FailurePolicy.Stall.DEFAULT.minModels();
    Duration stallLateBy = Duration.ofNanos(FailurePolicy.Stall.DEFAULT.lateNanos());

    /** What fan-outs measure their deadlines with; a test's own, to move time by hand. */
    Ticker ticker = Ticker.system();

    TransportSettings transportSettings = TransportSettings.defaults();
    Executor executor;
    ValueConverter converter;
    final List<FleetListener> listeners = new ArrayList<>();

    private Builder() {}

    /** Sets where the list of models comes from (required). */
    public Builder directory(ModelDirectory directory) {
      this.directory = Objects.requireNonNull(directory, "directory");
      return this;
    }

    /** Sets the fully qualified name of the base class every model implements (required). */
    public Builder baseClass(String baseClass) {
      Objects.requireNonNull(baseClass, "baseClass");
      if (baseClass.isBlank()) {
        throw new IllegalArgumentException("baseClass cannot be blank");
      }
      this.baseClass = baseClass.strip();
      return this;
    }

    /**
     * Sets the instance arguments sent with every setup; Java values are converted. Default none.
     */
    public Builder setupArguments(Arguments arguments) {
      this.setupArguments = Objects.requireNonNull(arguments, "arguments");
      return this;
    }

    /** Sets the default deadline of a fan-out. Default 30 s. */
    public Builder callTimeout(Duration timeout) {
      this.callTimeout = Concurrency.requirePositive(timeout, "callTimeout");
      return this;
    }

    /**
     * Sets the deadline of each setup attempt, once the runner is known to be reachable (see {@link
     * #connectTimeout}). Default 60 s.
     */
    public Builder setupTimeout(Duration timeout) {
      this.setupTimeout = Concurrency.requirePositive(timeout, "setupTimeout");
      return this;
    }

    /**
     * Sets the deadline of the first phase of each connection attempt: before its setup, the fleet
     * asks the runner's health service whether it is reachable, within this time. A runner that
     * refuses the connection, cannot be reached, or does not answer in time fails the attempt at
     * once, without waiting for the {@linkplain #setupTimeout setup timeout}; the attempt is
     * retried after the {@linkplain #setupRetries backoff}, and after the last the model is
     * reported {@code CONNECTION_FAILED} (a {@link FleetEvent.Kind#CONNECTION_FAILED} event). Any
     * answer, even not {@code SERVING}, goes on to the setup, which has its own, longer deadline (a
     * model being re-admitted after an ejection must answer {@code SERVING}).
     *
     * <p>With the defaults (5 s, 5 attempts, backoff 2 s doubled), a runner that refuses
     * connections (its process is gone) is reported within about 30 s of its first attempt (2 + 4 +
     * 8 + 16 s of backoff, each attempt failing at once), and one that does not answer at all
     * within 55 s (5 s per attempt on top). A model that was connected backs off from a quarter of
     * the setup backoff when it is reconnected: a runner killed for good is reported within about 8
     * s. The gRPC transport's own bound on establishing a connection is {@link
     * TransportSettings#connectTimeout()}. Default 5 s.
     */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = Concurrency.requirePositive(timeout, "connectTimeout");
      return this;
    }

    /**
     * Sets how many times a model's connection and setup are tried and the backoff before the
     * second attempt, doubled after each failure. Default 5 attempts, 2 s (then 4, 8, 16 s), as the
     * Python client.
     */
    public Builder setupRetries(int attempts, Duration initialBackoff) {
      if (attempts < 1) {
        throw new IllegalArgumentException("attempts must be at least 1, got " + attempts);
      }
      this.setupAttempts = attempts;
      this.setupBackoff = Concurrency.requirePositive(initialBackoff, "initialBackoff");
      return this;
    }

    /** Sets the consecutive failures allowed before a disconnect; 0 disables. Default 3. */
    public Builder maxConsecutiveFailures(int limit) {
      this.maxConsecutiveFailures = Concurrency.requireNonNegative(limit, "maxConsecutiveFailures");
      return this;
    }

    /** Sets the consecutive timeouts allowed before a disconnect; 0 disables. Default 3. */
    public Builder maxConsecutiveTimeouts(int limit) {
      this.maxConsecutiveTimeouts = Concurrency.requireNonNegative(limit, "maxConsecutiveTimeouts");
      return this;
    }

    /**
     * Sets whether a model sits out calls after timeouts, as the Python client: after its {@code
     * n}th consecutive timeout (or {@code BUSY} answer), it sits out the next {@code ceil(n / 2)}
     * calls, which end {@link CallStatus#SKIPPED} without being sent. Gives a runner still busy
     * with a timed-out call time to finish. Default on.
     */
    public Builder timeoutCooldown(boolean enabled) {
      this.timeoutCooldown = enabled;
      return this;
    }

    /**
     * Sets what runs the fleet's delayed membership work: the backoff between setup attempts, the
     * retirement of a replaced deployment (a call timeout after the swap), and the end of an
     * ejection (and the decay of the ejection count), for tests that move time by hand. Fan-out
     * deadlines and connections keep real time. Default: the fleet's own thread.
     */
    public Builder scheduler(Scheduler scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Sets how fan-outs are spread over the models and when they complete, unless a {@link FanOut}
     * says otherwise: {@link FanOutStrategy#all()} (the default), {@link FanOutStrategy#quorum},
     * {@link FanOutStrategy#bounded}, per-model deadlines, or one {@linkplain FanOutStrategy#named
     * named}.
     */
    public Builder fanOutStrategy(FanOutStrategy strategy) {
      this.fanOutStrategy = Objects.requireNonNull(strategy, "strategy");
      return this;
    }

    /**
     * Sets the fan-out strategy by the name of its provider, with its options (see {@link
     * FanOutStrategy#named}).
     *
     * @throws IllegalArgumentException if no strategy has that name (the message lists those
     *     available), or an option is invalid
     */
    public Builder fanOutStrategy(String name, Map<String, String> options) {
      return fanOutStrategy(FanOutStrategy.named(name, options));
    }

    /**
     * Sets whether the failure policy acts (the Python client's {@code report_failure} switch).
     * Default on: a model over a limit, or answering {@code BAD_IMPLEMENTATION}, is disconnected
     * and reported to the directory (for the Model Orchestrator: stopped and quarantined). Off, for
     * debugging a model: the decision is logged (a warning, once each time a limit is crossed)
     * instead, nothing is reported, and the model keeps receiving calls. Setups that fail still
     * leave the model out (it has no instance to call), but are not reported either. {@link
     * ModelFleet#report} still reports: it is the coordinator's own decision.
     */
    public Builder reportFailures(boolean enabled) {
      this.reportFailures = enabled;
      return this;
    }

    /**
     * Sets when a model's health is checked: after every {@code everyTimeouts} consecutive timeouts
     * (and at once when the runner is unreachable), with its own deadline {@code timeout}, out of
     * band (never inside a fan-out's deadline). A runner that does not answer {@code SERVING} is
     * reconnected (set up again). Default: every {@code max(1, int(0.2 × maxConsecutiveTimeouts))}
     * timeouts, as the Python client, with a 2 s deadline; {@code everyTimeouts} 0 checks only
     * unreachable runners.
     */
    public Builder healthChecks(int everyTimeouts, Duration timeout) {
      this.healthCheckEvery = Concurrency.requireNonNegative(everyTimeouts, "everyTimeouts");
      this.healthCheckTimeout = Concurrency.requirePositive(timeout, "timeout");
      return this;
    }

    /**
     * Sets how long a model ejected by the failure policy sits out, as Envoy's outlier detection:
     * its {@code n}th ejection lasts {@code base × multiplier^(n-1)}, at most {@code max}. When the
     * time is over, the fleet checks the runner's health (within the {@linkplain #connectTimeout
     * connect timeout}: it must answer {@code SERVING}) and sets it up again: the model is back,
     * with its counters reset (a {@link FleetEvent.Kind#RESTARTED} event with the code {@link
     * FleetEvent#READMITTED}). If the check or the setup fails, it is ejected again, for the next,
     * longer time. A model's ejection count goes down by one for every {@code max} it then serves
     * without being ejected, and starts again at 0 for a new deployment or a restart the directory
     * announces. Only models over a limit ({@code MULTIPLE_FAILED}, {@code MULTIPLE_TIMEOUT}) are
     * ejected, and only with {@linkplain #readmission re-admission} on; {@code BAD_IMPLEMENTATION}
     * and setups that fail are out for good. Default 30 s, doubled after each ejection, at most 10
     * min.
     *
     * @throws IllegalArgumentException if a duration is not positive, {@code max} is shorter than
     *     {@code base}, or {@code multiplier} is below 1 or not finite
     */
    public Builder ejection(Duration base, double multiplier, Duration max) {
      Concurrency.requirePositive(base, "base");
      Concurrency.requirePositive(max, "max");
      if (max.compareTo(base) < 0) {
        throw new IllegalArgumentException(
            "The maximum ejection time (" + max + ") must be at least the base (" + base + ")");
      }
      if (!(multiplier >= 1) || Double.isInfinite(multiplier)) {
        throw new IllegalArgumentException(
            "The ejection multiplier must be finite and at least 1, got " + multiplier);
      }
      this.ejectionBase = base;
      this.ejectionMultiplier = multiplier;
      this.ejectionMax = max;
      return this;
    }

    /**
     * Sets whether a model the failure policy disconnects for its failures or timeouts is only
     * ejected, and taken back once its {@linkplain #ejection ejection time} is over and it is
     * healthy, or disconnected for good (until the directory announces a new deployment or a
     * restart of it). Either way it is reported to the directory and a {@link
     * FleetEvent.Kind#DISCONNECTED} event is sent; an ejection's reason says how long it lasts, and
     * {@link ModelStatus#ejectedUntil()} until when.
     *
     * <p>Default: on for a directory that ignores reports (a static list, the in-process registry),
     * off for one that {@linkplain ModelDirectory#actsOnReports acts on them}: the Model
     * Orchestrator stops a reported model, so the fleet leaves it to the orchestrator, as the
     * Python client does.
     */
    public Builder readmission(boolean enabled) {
      this.readmission = enabled;
      return this;
    }

    /**
     * Sets when the fleet blames a fan-out's timeouts on itself rather than on its models, so that
     * a stall of the coordinator (a long garbage collection, starved threads, a saturated network
     * link) never disconnects or ejects healthy models. A fan-out's timeouts are the fleet's own
     * stall when more than {@code fraction} of the models it called (at least {@code minModels} of
     * them) timed out together, or when it completed more than {@code lateBy} after its deadline
     * (its deadline timer ran late). They stay {@link CallStatus#TIMEOUT} outcomes, and count in
     * {@link ModelStatus#counts()}, but the failure policy does not count them: no consecutive
     * timeout, cooldown or health check; one warning per such fan-out says why. A fan-out in which
     * fewer of its models time out counts every timeout as usual. Default: more than half (0.5) of
     * at least 5 models, or 500 ms late ({@code minModels} {@link Integer#MAX_VALUE} leaves only
     * the second rule).
     *
     * @throws IllegalArgumentException if {@code fraction} is not in {@code (0, 1)}, {@code
     *     minModels} is below 1, or {@code lateBy} is not positive
     */
    public Builder stallGuard(double fraction, int minModels, Duration lateBy) {
      if (!(fraction > 0 && fraction < 1)) {
        throw new IllegalArgumentException("fraction must be in (0, 1), got " + fraction);
      }
      if (minModels < 1) {
        throw new IllegalArgumentException("minModels must be at least 1, got " + minModels);
      }
      this.stallLateBy = Concurrency.requirePositive(lateBy, "lateBy");
      this.stallFraction = fraction;
      this.stallMinModels = minModels;
      this.stallGuard = true;
      return this;
    }

    /**
     * Sets whether the {@linkplain #stallGuard(double, int, Duration) stall guard} is on (the
     * default); off, every timeout counts against its model, as with the Python client.
     */
    public Builder stallGuard(boolean enabled) {
      this.stallGuard = enabled;
      return this;
    }

    /** Sets the ticker fan-outs measure their deadlines with, for this package's tests. */
    Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /** Sets the transports' settings (message size limit). */
    public Builder transportSettings(TransportSettings settings) {
      this.transportSettings = Objects.requireNonNull(settings, "settings");
      return this;
    }

    /**
     * Sets the executor that runs result completions, per-outcome callbacks and listeners (one at a
     * time). By default the fleet uses a thread of its own.
     */
    public Builder executor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /** Sets the converter for arguments and results. By default {@link ValueConverter#create()}. */
    public Builder valueConverter(ValueConverter converter) {
      this.converter = Objects.requireNonNull(converter, "converter");
      return this;
    }

    /** Adds a listener of membership and policy events. */
    public Builder listener(FleetListener listener) {
      listeners.add(Objects.requireNonNull(listener, "listener"));
      return this;
    }

    /**
     * Builds the fleet and starts following the directory; models connect in the background (see
     * {@link ModelFleet#awaitConnected}).
     *
     * @throws IllegalStateException if the directory or base class is missing, or a static
     *     directory lists an endpoint no transport on the class path serves (the message names the
     *     artifact to add)
     */
    public ModelFleet build() {
      if (directory == null) {
        throw new IllegalStateException("A directory is required");
      }
      if (baseClass == null) {
        throw new IllegalStateException("A base class is required");
      }
      ModelFleet fleet = new ModelFleet(this);
      try {
        fleet.parts.membership.start();
      } catch (RuntimeException e) {
        fleet.close();
        throw e;
      }
      return fleet;
    }
  }
}
