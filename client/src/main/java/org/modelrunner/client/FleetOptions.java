package org.modelrunner.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.ModelDirectory;
import org.modelrunner.spi.TransportProvider;
import org.modelrunner.spi.TransportSettings;
import org.modelrunner.spi.ValueConverter;

/**
 * The options of a fleet, set on its {@link ModelFleet.Builder} (which extends this class) and read
 * by the parts the fleet is made of. The directory and the base class are required; every other
 * option has a default, given with its setter.
 */
abstract class FleetOptions {
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
  final List<TransportProvider> transportProviders = new ArrayList<>();
  Executor executor;
  ValueConverter converter;
  final List<FleetListener> listeners = new ArrayList<>();

  FleetOptions() {}

  /** Sets where the list of models comes from (required). */
  public ModelFleet.Builder directory(ModelDirectory directory) {
    this.directory = Objects.requireNonNull(directory, "directory");
    return self();
  }

  /** Sets the fully qualified name of the base class every model implements (required). */
  public ModelFleet.Builder baseClass(String baseClass) {
    Objects.requireNonNull(baseClass, "baseClass");
    if (baseClass.isBlank()) {
      throw new IllegalArgumentException("baseClass cannot be blank");
    }
    this.baseClass = baseClass.strip();
    return self();
  }

  /** Sets the instance arguments sent with every setup; Java values are converted. Default none. */
  public ModelFleet.Builder setupArguments(Arguments arguments) {
    this.setupArguments = Objects.requireNonNull(arguments, "arguments");
    return self();
  }

  /** Sets the default deadline of a fan-out. Default 30 s. */
  public ModelFleet.Builder callTimeout(Duration timeout) {
    this.callTimeout = Concurrency.requirePositive(timeout, "callTimeout");
    return self();
  }

  /**
   * Sets the deadline of each setup attempt, once the runner is known to be reachable (see {@link
   * #connectTimeout}). Default 60 s.
   */
  public ModelFleet.Builder setupTimeout(Duration timeout) {
    this.setupTimeout = Concurrency.requirePositive(timeout, "setupTimeout");
    return self();
  }

  /**
   * Sets the deadline of the first phase of each connection attempt: before its setup, the fleet
   * asks the runner's health service whether it is reachable, within this time. A runner that
   * refuses the connection, cannot be reached, or does not answer in time fails the attempt at
   * once, without waiting for the {@linkplain #setupTimeout setup timeout}; the attempt is retried
   * after the {@linkplain #setupRetries backoff}, and after the last the model is reported {@code
   * CONNECTION_FAILED} (a {@link FleetEvent.Kind#CONNECTION_FAILED} event). Any answer, even not
   * {@code SERVING}, goes on to the setup, which has its own, longer deadline (a model being
   * re-admitted after an ejection must answer {@code SERVING}).
   *
   * <p>With the defaults (5 s, 5 attempts, backoff 2 s doubled), a runner that refuses connections
   * (its process is gone) is reported within about 30 s of its first attempt (2 + 4 + 8 + 16 s of
   * backoff, each attempt failing at once), and one that does not answer at all within 55 s (5 s
   * per attempt on top). A model that was connected is retried every second or so when it is
   * reconnected (0.5, 1, 1, 1… s, for as long as 0.5, 1, 2, 4 s would last, and at most 5 attempts
   * that run into a deadline): a runner killed for good is reported within about 8 s, and one
   * restarted on its address is found about a second after it serves. The gRPC transport's own
   * bound on establishing a connection is {@link TransportSettings#connectTimeout()}. Default 5 s.
   */
  public ModelFleet.Builder connectTimeout(Duration timeout) {
    this.connectTimeout = Concurrency.requirePositive(timeout, "connectTimeout");
    return self();
  }

  /**
   * Sets how many times a model's connection and setup are tried and the backoff before the second
   * attempt, doubled after each failure. Default 5 attempts, 2 s (then 4, 8, 16 s), as the Python
   * client.
   */
  public ModelFleet.Builder setupRetries(int attempts, Duration initialBackoff) {
    if (attempts < 1) {
      throw new IllegalArgumentException("attempts must be at least 1, got " + attempts);
    }
    this.setupAttempts = attempts;
    this.setupBackoff = Concurrency.requirePositive(initialBackoff, "initialBackoff");
    return self();
  }

  /** Sets the consecutive failures allowed before a disconnect; 0 disables. Default 3. */
  public ModelFleet.Builder maxConsecutiveFailures(int limit) {
    this.maxConsecutiveFailures = Concurrency.requireNonNegative(limit, "maxConsecutiveFailures");
    return self();
  }

  /** Sets the consecutive timeouts allowed before a disconnect; 0 disables. Default 3. */
  public ModelFleet.Builder maxConsecutiveTimeouts(int limit) {
    this.maxConsecutiveTimeouts = Concurrency.requireNonNegative(limit, "maxConsecutiveTimeouts");
    return self();
  }

  /**
   * Sets whether a model sits out calls after timeouts, as the Python client: after its {@code n}th
   * consecutive timeout (or {@code BUSY} answer), it sits out the next {@code ceil(n / 2)} calls,
   * which end {@link CallStatus#SKIPPED} without being sent. Gives a runner still busy with a
   * timed-out call time to finish. Default on.
   */
  public ModelFleet.Builder timeoutCooldown(boolean enabled) {
    this.timeoutCooldown = enabled;
    return self();
  }

  /**
   * Sets what runs the fleet's delayed membership work: the backoff between setup attempts, the
   * retirement of a replaced deployment (a call timeout after the swap), and the end of an ejection
   * (and the decay of the ejection count), for tests that move time by hand. Fan-out deadlines and
   * connections keep real time. Default: the fleet's own thread.
   */
  public ModelFleet.Builder scheduler(Scheduler scheduler) {
    this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    return self();
  }

  /**
   * Sets how fan-outs are spread over the models and when they complete, unless a {@link FanOut}
   * says otherwise: {@link FanOutStrategy#all()} (the default), {@link FanOutStrategy#quorum},
   * {@link FanOutStrategy#bounded}, per-model deadlines, or one {@linkplain FanOutStrategy#named
   * named}.
   */
  public ModelFleet.Builder fanOutStrategy(FanOutStrategy strategy) {
    this.fanOutStrategy = Objects.requireNonNull(strategy, "strategy");
    return self();
  }

  /**
   * Sets the fan-out strategy by the name of its provider, with its options (see {@link
   * FanOutStrategy#named}).
   *
   * @throws IllegalArgumentException if no strategy has that name (the message lists those
   *     available), or an option is invalid
   */
  public ModelFleet.Builder fanOutStrategy(String name, Map<String, String> options) {
    return fanOutStrategy(FanOutStrategy.named(name, options));
  }

  /**
   * Sets whether the failure policy acts (the Python client's {@code report_failure} switch).
   * Default on: a model over a limit, or answering {@code BAD_IMPLEMENTATION}, is disconnected and
   * reported to the directory (for the Model Orchestrator: stopped and quarantined). Off, for
   * debugging a model: the decision is logged (a warning, once each time a limit is crossed)
   * instead, nothing is reported, and the model keeps receiving calls. Setups that fail still leave
   * the model out (it has no instance to call), but are not reported either. {@link
   * ModelFleet#report} still reports: it is the coordinator's own decision.
   */
  public ModelFleet.Builder reportFailures(boolean enabled) {
    this.reportFailures = enabled;
    return self();
  }

  /**
   * Sets when a model's health is checked: after every {@code everyTimeouts} consecutive timeouts
   * (and at once when the runner is unreachable), with its own deadline {@code timeout}, out of
   * band (never inside a fan-out's deadline). A runner that does not answer {@code SERVING} is
   * reconnected (set up again). Default: every {@code max(1, int(0.2 × maxConsecutiveTimeouts))}
   * timeouts, as the Python client, with a 2 s deadline; {@code everyTimeouts} 0 checks only
   * unreachable runners.
   */
  public ModelFleet.Builder healthChecks(int everyTimeouts, Duration timeout) {
    this.healthCheckEvery = Concurrency.requireNonNegative(everyTimeouts, "everyTimeouts");
    this.healthCheckTimeout = Concurrency.requirePositive(timeout, "timeout");
    return self();
  }

  /**
   * Sets how long a model ejected by the failure policy sits out, as Envoy's outlier detection: its
   * {@code n}th ejection lasts {@code base × multiplier^(n-1)}, at most {@code max}. When the time
   * is over, the fleet checks the runner's health (within the {@linkplain #connectTimeout connect
   * timeout}: it must answer {@code SERVING}) and sets it up again: the model is back, with its
   * counters reset (a {@link FleetEvent.Kind#RESTARTED} event with the code {@link
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
  public ModelFleet.Builder ejection(Duration base, double multiplier, Duration max) {
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
    return self();
  }

  /**
   * Sets whether a model the failure policy disconnects for its failures or timeouts is only
   * ejected, and taken back once its {@linkplain #ejection ejection time} is over and it is
   * healthy, or disconnected for good (until the directory announces a new deployment or a restart
   * of it). Either way it is reported to the directory and a {@link FleetEvent.Kind#DISCONNECTED}
   * event is sent; an ejection's reason says how long it lasts, and {@link
   * ModelStatus#ejectedUntil()} until when.
   *
   * <p>Default: on for a directory that ignores reports (a static list, the in-process registry),
   * off for one that {@linkplain ModelDirectory#actsOnReports acts on them}: the Model Orchestrator
   * stops a reported model, so the fleet leaves it to the orchestrator, as the Python client does.
   */
  public ModelFleet.Builder readmission(boolean enabled) {
    this.readmission = enabled;
    return self();
  }

  /**
   * Sets when the fleet blames a fan-out's timeouts on itself rather than on its models, so that a
   * stall of the coordinator (a long garbage collection, starved threads, a saturated network link)
   * never disconnects or ejects healthy models. A fan-out's timeouts are the fleet's own stall when
   * more than {@code fraction} of the models it called (at least {@code minModels} of them) timed
   * out together, or when it completed more than {@code lateBy} after its deadline (its deadline
   * timer ran late). They stay {@link CallStatus#TIMEOUT} outcomes, and count in {@link
   * ModelStatus#counts()}, but the failure policy does not count them: no consecutive timeout,
   * cooldown or health check; one warning per such fan-out says why. A fan-out in which fewer of
   * its models time out counts every timeout as usual. Default: more than half (0.5) of at least 5
   * models, or 500 ms late ({@code minModels} {@link Integer#MAX_VALUE} leaves only the second
   * rule).
   *
   * @throws IllegalArgumentException if {@code fraction} is not in {@code (0, 1)}, {@code
   *     minModels} is below 1, or {@code lateBy} is not positive
   */
  public ModelFleet.Builder stallGuard(double fraction, int minModels, Duration lateBy) {
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
    return self();
  }

  /**
   * Sets whether the {@linkplain #stallGuard(double, int, Duration) stall guard} is on (the
   * default); off, every timeout counts against its model, as with the Python client.
   */
  public ModelFleet.Builder stallGuard(boolean enabled) {
    this.stallGuard = enabled;
    return self();
  }

  /** Sets the ticker fan-outs measure their deadlines with, for this package's tests. */
  ModelFleet.Builder ticker(Ticker ticker) {
    this.ticker = Objects.requireNonNull(ticker, "ticker");
    return self();
  }

  /** Sets the transports' settings (message size limit). */
  public ModelFleet.Builder transportSettings(TransportSettings settings) {
    this.transportSettings = Objects.requireNonNull(settings, "settings");
    return self();
  }

  /**
   * Adds a transport provider that serves its schemes before those found on the class path: a
   * secured gRPC transport, for instance, {@code
   * GrpcTransportProvider.builder().secureCredentials(SecureCredentials.fromDirectory(dir)).build()}
   * for runners in the Python ecosystem's secure mode (module {@code model-runner-transport-grpc}).
   * The fleet creates its transport with the {@linkplain #transportSettings transport settings} and
   * closes it with the fleet. Providers added first win when two serve the same scheme.
   */
  public ModelFleet.Builder transport(TransportProvider provider) {
    transportProviders.add(Objects.requireNonNull(provider, "provider"));
    return self();
  }

  /**
   * Sets the executor that runs result completions, per-outcome callbacks and listeners (one at a
   * time). By default the fleet uses a thread of its own.
   */
  public ModelFleet.Builder executor(Executor executor) {
    this.executor = Objects.requireNonNull(executor, "executor");
    return self();
  }

  /** Sets the converter for arguments and results. By default {@link ValueConverter#create()}. */
  public ModelFleet.Builder valueConverter(ValueConverter converter) {
    this.converter = Objects.requireNonNull(converter, "converter");
    return self();
  }

  /** Adds a listener of membership and policy events. */
  public ModelFleet.Builder listener(FleetListener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
    return self();
  }

  private ModelFleet.Builder self() {
    return (ModelFleet.Builder) this;
  }
}
