package org.modelrunner.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntPredicate;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.CallProgress;
import org.modelrunner.spi.KeywordArgument;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.PreparedCall;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.ValueConverter;
import org.modelrunner.spi.Variant;

/**
 * The fleet's fan-out engine: spreads one call over the targeted models with its {@link
 * FanOutStrategy}, through each model's mailbox, under one timer, and applies the {@link
 * FailurePolicy} to each outcome, acting through the {@link Membership}. Never calls back into the
 * fleet.
 */
final class FanOutEngine {
  private static final System.Logger LOG = System.getLogger(Concurrency.FLEET_LOGGER);

  private final Membership membership;
  final Outcomes outcomes;
  private final ValueConverter converter;
  private final Duration callTimeout;
  private final FanOutStrategy fanOutStrategy;
  private final FailurePolicy failurePolicy;
  private final boolean reportFailures;
  private final SerialExecutor callbacks;
  private final Ticker ticker;
  private final Set<FanOutCall> inFlight = ConcurrentHashMap.newKeySet();
  private final FanOutTimer timer;

  private final List<FleetListener> listeners;

  FanOutEngine(
      Membership membership,
      Outcomes outcomes,
      ValueConverter converter,
      Duration callTimeout,
      FanOutStrategy fanOutStrategy,
      FailurePolicy failurePolicy,
      boolean reportFailures,
      ScheduledThreadPoolExecutor fleetThread,
      SerialExecutor callbacks,
      Ticker ticker,
      List<FleetListener> listeners) {
    this.listeners = listeners;
    this.membership = membership;
    this.outcomes = outcomes;
    this.converter = converter;
    this.callTimeout = callTimeout;
    this.fanOutStrategy = fanOutStrategy;
    this.failurePolicy = failurePolicy;
    this.reportFailures = reportFailures;
    this.callbacks = callbacks;
    this.ticker = ticker;
    this.timer =
        new FanOutTimer(
            (task, delay) -> fleetThread.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS),
            ticker,
            inFlight);
    fleetThread.execute(() -> warmUp());
  }

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
  CompletableFuture<FanOutResult> call(FanOut request) {
    return start(request, true).future();
  }

  /**
   * Starts a fan-out and returns it; {@link FanOutCall#future()} is what {@link #call} returns,
   * {@link FanOutCall#awaited()} what a blocked caller waits for.
   *
   * @param futureWanted whether the caller takes {@link FanOutCall#future()}: when false, and no
   *     per-outcome callback or listener waits, the result is not handed to the fleet's executor
   */
  FanOutCall start(FanOut request, boolean futureWanted) {
    Objects.requireNonNull(request, "request");
    if (membership.isClosed()) {
      throw new IllegalStateException("The fleet is closed");
    }
    long start = ticker.read();
    FleetMember[] targets;
    List<FleetMember> unconnected = List.of();
    if (request.subset().isPresent()) {
      List<FleetMember> selected = new ArrayList<>();
      List<FleetMember> absent = new ArrayList<>();
      List<String> unknown = new ArrayList<>();
      for (String id : request.subset().get()) {
        FleetMember member = membership.known(id);
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
      Membership.View now = membership.view();
      targets = now.connected();
      if (now.sittingOut().length > 0 || !allConnected(targets)) {
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
        for (FleetMember member : now.sittingOut()) {
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
    return launch(request, start, targets, all, futureWanted, false);
  }

  /**
   * Runs a fan-out started at {@code start} (a {@link Ticker} reading) over the connected {@code
   * targets}, the first models of {@code all}; the others take none of it (their outcomes are
   * filled at once).
   *
   * @param warmUp whether it is {@link #warmUp}'s: its result reaches no listener, and it is
   *     neither tracked nor timed by the fleet (its model answers before this returns)
   */
  private FanOutCall launch(
      FanOut request,
      long start,
      FleetMember[] targets,
      FleetMember[] all,
      boolean futureWanted,
      boolean warmUp) {
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
    boolean defaultPlan = plan == FanOutStrategies.ALL_PLAN;
    Duration[] slotTimeouts = null;
    if (!defaultPlan) {
      slotTimeouts = new Duration[targets.length];
      for (int i = 0; i < targets.length; i++) {
        Duration chosen = plan.timeout(i, timeout);
        slotTimeouts[i] =
            chosen == null || chosen.isNegative() || chosen.isZero() ? timeout : chosen;
      }
    }
    FleetMember[] sendable = targets;
    FanOutCall[] self = defaultPlan ? null : new FanOutCall[1];
    FanOutCall call =
        new FanOutCall(
            this,
            futureWanted,
            request.method(),
            ticker,
            all,
            prepared,
            start,
            timeout,
            callbacks,
            !warmUp,
            request.onOutcome().orElse(null),
            defaultPlan ? null : plan,
            slotTimeouts,
            defaultPlan ? 0 : targets.length,
            defaultPlan ? null : slot -> send(self[0], sendable[slot], slot));
    if (self != null) {
      self[0] = call;
    }
    if (all.length == 0) {
      call.completeEmpty();
      return call;
    }
    if (warmUp) {
      // The timer's code on a timer of its own that schedules nothing: not the fleet's.
      new FanOutTimer((task, delay) -> null, ticker, List.of()).started(call);
    } else {
      inFlight.add(call);
      timer.started(call);
    }
    for (int i = targets.length; i < all.length; i++) {
      call.fill(i, unconnectedOutcome(all[i]));
    }
    if (defaultPlan) {
      int first = firstToSend(targets.length);
      for (int i = first; i < targets.length; i++) {
        send(call, targets[i], i);
      }
      for (int i = 0; i < first; i++) {
        send(call, targets[i], i);
      }
    } else {
      call.start();
    }
    if (membership.isClosed()) {
      call.abort(Outcomes.CLOSED);
    }
    return call;
  }

  /**
   * Returns the model a fan-out over {@code count} models sends to first; the others follow in
   * order, round to the one before it. It moves by the golden ratio of the fleet each fan-out, so
   * that every model is now early, now late: when the coordinator cannot send and run every call in
   * time (thousands of in-process models from a cold start), the calls lost are spread over all the
   * models, not always those at the end of the list (in a run of 10,000 such models, those at the
   * end timed out about eight times as often as those at the start).
   */
  int firstToSend(int count) {
    if (count <= 1) {
      return 0;
    }
    long turn = fanOuts.getAndIncrement();
    double golden = (turn * GOLDEN_FRACTION) % 1.0;
    return (int) (golden * count);
  }

  /** The fractional part of the golden ratio: its multiples spread evenly over [0, 1). */
  private static final double GOLDEN_FRACTION = 0.6180339887498949;

  /** How many fan-outs chose their first model. */
  private final AtomicLong fanOuts = new AtomicLong();

  /** Sends one model's call of a fan-out, or ends it SKIPPED while the model sits calls out. */
  private void send(FanOutCall call, FleetMember member, int slot) {
    int cooldown = member.takeCooldown();
    if (cooldown < 0) {
      member.submit(new FleetMember.Job(member, call, slot));
    } else {
      call.fill(slot, outcomes.skippedOutcome(member, cooldown));
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
    FleetMember current = membership.known(member.endpoint.modelId());
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
      return outcomes.failureOutcome(
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
    return outcomes.clientOutcome(member, CallStatus.SKIPPED, code, why);
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
    // One prepared call per transport; the map only once a second transport shows up (a fleet of
    // one transport, the usual, makes none).
    Map<ModelTransport, PreparedCall> byTransport = null;
    ModelTransport lastTransport = null;
    PreparedCall lastCall = null;
    for (int i = 0; i < connectedCount; i++) {
      ModelTransport transport = members[i].transport;
      if (transport != lastTransport) {
        PreparedCall known = byTransport == null ? null : byTransport.get(transport);
        if (known == null) {
          known = transport.prepare(request.method(), shared);
          if (lastTransport != null) {
            if (byTransport == null) {
              byTransport = new IdentityHashMap<>(4);
              byTransport.put(lastTransport, lastCall);
            }
            byTransport.put(transport, known);
          }
        }
        lastCall = known;
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

  void finished(FanOutCall call) {
    inFlight.remove(call);
  }

  /**
   * Runs one fan-out through the engine as a coordinator's first runs, with an argument and a
   * keyword, over a model of its own that answers at once ({@link WarmUpModel}), and reads its
   * result and its model's status: so that the coordinator's first fan-out does not load, link and
   * run for the first time the classes and lambdas on its path (over gRPC, its first call after
   * Setup took a median of 10.1 ms over 22 runs with it, 19.2 ms over 7 runs without). Run on the
   * fleet's thread when the fleet is made, while its models connect. No model, directory, listener,
   * fan-out strategy or codec hears of it: its result reaches no listener, it takes the plain
   * strategy, its values are variants (the fleet's converter, which may be the coordinator's, takes
   * them as they are and decodes none), the fleet neither tracks nor times it, and its model is
   * none of the fleet's.
   *
   * @return whether it ran as a fan-out does (a failure is logged: the fleet works without it)
   */
  boolean warmUp() {
    try {
      FleetMember[] model = {WarmUpModel.member(outcomes)};
      FanOutCall call =
          launch(
              // Variants: the fleet's converter may be the coordinator's, whose codecs see only
              // the coordinator's values (and may not take these).
              FanOut.builder("predict")
                  .arguments(Variant.ofString("x"))
                  .keyword("k", Variant.ofDouble(1.5))
                  .strategy(FanOutStrategies.ALL) // not the fleet's: its plans see only models
                  .build(),
              ticker.read(),
              model,
              model,
              false,
              true);
      FanOutResult result = call.awaited().getNow(null); // complete: its model answered at once
      if (result == null || !result.outcomes().get(0).isSuccess()) {
        throw new IllegalStateException("its fan-out did not succeed: " + result);
      }
      result.outcomes().get(0).variant(); // not decoded: that is the converter's
      // Its counts and latency, as the fleet's status reads a member's.
      if (model[0].status().counts().successes() != 1) {
        throw new IllegalStateException(
            "its model's outcome was not counted: " + model[0].status());
      }
      return true;
    } catch (RuntimeException e) {
      LOG.log(
          System.Logger.Level.WARNING,
          "The fleet's warm-up failed (its first fan-out may be slower): " + e,
          e);
      return false;
    }
  }

  /** Returns whether a {@link FleetListener} is registered. */
  boolean hasListeners() {
    return !listeners.isEmpty();
  }

  /** Gives a fan-out's result to the listeners; runs on the callbacks executor. */
  void completed(FanOutResult result) {
    for (FleetListener listener : listeners) {
      try {
        listener.onFanOut(result);
      } catch (RuntimeException e) {
        LOG.log(
            System.Logger.Level.WARNING, "A fleet listener failed on a fan-out's result: " + e, e);
      }
    }
  }

  /** Applies the failure policy to a recorded outcome. */
  void policy(FleetMember member, CallOutcome outcome) {
    FailurePolicy.Decision decision = failurePolicy.apply(member, outcome);
    if (decision == FailurePolicy.Decision.NONE) {
      return; // the common case: no allocation
    }
    if (decision instanceof FailurePolicy.Decision.Disconnect disconnect) {
      if (reportFailures) {
        membership.disconnect(member, disconnect.code().name(), disconnect.reason());
      } else if (disconnect.firstCrossing()) {
        wouldBe("disconnected", member, disconnect.code(), disconnect.reason());
      }
    } else if (decision instanceof FailurePolicy.Decision.Eject eject) {
      if (reportFailures) {
        membership.eject(member, eject.code().name(), eject.reason());
      } else if (eject.firstCrossing()) {
        wouldBe("ejected", member, eject.code(), eject.reason());
      }
    } else if (decision instanceof FailurePolicy.Decision.CheckHealth check) {
      membership.checkHealth(member, check.why());
    } else if (decision instanceof FailurePolicy.Decision.SetUpAgain again) {
      LOG.log(System.Logger.Level.WARNING, "{0}: {1}; setting it up again", member, again.why());
      membership.onFleetThread(() -> membership.reconnect(member, again.why(), true));
    } else if (decision instanceof FailurePolicy.Decision.CoordinatorError error) {
      LOG.log(
          System.Logger.Level.WARNING,
          "{0} refused the call as the coordinator''s error, not counted: {1}",
          member,
          error.failure());
    }
  }

  /** Why a timeout whose request never left the coordinator's process is not counted. */
  static final String WAITED_IN_COORDINATOR =
      "the request waited for one of the coordinator's own threads until its deadline and never"
          + " reached the model (the coordinator's overload, not the model's)";

  private static void wouldBe(String what, FleetMember member, FailureCode code, String reason) {
    LOG.log(
        System.Logger.Level.WARNING,
        "{0} would be {1} and reported {2} ({3}); failures are not reported, so it is kept",
        member,
        what,
        code,
        reason);
  }

  /**
   * Judges a complete fan-out's timeouts together: counted by the failure policy, one by one,
   * unless they are the fleet's own stall (most of the models at once, or a deadline timer that ran
   * late; {@link FailurePolicy#stall}), in which case they stay TIMEOUT outcomes but count for
   * nothing, and one warning says why. A timeout whose request waited in the coordinator's own
   * process until the deadline, without reaching its model, as its transport tells ({@link
   * CallProgress}), is not counted either. Called once per fan-out, before its result is seen.
   *
   * @param lateNanos how long after the fan-out's deadline it completed (negative if before)
   * @param waitedInCoordinator whether a slot's request never left the coordinator's process
   */
  void timeouts(
      String method,
      FleetMember[] members,
      CallOutcome[] outcomes,
      long lateNanos,
      IntPredicate waitedInCoordinator) {
    int timeouts = 0;
    for (CallOutcome outcome : outcomes) {
      if (outcome.status() == CallStatus.TIMEOUT) {
        timeouts++;
      }
    }
    if (timeouts == 0) {
      return; // the common case, which costs one look at each outcome
    }
    int called = 0;
    for (CallOutcome outcome : outcomes) {
      if (outcome.status() == CallStatus.TIMEOUT
          || outcome.failure().map(f -> f.source() != CallFailure.Source.CLIENT).orElse(true)) {
        called++;
      }
    }
    String stall = failurePolicy.stall(timeouts, called, lateNanos);
    if (stall != null) {
      LOG.log(
          System.Logger.Level.WARNING,
          "Not counting the {0} timeout(s) of the fan-out ''{1}'' against the models: {2}",
          timeouts,
          method,
          stall);
    }
    int waited = 0;
    for (int i = 0; i < outcomes.length; i++) {
      if (outcomes[i].status() == CallStatus.TIMEOUT) {
        if (stall != null) {
          members[i].recordUncountedTimeout(outcomes[i], stall);
        } else if (waitedInCoordinator.test(i)) {
          members[i].recordUncountedTimeout(outcomes[i], WAITED_IN_COORDINATOR);
          waited++;
        } else {
          policy(members[i], outcomes[i]);
        }
      }
    }
    if (waited > 0) {
      LOG.log(
          System.Logger.Level.WARNING,
          "Not counting {0} of the {1} timeout(s) of the fan-out ''{2}'' against the models: {3}",
          waited,
          timeouts,
          method,
          WAITED_IN_COORDINATOR);
    }
  }

  /**
   * Ends every fan-out still in flight: the models without an outcome fail with {@code failure}.
   */
  void abortAll(CallFailure failure) {
    for (FanOutCall call : List.copyOf(inFlight)) {
      call.abort(failure);
    }
  }
}
