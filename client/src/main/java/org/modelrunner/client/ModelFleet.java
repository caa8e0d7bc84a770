package org.modelrunner.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
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
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.KeywordArgument;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelDirectory;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.ModelState;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.PreparedCall;
import org.modelrunner.spi.ProviderRegistry;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.StatusCode;
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
  private final String baseClass;
  private final Arguments setupArguments;
  private final Duration callTimeout;
  private final Duration setupTimeout;
  private final int setupAttempts;
  private final Duration setupBackoff;
  private final int maxConsecutiveFailures;
  private final int maxConsecutiveTimeouts;
  private final boolean timeoutCooldown;
  private final boolean reportFailures;
  private final FailurePolicy failurePolicy;
  private final FanOutStrategy fanOutStrategy;
  private final int healthCheckEvery;
  private final Duration healthCheckTimeout;
  private final ValueConverter converter;
  private final TransportRegistry transports;
  private final ScheduledThreadPoolExecutor fleetThread;
  private final ExecutorService ownedCallbackThread;
  private final SerialExecutor callbacks;
  private final List<FleetListener> listeners = new CopyOnWriteArrayList<>();

  /**
   * The current member of each model id: connected, connecting, recovering or disconnected. Sorted
   * by id, so that the connected array is rebuilt in one pass, without sorting.
   */
  private final Map<String, FleetMember> known = new java.util.concurrent.ConcurrentSkipListMap<>();

  /** New deployments being set up while the old one keeps serving; fleet thread only. */
  private final Map<String, FleetMember> replacing = new HashMap<>();

  /** What fan-outs target, recomputed on the fleet thread when membership changes. */
  private volatile View view = View.EMPTY;

  private final Set<FanOutCall> inFlight = ConcurrentHashMap.newKeySet();
  private final Object readiness = new Object();

  /** The members of the directory's first snapshot still connecting; fleet thread only. */
  private Set<FleetMember> initialPending;

  private volatile boolean settled;

  /** Whether a rebuild of {@link #connected} is queued; fleet thread only. */
  private boolean rebuildPending;

  /** Events and replaced members that wait for that rebuild; fleet thread only. */
  private final List<FleetEvent> eventsAwaitingRebuild = new ArrayList<>();

  private final List<FleetMember> replacedAwaitingRebuild = new ArrayList<>();
  private volatile boolean closed;

  /**
   * What a fan-out targets: the connected members, and the members between deployments or
   * restarting (each gets a SKIPPED outcome); one immutable pair, so that a fan-out sees a model in
   * one or the other.
   */
  private record View(FleetMember[] connected, FleetMember[] sittingOut) {
    static final View EMPTY = new View(new FleetMember[0], new FleetMember[0]);
  }

  private ModelFleet(Builder builder) {
    this.directory = builder.directory;
    this.baseClass = builder.baseClass;
    this.setupArguments = builder.setupArguments;
    this.callTimeout = builder.callTimeout;
    this.setupTimeout = builder.setupTimeout;
    this.setupAttempts = builder.setupAttempts;
    this.setupBackoff = builder.setupBackoff;
    this.maxConsecutiveFailures = builder.maxConsecutiveFailures;
    this.maxConsecutiveTimeouts = builder.maxConsecutiveTimeouts;
    this.timeoutCooldown = builder.timeoutCooldown;
    this.reportFailures = builder.reportFailures;
    this.fanOutStrategy = builder.fanOutStrategy;
    this.healthCheckEvery =
        builder.healthCheckEvery >= 0
            ? builder.healthCheckEvery
            : Math.max(1, (int) (0.2 * builder.maxConsecutiveTimeouts));
    this.healthCheckTimeout = builder.healthCheckTimeout;
    this.failurePolicy =
        new FailurePolicy(
            maxConsecutiveFailures, maxConsecutiveTimeouts, timeoutCooldown, healthCheckEvery);
    this.converter = builder.converter != null ? builder.converter : ValueConverter.create();
    this.transports =
        new TransportRegistry(
            ProviderRegistry.load(TransportProvider.class), builder.transportSettings);
    int id = FLEETS.incrementAndGet();
    this.fleetThread =
        new ScheduledThreadPoolExecutor(
            1, Concurrency.daemonThreads("modelrunner-fleet-" + id, false));
    this.fleetThread.setRemoveOnCancelPolicy(true);
    if (builder.executor != null) {
      this.ownedCallbackThread = null;
      this.callbacks = new SerialExecutor(builder.executor);
    } else {
      this.ownedCallbackThread =
          Executors.newSingleThreadExecutor(
              Concurrency.daemonThreads("modelrunner-fleet-" + id + "-callbacks", false));
      this.callbacks = new SerialExecutor(ownedCallbackThread);
    }
    this.listeners.addAll(builder.listeners);
  }

  /** Returns a builder. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Starts following the directory. A directory that reports its first snapshot at once, on this
   * thread (a static list does), has its endpoints checked here: an endpoint no transport serves
   * fails the build, with the artifact to add. Endpoints reported later without a transport fail to
   * connect instead.
   */
  private void start() {
    Thread starting = Thread.currentThread();
    boolean[] startingUp = {true};
    directory.start(
        new ModelDirectory.Listener() {
          @Override
          public void snapshot(List<ModelEndpoint> running) {
            snapshot(running, List.of());
          }

          @Override
          public void snapshot(List<ModelEndpoint> running, List<ModelEndpoint> recovering) {
            if (startingUp[0] && Thread.currentThread() == starting) {
              running.forEach(endpoint -> transports.check(endpoint.address()));
            }
            List<ModelEndpoint> runningCopy = List.copyOf(running);
            List<ModelEndpoint> recoveringCopy = List.copyOf(recovering);
            onFleetThread(() -> applySnapshot(runningCopy, recoveringCopy));
          }

          @Override
          public void update(ModelEndpoint endpoint, ModelState state) {
            onFleetThread(() -> applyUpdate(endpoint, state));
          }
        });
    startingUp[0] = false;
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
    Objects.requireNonNull(request, "request");
    if (closed) {
      throw new IllegalStateException("The fleet is closed");
    }
    long start = System.nanoTime();
    FleetMember[] targets;
    List<FleetMember> unconnected = List.of();
    if (request.subset().isPresent()) {
      List<FleetMember> selected = new ArrayList<>();
      List<FleetMember> absent = new ArrayList<>();
      List<String> unknown = new ArrayList<>();
      for (String id : request.subset().get()) {
        FleetMember member = known.get(id);
        if (member == null) {
          unknown.add(id);
        } else if (member.state == ModelStatus.State.CONNECTED) {
          selected.add(member);
        } else {
          absent.add(member);
        }
      }
      if (!unknown.isEmpty()) {
        throw new IllegalArgumentException("The fleet knows no model with the id(s) " + unknown);
      }
      targets = selected.toArray(new FleetMember[0]);
      unconnected = absent;
    } else {
      View now = view;
      targets = now.connected;
      if (now.sittingOut.length > 0 || !allConnected(targets)) {
        // Slow path, only while membership changes: models between deployments or restarting get
        // SKIPPED.
        List<FleetMember> kept = new ArrayList<>(targets.length);
        List<FleetMember> outside = new ArrayList<>();
        for (FleetMember member : targets) {
          if (member.state == ModelStatus.State.CONNECTED) {
            kept.add(member);
          } else {
            sitsOut(member, outside);
          }
        }
        for (FleetMember member : now.sittingOut) {
          sitsOut(member, outside);
        }
        targets = kept.toArray(new FleetMember[0]);
        unconnected = outside;
      }
    }
    FleetMember[] all = targets;
    if (!unconnected.isEmpty()) {
      all = new FleetMember[targets.length + unconnected.size()];
      System.arraycopy(targets, 0, all, 0, targets.length);
      for (int i = 0; i < unconnected.size(); i++) {
        all[targets.length + i] = unconnected.get(i);
      }
    }
    PreparedCall[] prepared = prepare(request, all, targets.length);
    Duration timeout = request.timeout().orElse(callTimeout);
    FanOutStrategy strategy = request.strategy().orElse(fanOutStrategy);
    FanOutStrategy.Plan plan =
        strategy == FanOutStrategies.ALL
            ? FanOutStrategies.ALL_PLAN
            : strategy.plan(new Targets(targets), timeout);
    if (plan == null) {
      throw new IllegalStateException("The fan-out strategy " + strategy + " made no plan");
    }
    FanOutCall call;
    if (plan == FanOutStrategies.ALL_PLAN) {
      call =
          new FanOutCall(
              this,
              all,
              prepared,
              start,
              timeout,
              callbacks,
              request.onOutcome().orElse(null),
              null,
              null,
              0,
              null);
    } else {
      Duration[] slotTimeouts = new Duration[targets.length];
      for (int i = 0; i < targets.length; i++) {
        Duration chosen = plan.timeout(i, timeout);
        slotTimeouts[i] =
            chosen == null || chosen.isNegative() || chosen.isZero() ? timeout : chosen;
      }
      FleetMember[] sendable = targets;
      FanOutCall[] self = new FanOutCall[1];
      call =
          new FanOutCall(
              this,
              all,
              prepared,
              start,
              timeout,
              callbacks,
              request.onOutcome().orElse(null),
              plan,
              slotTimeouts,
              targets.length,
              slot -> send(self[0], sendable[slot], slot));
      self[0] = call;
    }
    if (all.length == 0) {
      call.completeEmpty();
      return call.future();
    }
    inFlight.add(call);
    call.timer(
        fleetThread.schedule(
            call::expire, Math.max(0, call.deadlineNanos - start), TimeUnit.NANOSECONDS));
    for (int i = targets.length; i < all.length; i++) {
      call.fill(i, unconnectedOutcome(all[i]));
    }
    if (plan == FanOutStrategies.ALL_PLAN) {
      for (int i = 0; i < targets.length; i++) {
        send(call, targets[i], i);
      }
    } else {
      call.start();
    }
    if (closed) {
      call.abort(closedFailure());
    }
    return call.future();
  }

  /** Sends one model's call of a fan-out, or ends it SKIPPED while the model sits calls out. */
  private void send(FanOutCall call, FleetMember member, int slot) {
    int cooldown = member.takeCooldown();
    if (cooldown < 0) {
      member.submit(new FleetMember.Job(call, slot));
    } else {
      call.fill(slot, skippedOutcome(member, cooldown));
    }
  }

  /** The targets a strategy plans for. */
  private static final class Targets implements FanOutStrategy.Targets {
    private final FleetMember[] members;

    Targets(FleetMember[] members) {
      this.members = members;
    }

    @Override
    public int size() {
      return members.length;
    }

    @Override
    public ModelEndpoint endpoint(int index) {
      return members[index].endpoint;
    }

    @Override
    public ModelStatus status(int index) {
      return members[index].status();
    }
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

  private static boolean allConnected(FleetMember[] members) {
    for (FleetMember member : members) {
      if (member.state != ModelStatus.State.CONNECTED) {
        return false;
      }
    }
    return true;
  }

  /**
   * For a member of the view that cannot take the call: adds the model's current member if it is
   * between deployments or restarting, or set up since the view was made (it gets a SKIPPED
   * outcome); a model that left or was disconnected gets none.
   */
  private void sitsOut(FleetMember member, List<FleetMember> outside) {
    FleetMember current = known.get(member.endpoint.modelId());
    if (current != null
        && (current.sitsOutAs() != null || current.state == ModelStatus.State.CONNECTED)) {
      outside.add(current);
    }
  }

  /** The outcome of a targeted model that does not take this call. */
  private CallOutcome unconnectedOutcome(FleetMember member) {
    String code = member.sitsOutAs();
    if (code == null && member.state == ModelStatus.State.CONNECTED) {
      // Set up since the fan-out's view was made: it takes the next call.
      code =
          member.onReady == FleetEvent.Kind.REPLACED
              ? CallFailure.REDEPLOYING
              : CallFailure.RECOVERING;
    }
    if (code == null) {
      return failureOutcome(
          member,
          new CallFailure(
              CallFailure.Source.CLIENT,
              CallFailure.NOT_CONNECTED,
              "the model is " + member.state.name().toLowerCase(java.util.Locale.ROOT)),
          0);
    }
    String why =
        code.equals(CallFailure.REDEPLOYING)
            ? "deployment " + member.endpoint.deploymentId() + " of the model is being set up"
            : "the model is restarting";
    return clientOutcome(member, CallStatus.SKIPPED, code, why);
  }

  /**
   * Drops members disconnected since the array was made (the fleet thread refreshes it soon after).
   */
  private static FleetMember[] stillConnected(FleetMember[] members) {
    for (FleetMember member : members) {
      if (member.state != ModelStatus.State.CONNECTED) {
        List<FleetMember> kept = new ArrayList<>(members.length);
        for (FleetMember candidate : members) {
          if (candidate.state == ModelStatus.State.CONNECTED) {
            kept.add(candidate);
          }
        }
        return kept.toArray(new FleetMember[0]);
      }
    }
    return members;
  }

  private PreparedCall[] prepare(FanOut request, FleetMember[] members, int connectedCount) {
    PreparedCall[] prepared = new PreparedCall[members.length];
    List<KeywordArgument> keywords = new ArrayList<>(request.keywords().size());
    for (Map.Entry<String, Object> keyword : request.keywords().entrySet()) {
      keywords.add(new KeywordArgument(keyword.getKey(), converter.encode(keyword.getValue())));
    }
    if (request.perModelArguments().isPresent()) {
      for (int i = 0; i < connectedCount; i++) {
        List<?> values = request.perModelArguments().get().apply(members[i].endpoint);
        Arguments arguments = arguments(values, keywords);
        prepared[i] = members[i].transport.prepare(request.method(), arguments);
      }
      return prepared;
    }
    if (request.perModel().isPresent()) {
      for (int i = 0; i < connectedCount; i++) {
        ModelArguments own =
            Objects.requireNonNull(
                request.perModel().get().apply(members[i].endpoint),
                "the per-model function returned null for " + members[i].endpoint.modelId());
        List<KeywordArgument> merged = keywords;
        if (!own.keywords().isEmpty()) {
          Map<String, KeywordArgument> byName = new java.util.LinkedHashMap<>();
          keywords.forEach(keyword -> byName.put(keyword.keyword(), keyword));
          own.keywords()
              .forEach(
                  (name, value) ->
                      byName.put(name, new KeywordArgument(name, converter.encode(value))));
          merged = new ArrayList<>(byName.values());
        }
        prepared[i] =
            members[i].transport.prepare(request.method(), arguments(own.positional(), merged));
      }
      return prepared;
    }
    Arguments shared = arguments(request.arguments(), keywords);
    Map<ModelTransport, PreparedCall> byTransport = new IdentityHashMap<>(2);
    ModelTransport lastTransport = null;
    PreparedCall lastCall = null;
    for (int i = 0; i < connectedCount; i++) {
      ModelTransport transport = members[i].transport;
      if (transport != lastTransport) {
        lastCall = byTransport.computeIfAbsent(transport, t -> t.prepare(request.method(), shared));
        lastTransport = transport;
      }
      prepared[i] = lastCall;
    }
    return prepared;
  }

  private Arguments arguments(List<?> values, List<KeywordArgument> keywords) {
    List<org.modelrunner.spi.Argument> positional = new ArrayList<>(values.size());
    for (int i = 0; i < values.size(); i++) {
      positional.add(new org.modelrunner.spi.Argument(i + 1, converter.encode(values.get(i))));
    }
    return Arguments.of(positional, keywords);
  }

  /** A model's answer (or transport error) arrived. Called on a transport thread. */
  void answered(
      FleetMember member, FleetMember.Job job, Reply reply, Throwable error, long micros) {
    CallOutcome outcome;
    if (error != null) {
      Throwable cause = Concurrency.cause(error);
      if (cause instanceof TransportException transport
          && transport.kind() == TransportException.Kind.DEADLINE_EXCEEDED) {
        outcome =
            new CallOutcome(
                member.endpoint,
                CallStatus.TIMEOUT,
                null,
                new CallFailure(
                    CallFailure.Source.TRANSPORT, transport.kind().name(), transport.getMessage()),
                micros,
                converter);
      } else if (cause instanceof TransportException transport) {
        outcome =
            failureOutcome(
                member,
                new CallFailure(
                    CallFailure.Source.TRANSPORT, transport.kind().name(), transport.getMessage()),
                micros);
      } else {
        outcome =
            failureOutcome(
                member,
                new CallFailure(
                    CallFailure.Source.TRANSPORT,
                    TransportException.Kind.INTERNAL.name(),
                    cause.toString()),
                micros);
      }
    } else if (reply.status().isSuccess()) {
      outcome =
          new CallOutcome(
              member.endpoint,
              CallStatus.SUCCESS,
              reply.value().orElse(null),
              null,
              micros,
              converter);
    } else {
      outcome =
          failureOutcome(
              member,
              new CallFailure(
                  CallFailure.Source.MODEL, reply.status().code(), reply.status().message()),
              micros);
    }
    job.call().fill(job.slot(), outcome);
  }

  CallOutcome timeoutOutcome(FleetMember member, long micros) {
    return new CallOutcome(member.endpoint, CallStatus.TIMEOUT, null, null, micros, converter);
  }

  /** An outcome the client decided without sending the call (it is not counted). */
  private CallOutcome clientOutcome(
      FleetMember member, CallStatus status, String code, String message) {
    return new CallOutcome(
        member.endpoint,
        status,
        null,
        new CallFailure(CallFailure.Source.CLIENT, code, message),
        0,
        converter);
  }

  private CallOutcome skippedOutcome(FleetMember member, int left) {
    return clientOutcome(
        member,
        CallStatus.SKIPPED,
        CallFailure.COOLDOWN,
        "the model sits out this call after timeouts"
            + (left > 0 ? " (and " + left + " more)" : ""));
  }

  CallOutcome cancelledOutcome(FleetMember member) {
    return clientOutcome(
        member,
        CallStatus.CANCELLED,
        CallFailure.NOT_NEEDED,
        "the fan-out completed without this answer");
  }

  CallOutcome notSentOutcome(FleetMember member) {
    return clientOutcome(
        member,
        CallStatus.SKIPPED,
        CallFailure.NOT_SENT,
        "not sent before the deadline (bounded calls in flight)");
  }

  CallOutcome failureOutcome(FleetMember member, CallFailure failure, long micros) {
    return new CallOutcome(member.endpoint, CallStatus.FAILURE, null, failure, micros, converter);
  }

  void finished(FanOutCall call) {
    inFlight.remove(call);
  }

  /** Applies the failure policy to a recorded outcome. */
  void policy(FleetMember member, CallOutcome outcome) {
    FailurePolicy.Decision decision = failurePolicy.apply(member, outcome);
    if (decision == FailurePolicy.Decision.NONE) {
      return; // the common case: no allocation
    }
    if (decision instanceof FailurePolicy.Decision.Disconnect disconnect) {
      if (reportFailures) {
        disconnect(member, disconnect.code().name(), disconnect.reason());
      } else if (disconnect.firstCrossing()) {
        LOG.log(
            System.Logger.Level.WARNING,
            "{0} would be disconnected and reported {1} ({2}); failures are not reported, so it is"
                + " kept",
            member,
            disconnect.code(),
            disconnect.reason());
      }
    } else if (decision instanceof FailurePolicy.Decision.CheckHealth check) {
      checkHealth(member, check.why());
    } else if (decision instanceof FailurePolicy.Decision.SetUpAgain again) {
      LOG.log(System.Logger.Level.WARNING, "{0}: {1}; setting it up again", member, again.why());
      onFleetThread(() -> reconnect(member, again.why()));
    } else if (decision instanceof FailurePolicy.Decision.CoordinatorError error) {
      LOG.log(
          System.Logger.Level.WARNING,
          "{0} refused the call as the coordinator''s error, not counted: {1}",
          member,
          error.failure());
    }
  }

  /**
   * Asks the runner's health service, out of band with its own deadline (never inside a fan-out's);
   * a runner that does not answer {@code SERVING} is reconnected. One check at a time per model.
   */
  private void checkHealth(FleetMember member, String why) {
    ModelConnection connection = member.connection;
    if (connection == null
        || member.retired
        || member.state != ModelStatus.State.CONNECTED
        || !member.healthChecking.compareAndSet(false, true)) {
      return;
    }
    CompletableFuture<HealthStatus> health;
    try {
      health = connection.checkHealth(healthCheckTimeout);
    } catch (RuntimeException e) {
      health = CompletableFuture.failedFuture(e);
    }
    health.whenComplete(
        (status, error) -> {
          member.healthChecking.set(false);
          if (error == null && status == HealthStatus.SERVING) {
            return;
          }
          String answer =
              error != null ? Concurrency.cause(error).toString() : String.valueOf(status);
          onFleetThread(() -> reconnect(member, "health check after " + why + ": " + answer));
        });
  }

  private void disconnect(FleetMember member, String code, String reason) {
    // At once, so that no fan-out started after this outcome was seen targets the model.
    if (!member.markDisconnected(code + ": " + reason)) {
      return;
    }
    onFleetThread(
        () -> {
          LOG.log(
              System.Logger.Level.WARNING, "Disconnecting {0}: {1} ({2})", member, code, reason);
          member.closeConnection();
          membershipChanged();
          reportToDirectory(member.endpoint, code, reason);
          emit(new FleetEvent(FleetEvent.Kind.DISCONNECTED, member.endpoint, code, reason));
        });
  }

  private void reportToDirectory(ModelEndpoint endpoint, String code, String reason) {
    try {
      directory.reportFailure(endpoint, code, reason);
    } catch (RuntimeException e) {
      LOG.log(
          System.Logger.Level.WARNING, "The directory failed to take a failure report: " + e, e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Membership (fleet thread only)

  private void onFleetThread(Runnable task) {
    try {
      fleetThread.execute(
          () -> {
            if (closed) {
              return;
            }
            try {
              task.run();
              checkSettled();
            } catch (RuntimeException | Error e) {
              LOG.log(System.Logger.Level.ERROR, "Applying a membership change failed: " + e, e);
            }
          });
    } catch (java.util.concurrent.RejectedExecutionException closing) {
      // The fleet is closing: nothing more to apply.
    }
  }

  private static String key(ModelEndpoint endpoint) {
    return endpoint.modelId() + '\u0000' + endpoint.deploymentId();
  }

  private void applySnapshot(List<ModelEndpoint> running, List<ModelEndpoint> recovering) {
    Set<String> listed = new HashSet<>();
    running.forEach(endpoint -> listed.add(key(endpoint)));
    recovering.forEach(endpoint -> listed.add(key(endpoint)));
    // What is listed first, so that a model whose old deployment is gone and whose new one is
    // listed is a
    // redeploy, not a leave and a join.
    for (ModelEndpoint endpoint : running) {
      applyUpdate(endpoint, ModelState.RUNNING);
    }
    for (ModelEndpoint endpoint : recovering) {
      applyUpdate(endpoint, ModelState.RECOVERING);
    }
    for (FleetMember member : List.copyOf(replacing.values())) {
      if (!listed.contains(key(member.endpoint))) {
        retire(replacing.remove(member.endpoint.modelId()));
      }
    }
    for (FleetMember member : List.copyOf(known.values())) {
      if (!listed.contains(key(member.endpoint))) {
        stopped(member, "not in the directory's snapshot");
      }
    }
    if (initialPending == null && !settled) {
      initialPending = new HashSet<>();
      initialPending.addAll(known.values());
      initialPending.addAll(replacing.values());
    }
  }

  private void applyUpdate(ModelEndpoint endpoint, ModelState state) {
    String id = endpoint.modelId();
    FleetMember current = known.get(id);
    FleetMember pending = replacing.get(id);
    switch (state) {
      case RUNNING -> running(endpoint, current, pending);
      case RECOVERING -> {
        if (pending != null && sameDeployment(pending, endpoint)) {
          retire(replacing.remove(id));
        }
        if (current != null
            && sameDeployment(current, endpoint)
            && current.state != ModelStatus.State.RECOVERING) {
          recovering(current);
        }
      }
      case STOPPED -> {
        if (pending != null && sameDeployment(pending, endpoint)) {
          retire(replacing.remove(id));
        }
        if (current != null && sameDeployment(current, endpoint)) {
          stopped(current, "the directory reports it STOPPED");
        }
      }
    }
  }

  private void running(ModelEndpoint endpoint, FleetMember current, FleetMember pending) {
    String id = endpoint.modelId();
    if (current != null && sameDeployment(current, endpoint)) {
      boolean moved = !current.endpoint.address().equals(endpoint.address());
      if (!moved && current.state != ModelStatus.State.RECOVERING) {
        if (!current.endpoint.infos().equals(endpoint.infos())) {
          current.endpoint = endpoint;
          emit(new FleetEvent(FleetEvent.Kind.INFOS_UPDATED, endpoint, "", ""));
        }
        return; // a duplicate; or a model disconnected here, which stays out until the directory
        // changes it
      }
      // The same deployment, restarted (RECOVERING then RUNNING) or moved: set it up again.
      if (pending != null) {
        retire(replacing.remove(id));
      }
      FleetMember restarted = new FleetMember(this, endpoint, FleetEvent.Kind.RESTARTED);
      restarted.readyReason =
          moved
              ? "moved from " + current.endpoint.address() + " to " + endpoint.address()
              : "restarted";
      replaceAtOnce(current, restarted);
      connect(restarted, 1);
      return;
    }
    if (pending != null && sameDeployment(pending, endpoint)) {
      if (pending.endpoint.address().equals(endpoint.address())) {
        pending.endpoint = endpoint; // already being set up; keep the newest infos
        return;
      }
      retire(replacing.remove(id)); // moved while being set up: start again
    }
    if (current == null) {
      FleetMember joining = new FleetMember(this, endpoint, FleetEvent.Kind.CONNECTED);
      known.put(id, joining);
      connect(joining, 1);
      return;
    }
    FleetMember next = new FleetMember(this, endpoint, FleetEvent.Kind.REPLACED);
    next.readyReason = "replaces deployment " + current.endpoint.deploymentId();
    if (current.state == ModelStatus.State.CONNECTED) {
      replacing.put(id, next); // the current deployment serves until the new one is set up
    } else {
      replaceAtOnce(current, next);
    }
    connect(next, 1);
  }

  /** Puts {@code next} in the place of {@code current} now (current cannot serve anyway). */
  private void replaceAtOnce(FleetMember current, FleetMember next) {
    known.put(next.endpoint.modelId(), next);
    retire(current);
    membershipChanged(); // connected, or sitting out while being set up again
  }

  private void recovering(FleetMember current) {
    FleetMember waiting = new FleetMember(this, current.endpoint, FleetEvent.Kind.RESTARTED);
    waiting.state = ModelStatus.State.RECOVERING;
    waiting.retired = true; // never connects: a RUNNING update starts a new member
    replaceAtOnce(current, waiting);
    emit(
        new FleetEvent(
            FleetEvent.Kind.RECOVERING,
            current.endpoint,
            "",
            "the directory reports it RECOVERING"));
  }

  private void reconnect(FleetMember member, String why) {
    String id = member.endpoint.modelId();
    if (member.retired || known.get(id) != member || member.state != ModelStatus.State.CONNECTED) {
      return;
    }
    LOG.log(System.Logger.Level.WARNING, "Reconnecting {0}: {1}", member, why);
    FleetMember again = new FleetMember(this, member.endpoint, FleetEvent.Kind.RESTARTED);
    again.readyReason = "reconnected after " + why;
    again.lastError(why);
    replaceAtOnce(member, again);
    connect(again, 1);
  }

  private static boolean sameDeployment(FleetMember member, ModelEndpoint endpoint) {
    return member.endpoint.deploymentId().equals(endpoint.deploymentId());
  }

  /**
   * The held deployment is gone. If a newer deployment of the model is being set up, it is a
   * redeploy (the Model Orchestrator stops the old process at once): the new deployment takes the
   * place, the model is {@code REDEPLOYING} until it is ready ({@code REPLACED}), and nothing says
   * it left. Otherwise the model leaves.
   */
  private void stopped(FleetMember member, String reason) {
    String id = member.endpoint.modelId();
    FleetMember pending = replacing.remove(id);
    if (pending == null) {
      leave(member, reason);
      return;
    }
    LOG.log(
        System.Logger.Level.INFO,
        "{0}: deployment {1} stopped ({2}); {3} is being set up in its place",
        id,
        member.endpoint.deploymentId(),
        reason,
        pending.endpoint.deploymentId());
    known.put(id, pending);
    retire(member);
    pending.state = ModelStatus.State.REDEPLOYING;
    membershipChanged();
  }

  private void leave(FleetMember member, String reason) {
    String id = member.endpoint.modelId();
    known.remove(id, member);
    retire(member);
    membershipChanged();
    emit(new FleetEvent(FleetEvent.Kind.LEFT, member.endpoint, "", reason));
  }

  /**
   * Retires a deployment that a new one replaced while it still serves: calls already sent or
   * queued to it (by fan-outs that started before the swap) get its answers. It takes no new calls,
   * and its connection closes once it is idle, a call timeout after the swap at the earliest.
   */
  private void retireAfterItsCalls(FleetMember member) {
    member.retired = true; // no more policy decisions or health checks for it
    replacedAwaitingRebuild.add(member); // its call timeout starts once fan-outs no longer pick it
  }

  private void scheduleRetirement(FleetMember member) {
    try {
      fleetThread.schedule(
          () -> {
            member.state = ModelStatus.State.DISCONNECTED;
            member.closeWhenIdle();
          },
          callTimeout.toNanos(),
          TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.RejectedExecutionException closing) {
      member.closeConnection(); // the fleet is closing
    }
  }

  private void retire(FleetMember member) {
    if (member == null) {
      return;
    }
    member.retired = true;
    if (member.state != ModelStatus.State.RECOVERING) {
      member.state = ModelStatus.State.DISCONNECTED;
    }
    member.closeConnection();
  }

  private void connect(FleetMember member, int attempt) {
    if (member.retired) {
      return;
    }
    ModelConnection connection = member.connection;
    if (connection == null) {
      try {
        ModelTransport transport = transports.transportFor(member.endpoint.address());
        connection = transport.connect(member.endpoint.address());
        member.transport = transport;
      } catch (RuntimeException e) {
        connectionFailed(member, e.getMessage());
        return;
      }
      member.connection = connection;
    }
    CompletableFuture<Reply> setup;
    try {
      setup = connection.setup(baseClass, setupArguments, setupTimeout);
    } catch (RuntimeException e) {
      setup = CompletableFuture.failedFuture(e);
    }
    setup.whenComplete((reply, error) -> onFleetThread(() -> setUp(member, attempt, reply, error)));
  }

  private void setUp(FleetMember member, int attempt, Reply reply, Throwable error) {
    if (member.retired) {
      return;
    }
    if (error == null && reply.status().isSuccess()) {
      String id = member.endpoint.modelId();
      FleetMember previous = known.get(id);
      if (replacing.get(id) == member) {
        replacing.remove(id);
      }
      known.put(id, member);
      member.state = ModelStatus.State.CONNECTED;
      membershipChanged(); // the old member serves until fan-outs pick the new one: no fan-out
      // misses the model
      if (previous != null && previous != member) {
        if (previous.state == ModelStatus.State.CONNECTED) {
          retireAfterItsCalls(previous);
        } else {
          retire(previous);
        }
      }
      String reason = member.readyReason != null ? member.readyReason : reply.status().message();
      emit(new FleetEvent(member.onReady, member.endpoint, "", reason));
      return;
    }
    String why = error != null ? Concurrency.cause(error).toString() : reply.status().toString();
    member.lastError("setup attempt " + attempt + ": " + why);
    if (error == null) {
      // The runner answered: not retried (as the Python client). Only errors and timeouts are.
      setupRefused(member, reply);
      return;
    }
    if (attempt < setupAttempts) {
      long backoff = setupBackoff.toNanos() << Math.min(attempt - 1, 20);
      LOG.log(System.Logger.Level.INFO, "Setup of {0} failed ({1}); retrying", member, why);
      fleetThread.schedule(
          () -> onFleetThread(() -> connect(member, attempt + 1)), backoff, TimeUnit.NANOSECONDS);
      return;
    }
    connectionFailed(member, "setup failed " + attempt + " time(s), the last: " + why);
  }

  /**
   * Setup answered something other than SUCCESS: {@code BAD_IMPLEMENTATION} is reported as such;
   * {@code INVALID_ARGUMENT} (an empty base class name) is the coordinator's error, logged and not
   * reported; any other answer ({@code SETUP_FAILED}: the constructor threw, say) is reported
   * {@code MULTIPLE_FAILED}, which the Model Orchestrator quarantines.
   */
  private void setupRefused(FleetMember member, Reply reply) {
    member.state = ModelStatus.State.DISCONNECTED;
    member.closeConnection();
    forgetIfPending(member);
    membershipChanged();
    String message = reply.status().message();
    if (reply.status().is(StatusCode.INVALID_ARGUMENT)) {
      String reason =
          "the runner refused the setup as the coordinator's error ("
              + reply.status()
              + "): check the fleet's base class name '"
              + baseClass
              + "'";
      LOG.log(System.Logger.Level.ERROR, "{0}: {1}", member, reason);
      emit(
          new FleetEvent(
              FleetEvent.Kind.CONNECTION_FAILED,
              member.endpoint,
              StatusCode.INVALID_ARGUMENT.name(),
              reason));
      return;
    }
    String code =
        reply.status().is(StatusCode.BAD_IMPLEMENTATION)
            ? FailureCode.BAD_IMPLEMENTATION.name()
            : FailureCode.MULTIPLE_FAILED.name();
    String reason =
        reply.status().is(StatusCode.BAD_IMPLEMENTATION)
            ? message
            : "setup answered " + reply.status();
    LOG.log(
        System.Logger.Level.WARNING,
        "Setup of {0} answered {1}: {2}",
        member,
        reply.status().code(),
        message);
    if (reportFailures) {
      reportToDirectory(member.endpoint, code, reason);
    }
    emit(new FleetEvent(FleetEvent.Kind.DISCONNECTED, member.endpoint, code, reason));
  }

  private void connectionFailed(FleetMember member, String why) {
    LOG.log(System.Logger.Level.WARNING, "Cannot connect {0}: {1}", member, why);
    member.lastError(why);
    member.state = ModelStatus.State.DISCONNECTED;
    member.closeConnection();
    forgetIfPending(member);
    membershipChanged();
    if (reportFailures) {
      reportToDirectory(member.endpoint, FailureCode.CONNECTION_FAILED.name(), why);
    }
    emit(
        new FleetEvent(
            FleetEvent.Kind.CONNECTION_FAILED,
            member.endpoint,
            FailureCode.CONNECTION_FAILED.name(),
            why));
  }

  private void forgetIfPending(FleetMember member) {
    String id = member.endpoint.modelId();
    if (replacing.get(id) == member) {
      replacing.remove(id);
      member.retired = true;
    }
  }

  /**
   * Schedules one rebuild of the connected array for all the changes made until it runs: a burst of
   * setups completing together (a snapshot of thousands of models) costs one pass, not one per
   * model. Events emitted meanwhile wait for it, so that a listener that sees CONNECTED finds the
   * model connected.
   */
  private void membershipChanged() {
    if (!rebuildPending) {
      rebuildPending = true;
      onFleetThread(this::rebuildConnected);
    }
  }

  private void rebuildConnected() {
    rebuildPending = false;
    List<FleetMember> now = new ArrayList<>(view.connected.length + 1);
    List<FleetMember> out = new ArrayList<>();
    for (FleetMember member : known.values()) { // in model id order
      if (member.state == ModelStatus.State.CONNECTED) {
        now.add(member);
      } else if (member.sitsOutAs() != null) {
        out.add(member);
      }
    }
    view = new View(now.toArray(new FleetMember[0]), out.toArray(new FleetMember[0]));
    synchronized (readiness) {
      readiness.notifyAll();
    }
    for (FleetMember replaced : replacedAwaitingRebuild) {
      scheduleRetirement(replaced);
    }
    replacedAwaitingRebuild.clear();
    for (FleetEvent event : eventsAwaitingRebuild) {
      emit(event);
    }
    eventsAwaitingRebuild.clear();
  }

  /**
   * Marks the fleet settled once every model of the directory's first snapshot connected or failed.
   */
  private void checkSettled() {
    if (settled || initialPending == null || rebuildPending) {
      return;
    }
    initialPending.removeIf(
        member ->
            member.retired
                || (member.state != ModelStatus.State.CONNECTING
                    && member.state != ModelStatus.State.REDEPLOYING));
    if (initialPending.isEmpty()) {
      settled = true;
      initialPending = null;
      synchronized (readiness) {
        readiness.notifyAll();
      }
    }
  }

  private void emit(FleetEvent event) {
    if (listeners.isEmpty()) {
      return;
    }
    if (rebuildPending) {
      eventsAwaitingRebuild.add(event);
      return;
    }
    callbacks.execute(
        () -> {
          for (FleetListener listener : listeners) {
            try {
              listener.onEvent(event);
            } catch (RuntimeException e) {
              LOG.log(
                  System.Logger.Level.WARNING, "A fleet listener failed on " + event + ": " + e, e);
            }
          }
        });
  }

  // ---------------------------------------------------------------------------------------------
  // What coordinators can see

  /** Returns the status of every model the fleet knows (connected, connecting or disconnected). */
  public List<ModelStatus> models() {
    List<ModelStatus> statuses = new ArrayList<>();
    for (FleetMember member : known.values()) {
      statuses.add(member.status());
    }
    statuses.sort((a, b) -> a.modelId().compareTo(b.modelId()));
    return statuses;
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
    List<String> ids = new ArrayList<>();
    for (FleetMember member : stillConnected(view.connected)) {
      ids.add(member.endpoint.modelId());
    }
    return ids;
  }

  /**
   * Waits until at least {@code count} models are connected.
   *
   * @return whether they were, before the timeout
   * @throws InterruptedException if the thread is interrupted while waiting
   */
  public boolean awaitConnected(int count, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (readiness) {
      while (view.connected.length < count) {
        long left = deadline - System.nanoTime();
        if (left <= 0 || closed) {
          return view.connected.length >= count;
        }
        TimeUnit.NANOSECONDS.timedWait(readiness, left);
      }
      return true;
    }
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
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (readiness) {
      while (!settled) {
        long left = deadline - System.nanoTime();
        if (left <= 0 || closed) {
          return settled;
        }
        TimeUnit.NANOSECONDS.timedWait(readiness, left);
      }
      return true;
    }
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
    Objects.requireNonNull(failureCode, "failureCode");
    Objects.requireNonNull(reason, "reason");
    if (failureCode.isBlank()) {
      throw new IllegalArgumentException("The failure code cannot be blank");
    }
    FleetMember member = member(modelId);
    LOG.log(System.Logger.Level.INFO, "Reporting {0}: {1} ({2})", member, failureCode, reason);
    reportToDirectory(member.endpoint, failureCode, reason);
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
    Objects.requireNonNull(reason, "reason");
    FleetMember member = member(modelId);
    if (!member.markDisconnected(FleetEvent.LOCAL + ": " + reason)) {
      return false;
    }
    onFleetThread(
        () -> {
          LOG.log(System.Logger.Level.INFO, "Disconnecting {0} locally: {1}", member, reason);
          member.closeConnection();
          if (replacing.containsKey(modelId)) {
            retire(replacing.remove(modelId));
          }
          membershipChanged();
          emit(
              new FleetEvent(
                  FleetEvent.Kind.DISCONNECTED, member.endpoint, FleetEvent.LOCAL, reason));
        });
    return true;
  }

  private FleetMember member(String modelId) {
    Objects.requireNonNull(modelId, "modelId");
    FleetMember member = known.get(modelId);
    if (member == null) {
      throw new IllegalArgumentException("The fleet knows no model with the id " + modelId);
    }
    return member;
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
    if (closed) {
      return;
    }
    closed = true;
    try {
      directory.close();
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "Closing the directory failed: " + e, e);
    }
    for (FanOutCall call : List.copyOf(inFlight)) {
      call.abort(closedFailure());
    }
    fleetThread.shutdownNow();
    try {
      fleetThread.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (FleetMember member : known.values()) {
      retire(member);
    }
    for (FleetMember member : replacing.values()) {
      retire(member);
    }
    transports.close();
    synchronized (readiness) {
      readiness.notifyAll();
    }
    if (ownedCallbackThread != null) {
      ownedCallbackThread.shutdown();
    }
  }

  private static CallFailure closedFailure() {
    return new CallFailure(
        CallFailure.Source.CLIENT, CallFailure.FLEET_CLOSED, "the fleet was closed");
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
        fleet.start();
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
