package org.modelrunner.client;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import org.HdrHistogram.Histogram;
import org.jctools.queues.MpscArrayQueue;
import org.modelrunner.spi.CallCompletion;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.Reply;

/**
 * One deployment in the fleet: its connection, its state and counters, and its mailbox. Calls to it
 * are serialised: a fan-out sends its job at once when the model is idle, and otherwise drops it
 * into the mailbox (a bounded MPSC queue); at most one call is in flight; when it completes, the
 * next job is sent, in the order they were queued.
 */
final class FleetMember {
  /**
   * A model's part of one fan-out, waiting in the mailbox; once sent, it takes the answer (it is
   * the callback itself: nothing more is allocated per call).
   */
  static final class Job implements BiConsumer<Reply, Throwable> {
    private final FleetMember member;
    private final FanOutCall call;
    private final int slot;
    private long sentNanos; // written before the request is sent, read when its answer comes

    Job(FleetMember member, FanOutCall call, int slot) {
      this.member = member;
      this.call = call;
      this.slot = slot;
    }

    FanOutCall call() {
      return call;
    }

    int slot() {
      return slot;
    }

    @Override
    public void accept(Reply answer, Throwable error) {
      member.answered(this, answer, error, (System.nanoTime() - sentNanos) / 1_000);
    }
  }

  static final int MAILBOX_CAPACITY = 16;

  /** What a member hands its answers to (it never calls into the fleet itself). */
  interface Answers {
    /** A call's answer or transport error arrived; fills the call's slot. Transport thread. */
    void answered(FleetMember member, Job job, Reply reply, Throwable error, long micros);

    /** A failure outcome the client decided (a full mailbox, say). */
    CallOutcome failureOutcome(FleetMember member, CallFailure failure, long micros);
  }

  /**
   * The deployment; replaced (same deployment, same address) when the directory updates its infos.
   */
  volatile ModelEndpoint endpoint;

  /** The event sent when this member is set up: a first join, a new deployment, or a restart. */
  final FleetEvent.Kind onReady;

  /** The reason given with {@link #onReady}, if any; fleet thread only. */
  String readyReason;

  /**
   * Whether this member reconnects a model that was connected (it became unreachable or unhealthy):
   * its attempts are retried every half setup backoff or so ({@code Membership#retryDelayNanos}).
   */
  boolean reconnecting;

  /** How many of its connection attempts ran into a deadline (connect or setup); fleet thread. */
  int slowAttempts;

  private final Answers fleet;
  private final MpscArrayQueue<Job> mailbox = new MpscArrayQueue<>(MAILBOX_CAPACITY);

  /**
   * Set while a call is in flight (or being sent); a field updated through {@link #IN_FLIGHT}
   * rather than an object of its own: one cache line less per call.
   */
  private volatile boolean inFlight;

  /** Jobs counted into the mailbox and not yet taken out; updated through {@link #WAITING}. */
  private volatile int waiting;

  private static final VarHandle IN_FLIGHT;
  private static final VarHandle WAITING;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      IN_FLIGHT = lookup.findVarHandle(FleetMember.class, "inFlight", boolean.class);
      WAITING = lookup.findVarHandle(FleetMember.class, "waiting", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  volatile ModelConnection connection;

  /** The transport of {@link #connection}; set with it. */
  volatile org.modelrunner.spi.ModelTransport transport;

  volatile ModelStatus.State state = ModelStatus.State.CONNECTING;

  /**
   * Set when the member is no longer wanted (left, replaced, fleet closed): pending work is
   * abandoned.
   */
  volatile boolean retired;

  /**
   * Set when the connection closes as soon as no call is in flight or waiting (a replaced
   * deployment).
   */
  private volatile boolean closeWhenIdle;

  /** Calls this member still sits out after timeouts (the cooldown); read on every fan-out. */
  private volatile int cooldown;

  /** Set while a health check of this member is out. */
  final AtomicBoolean healthChecking = new AtomicBoolean();

  /**
   * Set on a member that takes an ejected model back (its health check and setup): it sits out no
   * fan-out meanwhile, and is ejected again if it cannot be set up. Set before the member is known.
   */
  volatile boolean readmitting;

  /** The failure code of the ejection this member comes from or is in; fleet thread only. */
  String ejectionCode;

  /**
   * Calls sent: written by the sender alone (the holder of the in-flight flag), without the lock; a
   * status, read under the lock, counts every call whose answer it counts.
   */
  private volatile long calls;

  // Guarded by this.
  private int consecutiveFailures;
  private int consecutiveTimeouts;
  private long successes;
  private long failures;
  private long timeouts;
  private long skipped;
  private String lastError;

  /**
   * The model's ejections, carried from member to member of a deployment (see {@link Ejection}).
   */
  private int ejections;

  /** While ejected: when the ejection time is over; null otherwise. */
  private Instant ejectedUntil;

  /** Round trips of the calls that got an answer, in microseconds; allocated on the first. */
  private Histogram latencies;

  /**
   * Round trips not yet in {@link #latencies} (the first {@link #pendingLatencies} of these three),
   * which takes them four at a time: the histogram and its counts are two objects of their own,
   * lines of memory fetched on every answer otherwise, in a fan-out over thousands of models.
   */
  private long pendingLatency0;

  private long pendingLatency1;
  private long pendingLatency2;
  private int pendingLatencies;

  FleetMember(Answers fleet, ModelEndpoint endpoint, FleetEvent.Kind onReady) {
    this.fleet = fleet;
    this.endpoint = endpoint;
    this.onReady = onReady;
  }

  /**
   * Takes one call of the cooldown, if this member is sitting calls out.
   *
   * @return the calls still to sit out after this one, or -1 if the call should be sent
   */
  int takeCooldown() {
    if (cooldown <= 0) {
      return -1; // the common case: one volatile read
    }
    synchronized (this) {
      if (cooldown <= 0) {
        return -1;
      }
      skipped++;
      return --cooldown;
    }
  }

  /**
   * Returns the client code of the {@link CallStatus#SKIPPED} outcome this member gets while it is
   * between deployments or restarting ({@link CallFailure#REDEPLOYING}, {@link
   * CallFailure#RECOVERING}), or null when it is connected, joining for the first time, or out.
   */
  String sitsOutAs() {
    ModelStatus.State now = state;
    if ((retired && now != ModelStatus.State.RECOVERING) || readmitting) {
      return null;
    }
    return switch (now) {
      case REDEPLOYING -> CallFailure.REDEPLOYING;
      case RECOVERING -> CallFailure.RECOVERING;
      case CONNECTING ->
          switch (onReady) {
            case REPLACED -> CallFailure.REDEPLOYING;
            case RESTARTED -> CallFailure.RECOVERING;
            default -> null;
          };
      default -> null;
    };
  }

  /**
   * Sends a job at once when nothing is in flight or waiting; queues it otherwise, to be sent when
   * the calls before it have completed.
   */
  void submit(Job job) {
    // The common case, a model that is idle when a fan-out reaches it, leaves the mailbox alone:
    // its padded indices and slots would be cache lines of their own to touch on every call.
    if (waiting == 0 && IN_FLIGHT.compareAndSet(this, false, true)) {
      if (!sendIfWanted(job)) {
        inFlight = false;
        drain(); // a job queued meanwhile, while this one held the flag
      }
      return;
    }
    if (!mailbox.offer(job)) {
      job.call()
          .fill(
              job.slot(),
              fleet.failureOutcome(
                  this,
                  new CallFailure(
                      CallFailure.Source.CLIENT,
                      CallFailure.QUEUE_FULL,
                      MAILBOX_CAPACITY + " calls are already waiting for this model"),
                  0));
      return;
    }
    // Counted once queued, before the flag is tried: a holder that clears the flag reads the count
    // after, so either it sees this job or this thread takes the flag (volatile order).
    WAITING.getAndAdd(this, 1);
    drain();
  }

  /** Sends the next queued job, if any and no call is in flight. */
  private void drain() {
    while (waiting > 0 && IN_FLIGHT.compareAndSet(this, false, true)) {
      Job job = mailbox.poll(); // counted jobs are in the mailbox, and only the flag holder polls
      if (job == null) {
        inFlight = false;
        return;
      }
      WAITING.getAndAdd(this, -1);
      if (sendIfWanted(job)) {
        return;
      }
      inFlight = false;
    }
  }

  /**
   * Sends a job, by the holder of the in-flight flag, unless its fan-out no longer wants it (its
   * slot was filled or its time is up); returns whether it was sent.
   */
  private boolean sendIfWanted(Job job) {
    FanOutCall call = job.call();
    long remaining = call.remainingNanos(job.slot());
    if (call.isFilled(job.slot()) || remaining <= 0) {
      return false;
    }
    send(job, remaining);
    return true;
  }

  @SuppressWarnings("NonAtomicVolatileUpdate") // one sender at a time: the in-flight flag's holder
  private void send(Job job, long remainingNanos) {
    // No lock: a lock here was a second one per call on this member, whose answer takes it too, on
    // another thread (and the two inflated the member's monitor when they met).
    calls = calls + 1;
    job.sentNanos = System.nanoTime();
    CompletableFuture<Reply> reply;
    try {
      reply = connection.call(job.call().prepared(job.slot()), Duration.ofNanos(remainingNanos));
    } catch (RuntimeException e) {
      reply = CompletableFuture.failedFuture(e);
    }
    job.call().sent(job.slot(), reply);
    if (reply instanceof CallCompletion direct) {
      direct.whenDone(job); // no completion nor second future per call (an in-process call's)
    } else {
      reply.whenComplete(job);
    }
  }

  /** The answer to the job in flight came: hands it on, then sends the next job. */
  private void answered(Job job, Reply answer, Throwable error, long micros) {
    // No longer in flight before the answer is handed on: the fan-out it completes may start the
    // next at once, and that fan-out's thread then sends to this model itself. Cleared after, the
    // next fan-out found the model still busy and left its job to this thread, so that the
    // transport's threads queued requests at the same time as the fan-out's thread, contending
    // for the queue's lock.
    inFlight = false;
    try {
      fleet.answered(this, job, answer, error, micros);
    } finally {
      drain();
      if (closeWhenIdle) {
        closeIfIdle();
      }
    }
  }

  /** Counts a success: it resets both consecutive counters and the cooldown. */
  synchronized void recordSuccess(long latencyMicros) {
    successes++;
    consecutiveFailures = 0;
    consecutiveTimeouts = 0;
    if (cooldown != 0) {
      cooldown = 0; // a volatile write only when there is a cooldown to end
    }
    recordLatency(latencyMicros);
  }

  private void recordLatency(long micros) {
    long value = Math.max(0, micros);
    switch (pendingLatencies) {
      case 0 -> pendingLatency0 = value;
      case 1 -> pendingLatency1 = value;
      case 2 -> pendingLatency2 = value;
      default -> {
        recordPendingLatencies().recordValue(value);
        return;
      }
    }
    pendingLatencies++;
  }

  /** Moves the pending round trips into the histogram (made now if need be) and returns it. */
  private Histogram recordPendingLatencies() {
    if (latencies == null) {
      // One significant digit (values within about 6%) keeps a model's histogram near 1 KiB.
      latencies = new Histogram(1);
      latencies.setAutoResize(true);
    }
    int pending = pendingLatencies;
    if (pending > 0) {
      latencies.recordValue(pendingLatency0);
    }
    if (pending > 1) {
      latencies.recordValue(pendingLatency1);
    }
    if (pending > 2) {
      latencies.recordValue(pendingLatency2);
    }
    pendingLatencies = 0;
    return latencies;
  }

  /**
   * Counts a failure or a timeout ({@code countsAsTimeout} for a failure that is one, such as
   * BUSY); returns the consecutive failures and timeouts after it, for the failure policy. After a
   * timeout, the member sits out {@code ceil(timeouts / 2)} calls when {@code cooldown} is on.
   */
  synchronized FailurePolicy.Counters recordFailure(
      CallOutcome outcome,
      boolean countsAsTimeout,
      boolean answered,
      boolean cooldownAfterTimeouts) {
    boolean timedOut = outcome.status() == CallStatus.TIMEOUT;
    if (timedOut) {
      timeouts++;
      lastError =
          "timeout after "
              + outcome.latencyMicros() / 1_000
              + " ms"
              + outcome.failure().map(f -> " (" + f + ")").orElse("");
    } else {
      failures++;
      lastError = outcome.failure().map(CallFailure::toString).orElse("failure");
    }
    if (timedOut || countsAsTimeout) {
      consecutiveTimeouts++;
      if (cooldownAfterTimeouts) {
        cooldown = (consecutiveTimeouts + 1) / 2;
      }
    } else {
      consecutiveFailures++;
    }
    if (answered) {
      recordLatency(outcome.latencyMicros());
    }
    return new FailurePolicy.Counters(consecutiveFailures, consecutiveTimeouts);
  }

  /**
   * Counts a timeout that the failure policy does not count, because the fleet itself stalled: in
   * the model's calls and last error, not in its consecutive timeouts or cooldown.
   */
  synchronized void recordUncountedTimeout(CallOutcome outcome, String why) {
    timeouts++;
    lastError = "timeout after " + outcome.latencyMicros() / 1_000 + " ms, not counted: " + why;
  }

  /**
   * Moves a member that is not yet disconnected to DISCONNECTED; returns false if it already was,
   * or was retired (so that one decision is acted on once).
   */
  synchronized boolean markDisconnected(String error) {
    if (retired || (state == ModelStatus.State.DISCONNECTED && ejectedUntil == null)) {
      return false;
    }
    state = ModelStatus.State.DISCONNECTED;
    lastError = error;
    ejectedUntil = null; // a disconnection for good ends an ejection: no re-admission
    return true;
  }

  /**
   * Ejects a member that is not yet disconnected: it is DISCONNECTED until the returned time is
   * over, which grows with its ejections; null if it already was out or retired (so that one
   * decision is acted on once).
   */
  synchronized Duration markEjected(String error, Ejection ejection) {
    return markEjected(error, ejection, false);
  }

  /**
   * As {@link #markEjected(String, Ejection)}; {@code unreachable}: its runner cannot be reached.
   */
  synchronized Duration markEjected(String error, Ejection ejection, boolean unreachable) {
    if (retired || state == ModelStatus.State.DISCONNECTED) {
      return null;
    }
    state = ModelStatus.State.DISCONNECTED;
    lastError = error;
    ejections++;
    Duration time = unreachable ? ejection.unreachableTime(ejections) : ejection.time(ejections);
    ejectedUntil = Instant.now().plus(time);
    return time;
  }

  /** Returns whether this member sits out an ejection (to be re-admitted). */
  synchronized boolean isEjected() {
    return ejectedUntil != null;
  }

  synchronized int ejections() {
    return ejections;
  }

  /** Carries a model's ejections over to the member that takes it back. */
  synchronized void ejections(int count) {
    ejections = count;
  }

  /**
   * Takes one off the ejections of a member that served a maximum ejection time since it was
   * re-admitted.
   *
   * @return the ejections left
   */
  synchronized int decayEjections() {
    if (ejections > 0) {
      ejections--;
    }
    return ejections;
  }

  synchronized void lastError(String error) {
    lastError = error;
  }

  synchronized ModelStatus status() {
    if (pendingLatencies > 0) {
      recordPendingLatencies();
    }
    LatencyPercentiles latency =
        latencies == null || latencies.getTotalCount() == 0
            ? LatencyPercentiles.NONE
            : new LatencyPercentiles(
                latencies.getTotalCount(),
                latencies.getValueAtPercentile(50),
                latencies.getValueAtPercentile(90),
                latencies.getValueAtPercentile(99),
                latencies.getMaxValue());
    return new ModelStatus(
        endpoint,
        state,
        consecutiveFailures,
        consecutiveTimeouts,
        new ModelStatus.Counts(calls, successes, failures, timeouts, skipped),
        cooldown,
        latency,
        Optional.ofNullable(lastError),
        ejections,
        Optional.ofNullable(ejectedUntil));
  }

  /** Closes the connection once no call is in flight or waiting (now, if it is idle already). */
  void closeWhenIdle() {
    closeWhenIdle = true;
    closeIfIdle();
  }

  private void closeIfIdle() {
    if (!inFlight && mailbox.isEmpty()) {
      closeConnection();
    }
  }

  /** Closes the connection, if any; never throws. */
  void closeConnection() {
    ModelConnection current = connection;
    if (current != null) {
      try {
        current.close();
      } catch (RuntimeException e) {
        System.getLogger(Concurrency.FLEET_LOGGER)
            .log(
                System.Logger.Level.DEBUG,
                "Closing the connection to " + endpoint.address() + " failed",
                e);
      }
    }
  }

  @Override
  public String toString() {
    return endpoint.modelId() + "@" + endpoint.address();
  }
}
