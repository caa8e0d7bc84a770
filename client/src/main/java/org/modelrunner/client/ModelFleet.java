package org.modelrunner.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.DirectoryStatus;
import org.modelrunner.spi.ModelDirectory;
import org.modelrunner.spi.ProviderRegistry;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.TransportProvider;
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
 * <h2>Failure policy</h2>
 *
 * As the Python client: each model has a count of consecutive failures and one of consecutive
 * timeouts, both reset by a success. When one goes over its limit (defaults 3 and 3; 0 disables),
 * the model is disconnected, reported to the directory ({@code MULTIPLE_FAILED} or {@code
 * MULTIPLE_TIMEOUT}) and a {@link FleetEvent.Kind#DISCONNECTED} event is sent, once per decision. A
 * {@code BAD_IMPLEMENTATION} answer disconnects at once. A {@code BUSY} answer (the runner is still
 * running an earlier call that timed out) and an unreachable runner ({@code UNAVAILABLE}) count as
 * timeouts; other transport errors count as failures. Answers that are the coordinator's problem
 * count for nothing: {@code INVALID_ARGUMENT} is logged, and {@code FAILED_PRECONDITION} (the
 * runner lost its instance) sets the model up again. A setup is retried only after connection
 * errors and timeouts; one that answers {@code BAD_IMPLEMENTATION} is reported so, {@code
 * INVALID_ARGUMENT} is the coordinator's error (not reported), and any other refusal is reported
 * {@code MULTIPLE_FAILED} at once. {@link Builder#reportFailures reportFailures(false)} logs
 * decisions instead of acting on them. The outcome's {@link CallFailure} keeps the kind apart
 * ({@code UNAVAILABLE}, {@code BUSY}, {@code DEADLINE_EXCEEDED}...).
 *
 * <p>After its {@code n}th consecutive timeout a model sits out the next {@code ceil(n / 2)} calls
 * (the Python client's cooldown; {@link Builder#timeoutCooldown}): they end {@link
 * CallStatus#SKIPPED} without being sent, and count for nothing. Health checks run out of band with
 * their own deadline ({@link Builder#healthChecks}), after every few timeouts and at once when a
 * runner is unreachable; a runner that does not answer {@code SERVING} is reconnected (set up
 * again: {@link FleetEvent.Kind#RESTARTED}), and one that cannot be is reported {@code
 * CONNECTION_FAILED}. The coordinator can {@link #report} a model itself (say {@link
 * FailureCode#LOW_PERFORMANCE}) and {@link #disconnect} one without reporting it.
 *
 * <h2>Membership</h2>
 *
 * Directory reports are applied on the fleet's own thread without waiting on any model: connecting
 * and setting up run in the background (setup is retried with exponential backoff, every attempt
 * bounded by the setup timeout), and a later report abandons them (a {@code STOPPED} for a model
 * still connecting).
 *
 * <ul>
 *   <li>A snapshot connects what it lists and drops what it does not (pending connections
 *       included).
 *   <li>A new deployment of a model replaces the old one only once it is set up ({@link
 *       FleetEvent.Kind#REPLACED}); {@code STOPPED} or {@code RECOVERING} for a deployment the
 *       fleet does not hold changes nothing. A {@code STOPPED} for the held deployment while a
 *       newer one is being set up is a redeploy (the Model Orchestrator stops the old process at
 *       once), not a leave: the model is {@link ModelStatus.State#REDEPLOYING} until the new
 *       deployment is ready.
 *   <li>{@code RECOVERING} takes the held deployment out of the calls; {@code RUNNING} again with
 *       the same deployment id (or the same deployment at a new address) sets it up again ({@link
 *       FleetEvent.Kind#RESTARTED}: it lost its state).
 *   <li>Duplicates change nothing; new infos for the same deployment and address are taken without
 *       a new setup ({@link FleetEvent.Kind#INFOS_UPDATED}). A model disconnected here stays out
 *       until the directory announces a new deployment, address or restart of it.
 * </ul>
 *
 * {@link #awaitSettled} waits until every model of the first snapshot connected or failed; {@link
 * #awaitConnected} until enough models are connected; {@link #models()} tells each model's state,
 * counts and latency.
 */
public final class ModelFleet implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(ModelFleet.class.getName());
  private static final AtomicInteger FLEETS = new AtomicInteger();

  private final ModelDirectory directory;
  private final ValueConverter converter;
  private final TransportRegistry transports;
  private final ScheduledThreadPoolExecutor fleetThread;
  private final ExecutorService ownedCallbackThread;
  private final List<FleetListener> listeners = new CopyOnWriteArrayList<>();
  private final Membership membership;
  private final FanOutEngine engine;

  private ModelFleet(Builder builder) {
    this.directory = builder.directory;
    int healthCheckEvery =
        builder.healthCheckEvery >= 0
            ? builder.healthCheckEvery
            : Math.max(1, (int) (0.2 * builder.maxConsecutiveTimeouts));
    this.converter = builder.converter != null ? builder.converter : ValueConverter.create();
    this.transports =
        new TransportRegistry(
            ProviderRegistry.load(TransportProvider.class), builder.transportSettings);
    int id = FLEETS.incrementAndGet();
    this.fleetThread =
        new ScheduledThreadPoolExecutor(
            1, Concurrency.daemonThreads("modelrunner-fleet-" + id, false));
    this.fleetThread.setRemoveOnCancelPolicy(true);
    SerialExecutor callbacks;
    if (builder.executor != null) {
      this.ownedCallbackThread = null;
      callbacks = new SerialExecutor(builder.executor);
    } else {
      this.ownedCallbackThread =
          Executors.newSingleThreadExecutor(
              Concurrency.daemonThreads("modelrunner-fleet-" + id + "-callbacks", false));
      callbacks = new SerialExecutor(ownedCallbackThread);
    }
    this.listeners.addAll(builder.listeners);
    Outcomes outcomes = new Outcomes(converter);
    this.membership =
        new Membership(
            directory,
            builder.baseClass,
            builder.setupArguments,
            builder.callTimeout,
            builder.setupTimeout,
            builder.setupAttempts,
            builder.setupBackoff,
            builder.reportFailures,
            builder.healthCheckTimeout,
            transports,
            fleetThread,
            callbacks,
            listeners,
            outcomes,
            builder.scheduler);
    this.engine =
        new FanOutEngine(
            membership,
            outcomes,
            converter,
            builder.callTimeout,
            builder.fanOutStrategy,
            new FailurePolicy(
                builder.maxConsecutiveFailures,
                builder.maxConsecutiveTimeouts,
                builder.timeoutCooldown,
                healthCheckEvery),
            builder.reportFailures,
            fleetThread,
            callbacks);
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
    return engine.call(request);
  }

  /**
   * Runs a fan-out and waits for its result: the blocking convenience over {@link #call(FanOut)}.
   *
   * @throws InterruptedException if the thread is interrupted while waiting
   * @throws IllegalArgumentException if the subset names a model the fleet does not know
   */
  public FanOutResult callAndWait(FanOut request) throws InterruptedException {
    try {
      return call(request).get();
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
    return membership.models();
  }

  /**
   * Returns the state of the directory's link to its source: for the Model Orchestrator, whether
   * its connection is up, or since when it is reconnecting and why; empty for a directory without
   * one (a static list). While it is not connected the fleet keeps calling the models it has.
   */
  public Optional<DirectoryStatus> directoryStatus() {
    return directory.status();
  }

  /** Returns the ids of the models that are connected now, sorted. */
  public List<String> connectedModelIds() {
    return membership.connectedModelIds();
  }

  /**
   * Waits until at least {@code count} models are connected.
   *
   * @return whether they were, before the timeout
   * @throws InterruptedException if the thread is interrupted while waiting
   */
  public boolean awaitConnected(int count, Duration timeout) throws InterruptedException {
    return membership.awaitConnected(count, timeout);
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
    return membership.awaitSettled(timeout);
  }

  /**
   * Returns a future that completes once the fleet has applied the work it was handed so far (on
   * its own thread) and delivered the events that work emitted to the listeners: after it, an event
   * not received was not emitted. For tests, which check that something did not happen without
   * waiting; see {@link Membership#quiesce()}.
   */
  CompletableFuture<Void> quiesce() {
    return membership.quiesce();
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
    membership.report(modelId, failureCode, reason);
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
    return membership.disconnectLocally(modelId, reason);
  }

  /** Adds a listener of membership and policy events. */
  public void addListener(FleetListener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  /** Returns the converter used for arguments and results. */
  public ValueConverter valueConverter() {
    return converter;
  }

  /**
   * Closes the directory, every connection and transport, and the fleet's threads. Fan-outs still
   * in flight complete at once: models without an outcome fail with the client code {@code
   * FLEET_CLOSED}. Idempotent.
   */
  @Override
  public void close() {
    if (membership.isClosed()) {
      return;
    }
    membership.close();
    try {
      directory.close();
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "Closing the directory failed: " + e, e);
    }
    engine.abortAll(Outcomes.CLOSED);
    fleetThread.shutdownNow();
    try {
      fleetThread.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    membership.retireAll();
    transports.close();
    if (ownedCallbackThread != null) {
      ownedCallbackThread.shutdown();
    }
  }

  /** Configures a {@link ModelFleet}. */
  public static final class Builder {
    private ModelDirectory directory;
    private String baseClass;
    private Arguments setupArguments = Arguments.none();
    private Duration callTimeout = Duration.ofSeconds(30);
    private Duration setupTimeout = Duration.ofSeconds(60);
    private int setupAttempts = 5;
    private Duration setupBackoff = Duration.ofSeconds(2);
    private int maxConsecutiveFailures = 3;
    private int maxConsecutiveTimeouts = 3;
    private boolean timeoutCooldown = true;
    private boolean reportFailures = true;
    private Scheduler scheduler;
    private FanOutStrategy fanOutStrategy = FanOutStrategy.all();
    private int healthCheckEvery = -1;
    private Duration healthCheckTimeout = Duration.ofSeconds(2);
    private TransportSettings transportSettings = TransportSettings.defaults();
    private Executor executor;
    private ValueConverter converter;
    private final List<FleetListener> listeners = new ArrayList<>();

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

    /** Sets the deadline of each setup attempt. Default 60 s. */
    public Builder setupTimeout(Duration timeout) {
      this.setupTimeout = Concurrency.requirePositive(timeout, "setupTimeout");
      return this;
    }

    /**
     * Sets how many times setup is tried and the backoff before the second attempt, doubled after
     * each failure. Default 5 attempts, 2 s (then 4, 8, 16 s), as the Python client.
     */
    public Builder setupRetries(int attempts, Duration initialBackoff) {
      if (attempts < 1) {
        throw new IllegalArgumentException("attempts must be at least 1, got " + attempts);
      }
      this.setupAttempts = attempts;
      this.setupBackoff = Concurrency.requirePositive(initialBackoff, "initialBackoff");
      return this;
    }

    /**
     * Sets the consecutive failures a model may have before it is disconnected; 0 disables. Default
     * 3.
     */
    public Builder maxConsecutiveFailures(int limit) {
      this.maxConsecutiveFailures = nonNegative(limit, "maxConsecutiveFailures");
      return this;
    }

    /**
     * Sets the consecutive timeouts a model may have before it is disconnected; 0 disables. Default
     * 3.
     */
    public Builder maxConsecutiveTimeouts(int limit) {
      this.maxConsecutiveTimeouts = nonNegative(limit, "maxConsecutiveTimeouts");
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
     * Sets what runs the fleet's delayed membership work: the backoff between setup attempts and
     * the retirement of a replaced deployment (a call timeout after the swap), for tests that move
     * time by hand. Fan-out deadlines and connections keep real time. Default: the fleet's own
     * thread.
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
      this.healthCheckEvery = nonNegative(everyTimeouts, "everyTimeouts");
      this.healthCheckTimeout = Concurrency.requirePositive(timeout, "timeout");
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
        fleet.membership.start();
      } catch (RuntimeException e) {
        fleet.close();
        throw e;
      }
      return fleet;
    }

    private static int nonNegative(int value, String name) {
      if (value < 0) {
        throw new IllegalArgumentException(name + " cannot be negative, got " + value);
      }
      return value;
    }
  }
}
