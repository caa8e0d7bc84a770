package org.modelrunner.transport.inprocess;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.URI;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.RejectedExecutionException;
import org.modelrunner.loader.HostedModel;
import org.modelrunner.loader.RunnerCore;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.StatusCode;
import org.modelrunner.spi.StatusMessages;
import org.modelrunner.spi.TransportException;

/**
 * The runner side of an {@code inproc://} endpoint: one {@link HostedModel} behind the protocol's
 * rules ({@link RunnerCore}: serving, the claim), as the gRPC runner puts it behind a port.
 *
 * <p>Requests arrive on the caller's thread ({@link #accept}), which only checks and claims the
 * model: the runner must be serving, the request within the runner's size limit, and the model
 * idle; one request at a time holds the claim (the Python runner's global lock), any other gets
 * {@code BUSY "Server busy"} at once. Faults are applied to calls, then the request goes to the
 * shared {@link ModelWorkers}, which decode it, run the model, encode the reply and give it back to
 * the connection ({@link #serve}). The claim is released when the model returns, before the caller
 * is answered, so a caller may send its next request from its callback; a request whose caller gave
 * up keeps the claim until the model returns, as in the Python runner.
 *
 * <p>Health is answered from the runner's state, never through the model. Closing or crashing fails
 * the request in flight with {@code UNAVAILABLE} and interrupts its model code.
 */
final class HostedRunner {
  private static final System.Logger LOG = System.getLogger(HostedRunner.class.getName());

  /** The lifecycle of a runner: whether it serves is its core's; why not (crashed, closed) here. */
  enum State {
    SERVING,
    CLOSING,
    CRASHED,
    CLOSED
  }

  /** What the faults do to one accepted call. */
  enum Action {
    PASS,
    FAIL,
    HANG,
    CRASH
  }

  private static final Reply INJECTED_FAILURE =
      Reply.of(StatusCode.MODEL_FAILED, Faults.INJECTED_FAILURE_MESSAGE);

  final String name;
  final URI endpoint;
  final ModelEndpoint directoryEntry;
  final int maxMessageBytes;
  final boolean zeroCopy;

  private final HostedModel model;
  private final RunnerCore core;
  private final SharedResources.Reference resources;
  private final SharedResources shared;

  /**
   * The connection of the request that last claimed the model: when the runner goes away, the
   * request that holds the model is found in its list of requests in flight, to fail and interrupt.
   * Written only when a claim comes through another connection than the last one (a fleet calls a
   * model through one connection), not per request: a runner lives long, and the garbage collector
   * makes a program pay for every new object it stores into an old one (a card of the heap marked,
   * and scanned again by a collector thread). With G1, a fan-out over ten thousand in-process
   * models that stored its request here marked about 1.2 cards per call, and took about 12% more
   * processor time per call than without.
   */
  private volatile InProcessConnection claimedThrough;

  /**
   * The request that holds the model although its caller has its answer (its deadline passed, or
   * its connection closed) while its model code still runs: no connection has it in flight any
   * more; to interrupt if the runner goes away. Null otherwise.
   */
  private volatile Exchange orphan;

  private static final VarHandle CLAIMED_THROUGH;
  private static final VarHandle ORPHAN;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      CLAIMED_THROUGH =
          lookup.findVarHandle(HostedRunner.class, "claimedThrough", InProcessConnection.class);
      ORPHAN = lookup.findVarHandle(HostedRunner.class, "orphan", Exchange.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /**
   * Whether the runner is the one registered under its name: connections keep the runner they found
   * and look it up again only once it is not (a look-up in a map of ten thousand names costs more
   * than the rest of a call's dispatch). Written under the registry's lock.
   */
  volatile boolean registered;

  private final Object lock = new Object();
  private volatile State state = State.SERVING; // written under lock
  private volatile FaultPlan faults; // written under lock
  private Exchange parked; // a hanging call; guarded by lock

  HostedRunner(
      String name,
      ModelEndpoint directoryEntry,
      HostedModel model,
      int maxMessageBytes,
      boolean zeroCopy,
      Faults faults) {
    this.name = name;
    this.endpoint = directoryEntry.address();
    this.directoryEntry = directoryEntry;
    this.model = model;
    this.core = RunnerCore.of(model);
    this.maxMessageBytes = maxMessageBytes;
    this.zeroCopy = zeroCopy;
    this.faults = FaultPlan.of(faults);
    this.resources = SharedResources.acquire();
    this.shared = resources.get();
  }

  State state() {
    return state;
  }

  Faults faults() {
    return faults.faults;
  }

  /** Answers a health check without touching the model. */
  HealthStatus health() {
    State now = state;
    if (now == State.CRASHED || now == State.CLOSED) {
      throw unavailable();
    }
    return core.health();
  }

  /** Receives a request, on the caller's thread: checks it, claims the model and starts it. */
  void accept(Exchange exchange) {
    if (!core.isServing()) {
      exchange.fail(unavailable());
      return;
    }
    if (exchange.request.length > maxMessageBytes) {
      exchange.fail(
          new TransportException(
              TransportException.Kind.MESSAGE_TOO_LARGE,
              "The request to "
                  + endpoint
                  + " is "
                  + exchange.request.length
                  + " bytes, over the runner's limit of "
                  + maxMessageBytes
                  + " bytes"));
      return;
    }
    FaultPlan plan = faults;
    // Without a fault to apply, the request goes to the workers at once: it waits for one from its
    // claim on (one step under its lock, not two).
    boolean now = exchange.kind != WireFormat.CALL || plan.none;
    RunnerCore.Claim claim = exchange.claim(core, this, now);
    if (claim == null) {
      return; // it failed before it got here (its deadline passed): it never holds the model
    }
    if (!claim.isGranted()) {
      exchange.fail(claim.refusal() == RunnerCore.Refusal.BUSY ? busy() : unavailable());
      return;
    }
    if (claimedThrough != exchange.connection) {
      claimedThrough = exchange.connection;
      if (exchange.isDone()) { // its connection may have closed meanwhile: not to be kept reachable
        CLAIMED_THROUGH.compareAndSet(this, exchange.connection, null);
      }
    }
    if (!core.isServing()) { // closed or crashed meanwhile, maybe without seeing this request
      release(exchange);
      exchange.fail(unavailable());
      return;
    }
    if (now) {
      execute(exchange);
      return;
    }
    Action action = plan.next();
    if (action == Action.CRASH) {
      crash();
      return;
    }
    long latency = plan.latencyNanos;
    if ((latency > 0 || action == Action.HANG) && !exchange.delayed()) {
      return; // it failed meanwhile, and its model was freed then
    }
    if (latency > 0) {
      shared.timer.schedule(
          new DeadlineTimer.Timed() {
            @Override
            void fire() {
              proceed(exchange, action);
            }
          },
          latency);
    } else {
      proceed(exchange, action);
    }
  }

  private void proceed(Exchange exchange, Action action) {
    if (exchange.isDone() || !core.isServing()) {
      release(exchange); // its caller gave up during the latency, or the runner went away
      failIfNotServing(exchange);
      return;
    }
    switch (action) {
      case FAIL:
        release(exchange);
        exchange.deliver(INJECTED_FAILURE, null, WireFormat.replySize(INJECTED_FAILURE));
        return;
      case HANG:
        synchronized (lock) {
          if (faults.faults.hang() && core.isServing()) {
            parked = exchange;
            return;
          }
        }
        dispatch(exchange); // the hang was lifted in the meantime
        return;
      default:
        dispatch(exchange);
    }
  }

  /** Hands a request that waited for a fault's latency or the end of a hang to the workers. */
  private void dispatch(Exchange exchange) {
    if (exchange.queued()) { // else it failed meanwhile, and its model was freed then
      execute(exchange);
    }
  }

  /** Hands a request that waits for a worker ({@link Exchange#queued}) to the workers. */
  private void execute(Exchange exchange) {
    try {
      shared.workers.execute(exchange);
    } catch (RejectedExecutionException e) {
      release(exchange);
      exchange.fail(unavailable());
    }
  }

  /**
   * Serves a request on a worker thread: decodes it, runs the model, encodes and hands back the
   * reply.
   */
  void serve(Exchange exchange) {
    if (!exchange.isDone() && exchange.pastDue()) {
      // It waited for a worker until its deadline: it never reaches the model (its caller has
      // given up), which frees the worker for requests still in time (an overloaded process
      // catches up so) and says that the time was lost here, not in the model (CallProgress).
      exchange.expire();
      return;
    }
    if (!exchange.start()) {
      return; // its caller gave up while it waited: the model was freed then
    }
    if (exchange.isDone() || !core.isServing()) {
      exchange.leaveModel();
      release(exchange); // the runner went away before a worker got to it: never reaches the model
      failIfNotServing(exchange);
      return;
    }
    Reply reply = null;
    TransportException failure = null;
    try {
      String requestName;
      Arguments arguments;
      byte kind;
      if (zeroCopy) {
        kind = exchange.kind;
        requestName = exchange.name;
        arguments = exchange.arguments;
      } else {
        WireFormat.Request request = WireFormat.decodeRequest(exchange.request);
        kind = request.kind();
        requestName = request.name();
        arguments = request.arguments();
      }
      RunnerCore.Claim claim = exchange.claim;
      if (kind == WireFormat.SETUP) {
        reply = claim.setup(requestName, arguments);
      } else if (kind == WireFormat.CALL) {
        reply = claim.call(requestName, arguments);
      } else {
        reply = claim.reset();
      }
    } catch (WireFormat.MalformedMessageException e) {
      failure =
          new TransportException(
              TransportException.Kind.INTERNAL,
              "Malformed request to " + endpoint + ": " + e.getMessage(),
              e);
    } catch (RuntimeException | Error e) {
      failure =
          !core.isServing()
              ? unavailable()
              : new TransportException(
                  TransportException.Kind.INTERNAL,
                  "At " + endpoint + ": " + RunnerCore.runnerFailed(e),
                  e);
      if (core.isServing()) {
        LOG.log(System.Logger.Level.WARNING, "The runner at " + endpoint + " failed: " + e, e);
      }
    } finally {
      exchange.leaveModel();
    }
    byte[] response = null;
    long size = 0;
    if (reply != null) {
      size = WireFormat.replySize(reply);
      if (size > maxMessageBytes) {
        failure =
            new TransportException(
                TransportException.Kind.MESSAGE_TOO_LARGE,
                "The response from "
                    + endpoint
                    + " is "
                    + size
                    + " bytes, over the runner's limit of "
                    + maxMessageBytes
                    + " bytes");
      } else if (!zeroCopy) {
        response = WireFormat.encodeReply(reply, size);
      }
    }
    release(exchange); // before answering: the caller may send its next request from its callback
    if (failure != null) {
      exchange.fail(failure);
    } else {
      exchange.deliver(zeroCopy ? reply : null, response, size);
    }
  }

  /** A request whose caller gave up while it waited for a worker: frees the model now. */
  void abandoned(Exchange exchange) {
    release(exchange);
  }

  /**
   * Fails a request that holds the model of a runner gone away; closing fails it already (see
   * {@link #failInFlight}), unless it raced with the close: then whoever finds the runner gone
   * fails it.
   */
  private void failIfNotServing(Exchange exchange) {
    if (!core.isServing()) {
      exchange.fail(unavailable());
    }
  }

  /** The model returned (or never ran): frees it for the next request. */
  private void release(Exchange exchange) {
    RunnerCore.Claim claim = exchange.claim;
    claim.release();
    claim.answer(); // the exchange answers itself, once (its future)
    if (orphan == exchange) {
      ORPHAN.compareAndSet(this, exchange, null);
    }
  }

  /** A connection closes: the runner lets go of it, so that nothing keeps it reachable. */
  void forget(InProcessConnection connection) {
    CLAIMED_THROUGH.compareAndSet(this, connection, null);
  }

  /**
   * A request whose model code runs was answered otherwise (its deadline passed, or its connection
   * closed): it still holds the model, and is kept as the {@link #orphan} until the model returns.
   */
  void orphaned(Exchange holder) {
    orphan = holder;
    if (holder.claim.isAnswered()) {
      // It returned meanwhile: release() may have missed it.
      ORPHAN.compareAndSet(this, holder, null);
    } else if (!core.isServing()) {
      // The runner went away meanwhile: failInFlight() may have missed it.
      holder.interruptModel();
    }
  }

  /** Replaces the faults; a hanging call resumes when the new faults do not hang. */
  void setFaults(Faults newFaults) {
    Exchange resumed = null;
    synchronized (lock) {
      faults = FaultPlan.of(newFaults);
      if (!newFaults.hang() && parked != null) {
        resumed = parked;
        parked = null;
      }
    }
    if (resumed != null) {
      dispatch(resumed);
    }
  }

  /**
   * The model goes away at once: the request in flight and later ones fail {@code UNAVAILABLE}, the
   * name is unregistered (a {@code STOPPED} event) and the model is closed on a worker (a crash can
   * happen on a caller's thread, at its n-th call, and the instance's {@code close()} is model
   * code). Does nothing unless serving.
   */
  void crash() {
    Exchange hung;
    synchronized (lock) {
      if (state != State.SERVING) {
        return;
      }
      state = State.CRASHED;
      core.stopServing();
      hung = parked;
      parked = null;
    }
    LOG.log(System.Logger.Level.INFO, "The runner at {0} crashed (injected)", endpoint);
    failInFlight();
    releaseHung(hung);
    InProcessModels.unregister(this);
    try {
      shared.workers.execute(this::closeModelAndRelease);
    } catch (RejectedExecutionException e) {
      closeModelAndRelease();
    }
  }

  /**
   * Closes the runner: health says {@code NOT_SERVING} while it closes, the request in flight fails
   * {@code UNAVAILABLE}, the model is closed (on this thread, or on the worker of a call still
   * running when it returns) and the name unregistered. Idempotent.
   */
  void close() {
    boolean wasServing;
    Exchange hung;
    synchronized (lock) {
      if (state == State.CLOSING || state == State.CLOSED) {
        return;
      }
      wasServing = state == State.SERVING;
      state = State.CLOSING;
      core.stopServing();
      hung = parked;
      parked = null;
    }
    if (wasServing) {
      failInFlight();
      releaseHung(hung);
      try {
        closeModel();
      } finally {
        InProcessModels.unregister(this);
        resources.release();
      }
    }
    synchronized (lock) {
      state = State.CLOSED;
      core.stopped();
    }
  }

  /**
   * Fails the request that holds the model, and interrupts its model code: it is in flight on the
   * connection that claimed the model last, waiting for a worker, the latency of a fault or the end
   * of a hang, or running.
   */
  private void failInFlight() {
    Exchange cancelled = orphan;
    if (cancelled != null) {
      cancelled.interruptModel();
    }
    InProcessConnection connection = claimedThrough;
    if (connection == null) {
      return;
    }
    for (Exchange holder : connection.claimsOn(this)) {
      holder.fail(unavailable());
      holder.interruptModel();
    }
    forget(connection); // no claim comes after: the runner no longer serves
  }

  /**
   * Frees the model of a call that a hang fault held (failed already): it never reaches a worker.
   */
  private void releaseHung(Exchange hung) {
    if (hung != null) {
      release(hung);
    }
  }

  /** Waits until no request holds the model and every request it was given is answered; tests. */
  boolean awaitIdle(Duration timeout) throws InterruptedException {
    return core.awaitIdle(timeout);
  }

  private void closeModelAndRelease() {
    try {
      closeModel();
    } finally {
      resources.release();
    }
  }

  /** Closes the model: releases the class loader now, or when the model code in flight returns. */
  private void closeModel() {
    try {
      model.close();
    } catch (RuntimeException | LinkageError e) {
      LOG.log(System.Logger.Level.WARNING, "Closing the model at " + endpoint + " failed: " + e, e);
    }
  }

  private TransportException unavailable() {
    State now = state;
    String what =
        now == State.CRASHED ? "crashed" : now == State.SERVING ? "is not available" : "was closed";
    return new TransportException(
        TransportException.Kind.UNAVAILABLE, "The model at " + endpoint + " " + what);
  }

  private static TransportException busy() {
    return new TransportException(TransportException.Kind.BUSY, StatusMessages.SERVER_BUSY);
  }

  /** Faults with their call counter and random sequence. */
  static final class FaultPlan {
    final Faults faults;
    final long latencyNanos;

    /** Whether it injects nothing: every call passes at once. */
    final boolean none;

    private final Random random;
    private long calls;

    /**
     * The plan of runners without faults, shared: reading it on every call then touches one object
     * for all of them, not one per runner.
     */
    private static final FaultPlan NONE = new FaultPlan(Faults.none());

    /** Returns the plan of {@code faults}: the shared one when they inject nothing. */
    static FaultPlan of(Faults faults) {
      return faults.equals(Faults.none()) ? NONE : new FaultPlan(faults);
    }

    private FaultPlan(Faults faults) {
      this.faults = faults;
      this.none = faults.isNone();
      this.latencyNanos = saturatedNanos(faults.latency());
      this.random = faults.failRate() > 0 ? new Random(faults.seed()) : null;
    }

    Action next() {
      if (none) {
        return Action.PASS;
      }
      synchronized (this) {
        calls++;
        boolean drawnFailure = random != null && random.nextDouble() < faults.failRate();
        if (faults.crashAtCall() > 0 && calls == faults.crashAtCall()) {
          return Action.CRASH;
        }
        if (faults.hang()) {
          return Action.HANG;
        }
        if ((faults.failEvery() > 0 && calls % faults.failEvery() == 0) || drawnFailure) {
          return Action.FAIL;
        }
        return Action.PASS;
      }
    }
  }

  static long saturatedNanos(Duration duration) {
    try {
      return duration.toNanos();
    } catch (ArithmeticException e) {
      return duration.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
  }
}
