package org.modelrunner.loader;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.StatusMessages;

/**
 * The rules every runner applies in front of one {@link HostedModel}, whatever carries its requests
 * (the gRPC runner, the in-process transport): whether it serves, the claim that lets one request
 * at a time run model code, the call and setup time limits, and the runner's own messages. A
 * transport checks and decodes what it receives, asks for a {@link Claim}, runs the model through
 * it on a thread of its choice, and answers once.
 *
 * <h2>Serving</h2>
 *
 * A core is {@link State#SERVING} from its creation; {@link #stopServing()} makes it {@link
 * State#STOPPING}: new requests are refused ({@link Refusal#NOT_SERVING}, {@link #SHUTTING_DOWN})
 * and {@link #health()} says {@code NOT_SERVING}, while the request in flight goes on; {@link
 * #awaitIdle} waits for it. {@link #stopped()} ends it ({@link State#STOPPED}).
 *
 * <h2>The claim</h2>
 *
 * One request holds the model at a time (the Python runner's global lock). {@link #claim()} never
 * waits and never queues: while another request holds the model it is refused {@link Refusal#BUSY},
 * which every runner answers {@link StatusMessages#SERVER_BUSY} at once. The claim is the hosted
 * model's own: a caller that uses the {@link HostedModel} directly meanwhile gets {@link
 * org.modelrunner.spi.ModelBusyException}. The holder {@linkplain Claim#release() releases} it when
 * the model returns, before it answers, so that a client may send its next request as soon as it
 * has the answer; a request whose client gave up (or whose time limit passed) keeps the claim until
 * the model returns.
 *
 * <h2>Time limits</h2>
 *
 * With a {@linkplain Builder#callTimeLimit call time limit}, a call whose model has not returned in
 * time is answered by {@link Claim#limitTime}'s action with {@link #callTimeLimitMessage()}; with a
 * {@linkplain Builder#setupTimeLimit setup time limit}, a setup whose constructor has not returned
 * in time likewise, with {@link #setupTimeLimitMessage()}. The model goes on and keeps the claim
 * until it returns (a constructor that returns late leaves its instance set up). Whichever comes
 * first, the model's answer or the limit, answers; {@link Claim#answer()} decides. A reset has no
 * limit.
 */
public final class RunnerCore {
  /** Whether a runner serves. */
  public enum State {
    /** Requests are taken. */
    SERVING,
    /** Requests are refused; the one in flight goes on. */
    STOPPING,
    /** Stopped for good. */
    STOPPED
  }

  /** Why a request was not given the model. */
  public enum Refusal {
    /** The runner is stopping or stopped, or the model is closed. */
    NOT_SERVING,
    /** Another request holds the model: answered {@link StatusMessages#SERVER_BUSY} at once. */
    BUSY
  }

  /** The requests a time limit applies to. */
  public enum TimeLimit {
    /** A call: the model's method. */
    CALL("call", "The model did not return"),
    /** A setup: finding the implementation and its constructor. */
    SETUP("setup", "The model's setup (its constructor) did not return");

    private final String label;
    private final String what;

    TimeLimit(String label, String what) {
      this.label = label;
      this.what = what;
    }

    /** Returns the limit's name for humans: {@code call} or {@code setup}. */
    public String label() {
      return label;
    }
  }

  /** The requests that reach a model. */
  public enum Request {
    /** The protocol's Setup. */
    SETUP,
    /** The protocol's Call. */
    CALL,
    /** The protocol's Rest. */
    REST
  }

  /**
   * What a core sees, for metrics: called on the thread that ran, refused or timed out the request;
   * it must be quick and must not throw.
   */
  public interface Observer {
    /** A request reached the model and returned {@code reply} after {@code nanos}. */
    default void ran(Request request, Reply reply, long nanos) {}

    /** A request was refused before it reached the model. */
    default void refused(Refusal refusal) {}

    /** A request's time limit answered it while the model went on. */
    default void timeLimitReached(TimeLimit limit) {}
  }

  private static final Observer NO_OBSERVER = new Observer() {};

  /** Longer limits are shortened to this (about 73 years): never, without overflow. */
  private static final long MAX_LIMIT_NANOS = Long.MAX_VALUE / 4;

  /** The description of a request refused because the runner is stopping. */
  public static final String SHUTTING_DOWN = "The runner is shutting down";

  /** The start of the description of a request the runner itself failed (a bug, not the model). */
  public static final String RUNNER_FAILED = "The runner failed: ";

  private final HostedModel model;
  private final long callTimeLimitNanos;
  private final long setupTimeLimitNanos;
  private final ScheduledExecutorService timer;
  private final LongSupplier clock;
  private final Observer observer;
  private final LimitWatch limits = new LimitWatch();
  private final Claim notServing = new Claim(this, Refusal.NOT_SERVING);
  private final Claim busy = new Claim(this, Refusal.BUSY);

  /**
   * Requests that were given the model and are not answered yet; updated through {@link
   * #UNANSWERED} (a field rather than an object of its own: one cache line less per request).
   */
  private volatile int unanswered;

  private static final VarHandle UNANSWERED;

  static {
    try {
      UNANSWERED = MethodHandles.lookup().findVarHandle(RunnerCore.class, "unanswered", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final Object idle = new Object();
  private volatile State state = State.SERVING;

  private RunnerCore(Builder builder) {
    this.model = builder.model;
    this.callTimeLimitNanos = builder.callTimeLimitNanos;
    this.setupTimeLimitNanos = builder.setupTimeLimitNanos;
    this.timer = builder.timer;
    this.clock = builder.clock;
    this.observer = builder.observer;
  }

  /** Returns a core without time limits in front of {@code model}. */
  public static RunnerCore of(HostedModel model) {
    return builder(model).build();
  }

  /** Returns a builder of a core in front of {@code model}. */
  public static Builder builder(HostedModel model) {
    return new Builder(model);
  }

  /** Returns the model this core serves. */
  public HostedModel model() {
    return model;
  }

  /** Returns whether the runner serves. */
  public State state() {
    return state;
  }

  /** Returns whether new requests are taken. */
  public boolean isServing() {
    return state == State.SERVING;
  }

  /** Returns what a health check answers: {@code SERVING} only while requests are taken. */
  public HealthStatus health() {
    return state == State.SERVING ? HealthStatus.SERVING : HealthStatus.NOT_SERVING;
  }

  /**
   * Asks for the model, without waiting: a granted claim, or one that tells why not ({@link
   * Claim#refusal()}). Refusals are shared objects: asking costs nothing when refused.
   */
  public Claim claim() {
    Claim claim = claimOrRefuse();
    if (claim.refusal != null) {
      observer.refused(claim.refusal);
    }
    return claim;
  }

  private Claim claimOrRefuse() {
    if (state != State.SERVING) {
      return notServing;
    }
    boolean acquired;
    try {
      acquired = model.tryAcquire();
    } catch (IllegalStateException closed) {
      return notServing;
    }
    if (!acquired) {
      return busy;
    }
    // Checked again with the claim held: either this request sees the stop, or the stop sees the
    // claim.
    if (state != State.SERVING) {
      model.releaseClaim();
      signalIdle();
      return notServing;
    }
    UNANSWERED.getAndAdd(this, 1);
    return new Claim(this, null);
  }

  /** Refuses new requests from now on; the request in flight goes on. Idempotent. */
  public void stopServing() {
    if (state == State.SERVING) {
      state = State.STOPPING;
    }
    signalIdle();
  }

  /** Marks the runner stopped for good (after {@link #stopServing()}, if it was not called). */
  public void stopped() {
    state = State.STOPPED;
    signalIdle();
  }

  /** Returns whether a request holds the model (including a call answered after its time limit). */
  public boolean isBusy() {
    return model.isClaimed();
  }

  /**
   * Waits until no request holds the model and every request given it is answered.
   *
   * @return whether that happened within the time given
   * @throws InterruptedException if the thread is interrupted while waiting
   */
  public boolean awaitIdle(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + saturatedNanos(timeout);
    synchronized (idle) {
      while (model.isClaimed() || unanswered > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(idle, left);
      }
      return true;
    }
  }

  /** Returns the call time limit, or zero for none. */
  public Duration callTimeLimit() {
    return timeLimit(TimeLimit.CALL);
  }

  /** Returns the setup time limit, or zero for none. */
  public Duration setupTimeLimit() {
    return timeLimit(TimeLimit.SETUP);
  }

  /** Returns the time limit of {@code kind}, or zero for none. */
  public Duration timeLimit(TimeLimit kind) {
    return Duration.ofNanos(limitNanos(kind));
  }

  /** Returns the description of a call answered at the call time limit. */
  public String callTimeLimitMessage() {
    return timeLimitMessage(TimeLimit.CALL);
  }

  /** Returns the description of a setup answered at the setup time limit. */
  public String setupTimeLimitMessage() {
    return timeLimitMessage(TimeLimit.SETUP);
  }

  /** Returns the description of a request answered at the time limit of {@code kind}. */
  public String timeLimitMessage(TimeLimit kind) {
    return kind.what
        + " within the runner's "
        + kind.label
        + " time limit of "
        + describe(limitNanos(kind))
        + "; it keeps running and the runner is busy until it returns";
  }

  private long limitNanos(TimeLimit kind) {
    return Objects.requireNonNull(kind, "kind") == TimeLimit.CALL
        ? callTimeLimitNanos
        : setupTimeLimitNanos;
  }

  /** Returns the description of a request the runner itself failed, because of {@code error}. */
  public static String runnerFailed(Throwable error) {
    return RUNNER_FAILED + error;
  }

  /**
   * Returns a duration for humans: {@code 250 ms}, {@code 2.5 s}, {@code 10 s}, {@code 90 s}, and
   * whole minutes as {@code 5 min}.
   */
  public static String describe(long nanos) {
    long minute = TimeUnit.MINUTES.toNanos(1);
    if (nanos >= minute && nanos % minute == 0) {
      return nanos / minute + " min";
    }
    BigDecimal amount =
        nanos < 1_000_000_000L
            ? BigDecimal.valueOf(nanos).movePointLeft(6)
            : BigDecimal.valueOf(nanos).movePointLeft(9);
    BigDecimal stripped = amount.stripTrailingZeros();
    String number =
        stripped.scale() < 0 ? stripped.setScale(0).toPlainString() : stripped.toPlainString();
    return number + (nanos < 1_000_000_000L ? " ms" : " s");
  }

  private void signalIdle() {
    synchronized (idle) {
      idle.notifyAll();
    }
  }

  private static long saturatedNanos(Duration duration) {
    try {
      return duration.toNanos();
    } catch (ArithmeticException e) {
      return duration.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
  }

  /**
   * The right to run model code for one request, or a refusal. A granted claim runs one setup, call
   * or reset (on any thread), is {@linkplain #release() released} when the model returns, and is
   * {@linkplain #answer() answered} once.
   */
  public static final class Claim {
    private static final VarHandle RELEASED;
    private static final VarHandle ANSWERED;

    static {
      try {
        MethodHandles.Lookup lookup = MethodHandles.lookup();
        RELEASED = lookup.findVarHandle(Claim.class, "released", boolean.class);
        ANSWERED = lookup.findVarHandle(Claim.class, "answered", boolean.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    private final RunnerCore core;
    private final Refusal refusal;

    // Fields set once with compare-and-set, not atomic objects: a claim is made for every call.
    @SuppressWarnings("UnusedVariable") // through RELEASED
    private volatile boolean released;

    private volatile boolean answered;

    private Claim(RunnerCore core, Refusal refusal) {
      this.core = core;
      this.refusal = refusal;
    }

    /** Returns whether the request was given the model. */
    public boolean isGranted() {
      return refusal == null;
    }

    /** Returns why the request was not given the model, or null if it was. */
    public Refusal refusal() {
      return refusal;
    }

    /** Runs a setup with arguments decoded once the protocol's checks passed. */
    public Reply setup(String className, HostedModel.PendingArguments arguments) {
      return setup(className, null, Objects.requireNonNull(arguments));
    }

    /** Runs a setup. */
    public Reply setup(String className, Arguments arguments) {
      return setup(className, Objects.requireNonNull(arguments), null);
    }

    /** Runs a call with arguments decoded once the protocol's checks passed. */
    public Reply call(String methodName, HostedModel.PendingArguments arguments) {
      return call(methodName, null, Objects.requireNonNull(arguments));
    }

    /** Runs a call. */
    public Reply call(String methodName, Arguments arguments) {
      return call(methodName, Objects.requireNonNull(arguments), null);
    }

    private Reply setup(String className, Arguments decoded, HostedModel.PendingArguments pending) {
      long start = System.nanoTime();
      return ran(Request.SETUP, core.model.setupClaimed(className, decoded, pending), start);
    }

    private Reply call(String methodName, Arguments decoded, HostedModel.PendingArguments pending) {
      long start = System.nanoTime();
      return ran(Request.CALL, core.model.callClaimed(methodName, decoded, pending), start);
    }

    /** Runs a reset (the protocol's Rest). */
    public Reply reset() {
      long start = System.nanoTime();
      return ran(Request.REST, core.model.resetClaimed(), start);
    }

    private Reply ran(Request request, Reply reply, long start) {
      if (core.observer != NO_OBSERVER) {
        core.observer.ran(request, reply, System.nanoTime() - start);
      }
      return reply;
    }

    /**
     * Releases the model: the model returned, or never ran. Call it before answering. Idempotent.
     */
    public void release() {
      if (refusal == null && RELEASED.compareAndSet(this, false, true)) {
        core.model.releaseClaim();
        if (core.state != State.SERVING) {
          core.signalIdle();
        }
      }
    }

    /**
     * Takes the right to answer: true the first time only, for whichever answers first (the model's
     * reply, a failure, the time limit). Ends the time limit.
     */
    public boolean answer() {
      if (refusal != null || !ANSWERED.compareAndSet(this, false, true)) {
        return false;
      }
      if (core.timer != null) {
        core.limits.unwatch(this);
      }
      UNANSWERED.getAndAdd(core, -1);
      if (core.state != State.SERVING) {
        core.signalIdle();
      }
      return true;
    }

    /** Returns whether the request has been answered. */
    public boolean isAnswered() {
      return refusal != null || answered;
    }

    /**
     * Starts the call time limit, if the core has one: {@link #limitTime(TimeLimit, Runnable)
     * limitTime(TimeLimit.CALL, onLimit)}.
     */
    public void limitTime(Runnable onLimit) {
      limitTime(TimeLimit.CALL, onLimit);
    }

    /**
     * Starts the time limit of the request this claim runs ({@code kind}: a call or a setup), if
     * the core has one: when it passes before the request is answered, {@code onLimit} answers it
     * (with {@link RunnerCore#timeLimitMessage(TimeLimit)}). Does nothing without a limit, or when
     * the timer no longer runs (the runner is stopping). Call it once, before the model runs.
     */
    public void limitTime(TimeLimit kind, Runnable onLimit) {
      long nanos = core.limitNanos(kind);
      Objects.requireNonNull(onLimit, "onLimit");
      if (refusal != null || nanos <= 0) {
        return;
      }
      long deadline = core.clock.getAsLong() + Math.min(nanos, MAX_LIMIT_NANOS);
      if (!core.limits.watch(this, deadline, kind, onLimit)) {
        return; // the runner is stopping: the request runs without a limit
      }
      if (answered) {
        core.limits.unwatch(this);
      }
    }
  }

  /**
   * Runs the time limits on the core's timer with one task at a time, not one per request. The
   * watch holds the request whose limit runs (the last one given the model: one at a time, since
   * the model's claim is exclusive) with its deadline; the task is armed no later than that. When
   * it fires it answers the watched request if that is due, or re-arms itself at the deadline of
   * the one watched by then, or lapses when none is. Back-to-back calls under a call time limit
   * thus schedule nothing: a task scheduled per call (and cancelled at its answer) woke the timer's
   * thread at every call, one more context switch, which cost the gRPC runner a fifth to a half
   * more processor time per call. A request released by its model but not yet answered stops being
   * watched when the next one starts: its model returned, which is all a limit waits for.
   */
  private final class LimitWatch {
    // All guarded by this (watched is also read without it, to skip the lock for a request that is
    // not watched). The watched request's limit is kept here, not in its claim: a claim is made for
    // every request, limited or not.
    private volatile Claim watched;
    private long deadline;
    private TimeLimit kind;
    private Runnable onLimit;
    private ScheduledFuture<?> armed; // the task that fires next, or null
    private long armedFor; // when it fires
    private long generation; // tells the armed task from replaced ones

    /** Watches {@code claim}; false if the timer no longer takes tasks. */
    synchronized boolean watch(Claim claim, long deadline, TimeLimit kind, Runnable onLimit) {
      if (armed == null || armedFor - deadline > 0) {
        // No task, or one due after this deadline (a setup's longer limit, say): a new one.
        if (armed != null) {
          armed.cancel(false);
        }
        if (!arm(deadline)) {
          return false;
        }
      }
      this.watched = claim;
      this.deadline = deadline;
      this.kind = kind;
      this.onLimit = onLimit;
      return true;
    }

    /** Stops watching {@code claim}, if it is watched (only its own limitTime can make it so). */
    void unwatch(Claim claim) {
      if (watched != claim) {
        return; // a runner without a call time limit answers every call here, lock-free
      }
      synchronized (this) {
        if (watched == claim) {
          watched = null;
          onLimit = null;
        }
      }
    }

    /** Arms a task at {@code deadline}. */
    private boolean arm(long deadline) {
      long task = ++generation;
      try {
        armed =
            timer.schedule(() -> fire(task), deadline - clock.getAsLong(), TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException stopping) {
        armed = null;
        return false;
      }
      armedFor = deadline;
      return true;
    }

    private void fire(long task) {
      Claim due;
      TimeLimit dueKind;
      Runnable action;
      synchronized (this) {
        if (task != generation) {
          return; // replaced by a task due earlier
        }
        armed = null;
        if (watched == null) {
          return;
        }
        if (deadline - clock.getAsLong() > 0) {
          arm(deadline);
          return;
        }
        due = watched;
        dueKind = kind;
        action = onLimit;
        watched = null;
        onLimit = null;
      }
      // Unless its model or a failure answered the request first.
      if (due.answer()) {
        observer.timeLimitReached(dueKind);
        action.run();
      }
    }
  }

  /** Configures a {@link RunnerCore}. */
  public static final class Builder {
    private final HostedModel model;
    private long callTimeLimitNanos;
    private long setupTimeLimitNanos;
    private ScheduledExecutorService timer;
    private LongSupplier clock = System::nanoTime;
    private Observer observer = NO_OBSERVER;

    private Builder(HostedModel model) {
      this.model = Objects.requireNonNull(model, "model");
    }

    /**
     * Answers a call whose model has not returned within {@code limit} (zero: no limit, the
     * default), with {@code timer} running the limits.
     *
     * @throws IllegalArgumentException if {@code limit} is negative
     * @throws NullPointerException if {@code limit} is positive and {@code timer} is null
     */
    public Builder callTimeLimit(Duration limit, ScheduledExecutorService timer) {
      this.callTimeLimitNanos = checked(limit, timer, "call");
      return this;
    }

    /**
     * Answers a setup whose constructor (or discovery) has not returned within {@code limit} (zero:
     * no limit, the default), with {@code timer} running the limits.
     *
     * @throws IllegalArgumentException if {@code limit} is negative
     * @throws NullPointerException if {@code limit} is positive and {@code timer} is null
     */
    public Builder setupTimeLimit(Duration limit, ScheduledExecutorService timer) {
      this.setupTimeLimitNanos = checked(limit, timer, "setup");
      return this;
    }

    private long checked(Duration limit, ScheduledExecutorService timer, String kind) {
      long nanos = saturatedNanos(Objects.requireNonNull(limit, "limit"));
      if (nanos < 0) {
        throw new IllegalArgumentException("The " + kind + " time limit is negative: " + limit);
      }
      if (nanos > 0) {
        this.timer = Objects.requireNonNull(timer, "timer");
      }
      return nanos;
    }

    /**
     * Sets the clock the time limits read, in nanoseconds ({@link System#nanoTime()}); for tests.
     */
    Builder clock(LongSupplier nanoTime) {
      this.clock = Objects.requireNonNull(nanoTime, "nanoTime");
      return this;
    }

    /** Sets what sees the requests (metrics); none by default. */
    public Builder observer(Observer observer) {
      this.observer = Objects.requireNonNull(observer, "observer");
      return this;
    }

    /**
     * Returns the core; it serves at once. One timer runs both limits: the last one given with a
     * limit.
     */
    public RunnerCore build() {
      return new RunnerCore(this);
    }
  }
}
