package org.modelrunner.client;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Consumer;
import org.modelrunner.spi.CallProgress;
import org.modelrunner.spi.PreparedCall;
import org.modelrunner.spi.Reply;

/**
 * One fan-out in flight: a pre-sized slot per targeted model, filled exactly once (by the model's
 * answer or by the deadline, whichever comes first), and one timer for the whole fan-out.
 *
 * <p>The failure policy takes each outcome as its slot fills, except timeouts: those are judged
 * together once the fan-out is complete, so that timeouts caused by the fleet's own stall (most of
 * the models at once, or a deadline timer that ran late) are not counted against the models.
 *
 * <p>A {@link FanOutStrategy.Plan} other than the default may give each slot its own deadline,
 * bound the calls in flight (slots are then sent in order as earlier ones fill; one never sent by
 * the deadline ends SKIPPED {@code NOT_SENT}), and complete the fan-out early (the slots left end
 * CANCELLED).
 *
 * <p>Its deadline is kept by the fleet's {@link FanOutTimer}, which calls {@link #expire}.
 */
final class FanOutCall implements FanOutTimer.Deadline {
  final long startNanos;
  final long deadlineNanos;
  private final String method;
  private final Ticker ticker;
  private final FleetMember[] members;
  private final PreparedCall[] prepared;
  private final AtomicReferenceArray<CallOutcome> slots;
  private final AtomicInteger remaining;
  private final CompletableFuture<FanOutResult> future = new CompletableFuture<>();

  /**
   * The result as soon as it is complete, on the thread that completed it, for {@link
   * ModelFleet#callAndWait} when no per-outcome callback must run first: its only dependent is the
   * waiting caller, so no user code runs on that thread, and the caller skips a thread hand-off.
   */
  private final CompletableFuture<FanOutResult> settled = new CompletableFuture<>();

  private final Executor callbacks;
  private final Consumer<CallOutcome> onOutcome;
  private final FanOutEngine fleet;

  /**
   * Whether {@link #future()} is anyone's (an asynchronous call): when it is not, no per-outcome
   * callback waits and no listener is registered, a complete fan-out wakes no thread but its
   * caller.
   */
  private final boolean futureWanted;

  /** Whether the fleet's listeners hear of the result (not of the fleet's warm-up). */
  private final boolean listened;

  // Set only for a plan other than the default (null otherwise: the fast path).
  private final FanOutStrategy.Plan plan;

  /** Each slot's deadline (a nanoTime), or null when every slot has the fan-out's. */
  private final long[] slotDeadlines;

  /**
   * Sends slot i (the fleet's dispatch: cooldown, mailbox); null when every slot is sent at start.
   */
  private final java.util.function.IntConsumer dispatch;

  private final int maxInFlight;

  /** The slots that may be sent: [0, sendable); the others were filled at start. */
  private final int sendable;

  private final java.util.concurrent.atomic.AtomicIntegerArray sent;
  private final AtomicInteger nextToSend = new AtomicInteger();
  private final AtomicInteger sending = new AtomicInteger();
  private final java.util.concurrent.atomic.AtomicBoolean pumping =
      new java.util.concurrent.atomic.AtomicBoolean();
  private final Object planLock = new Object();

  /**
   * What the transport tells of each slot's request ({@link CallProgress}), when it tells; created
   * when the first such request is sent.
   */
  private volatile AtomicReferenceArray<CallProgress> progress;

  private volatile boolean completing;

  /**
   * A fan-out. With a plan (null for the default, whose slots the fleet sends at start): {@code
   * slotTimeouts} (from the start) for the first {@code sendable} slots, at most the plan's {@code
   * maxInFlight} of them sent at once through {@code dispatch}. {@code futureWanted}: whether the
   * caller takes {@link #future()} (false when it only waits for {@link #awaited()}); {@code
   * listened}: whether the fleet's listeners hear of its result.
   */
  FanOutCall(
      FanOutEngine fleet,
      boolean futureWanted,
      String method,
      Ticker ticker,
      FleetMember[] members,
      PreparedCall[] prepared,
      long startNanos,
      Duration timeout,
      Executor callbacks,
      boolean listened,
      Consumer<CallOutcome> onOutcome,
      FanOutStrategy.Plan plan,
      Duration[] slotTimeouts,
      int sendable,
      java.util.function.IntConsumer dispatch) {
    this.fleet = fleet;
    this.futureWanted = futureWanted;
    this.method = method;
    this.ticker = ticker;
    this.members = members;
    this.prepared = prepared;
    this.startNanos = startNanos;
    this.slots = new AtomicReferenceArray<>(members.length);
    this.remaining = new AtomicInteger(members.length);
    this.callbacks = callbacks;
    this.listened = listened;
    this.onOutcome = onOutcome;
    this.plan = plan;
    this.dispatch = dispatch;
    this.sendable = sendable;
    this.maxInFlight = plan == null ? Integer.MAX_VALUE : Math.max(1, plan.maxInFlight());
    this.sent =
        plan == null ? null : new java.util.concurrent.atomic.AtomicIntegerArray(members.length);
    long last = startNanos + timeout.toNanos();
    if (slotTimeouts != null) {
      this.slotDeadlines = new long[members.length];
      Arrays.fill(slotDeadlines, last);
      long latest = sendable == 0 ? last : Long.MIN_VALUE;
      for (int i = 0; i < sendable; i++) {
        slotDeadlines[i] = startNanos + slotTimeouts[i].toNanos();
        latest = Math.max(latest, slotDeadlines[i]);
      }
      last = latest;
    } else {
      this.slotDeadlines = null;
    }
    this.deadlineNanos = last;
  }

  /** Sends the first slots the plan allows; the others follow as slots fill. */
  void start() {
    pump();
  }

  /** Sends slots while the plan allows more in flight. */
  private void pump() {
    while (pumping.compareAndSet(false, true)) {
      try {
        while (!completing && sending.get() < maxInFlight) {
          int next = nextToSend.getAndIncrement();
          if (next >= sendable) {
            return;
          }
          if (slots.get(next) != null) {
            continue;
          }
          sending.incrementAndGet();
          sent.set(next, 1);
          dispatch.accept(next);
        }
      } finally {
        pumping.set(false);
      }
      if (completing || sending.get() >= maxInFlight || nextToSend.get() >= sendable) {
        return;
      }
    }
  }

  /** The time left for a slot's call, in nanoseconds. */
  long remainingNanos(int slot) {
    return (slotDeadlines == null ? deadlineNanos : slotDeadlines[slot]) - ticker.read();
  }

  /**
   * Returns what a caller blocked on the fan-out waits for: the result at once when it completes,
   * or, when per-outcome callbacks were asked for, once they have run (the future).
   */
  CompletableFuture<FanOutResult> awaited() {
    return onOutcome == null ? settled : future;
  }

  @Override
  public long deadlineNanos() {
    return deadlineNanos;
  }

  CompletableFuture<FanOutResult> future() {
    return future;
  }

  PreparedCall prepared(int slot) {
    return prepared[slot];
  }

  boolean isFilled(int slot) {
    return slots.get(slot) != null;
  }

  /**
   * Fills a slot unless it is already filled, and applies the failure policy to the outcome that
   * fills it (exactly once per slot; a timeout once the fan-out is complete). The caller that fills
   * the last slot completes the fan-out.
   *
   * @return whether this outcome was recorded (false: another outcome came first)
   */
  boolean fill(int slot, CallOutcome outcome) {
    if (!slots.compareAndSet(slot, null, outcome)) {
      return false;
    }
    // The model's counters take the outcome before anyone can see the fan-out complete; timeouts
    // are judged together in finish().
    if (outcome.status() != CallStatus.TIMEOUT) {
      fleet.policy(members[slot], outcome);
    }
    if (onOutcome != null) {
      callbacks.execute(() -> onOutcome.accept(outcome));
    }
    boolean completeNow = false;
    if (plan != null && !completing) {
      synchronized (planLock) {
        if (!completing && plan.completeAfter(outcome)) {
          completing = true;
          completeNow = true;
        }
      }
    }
    if (remaining.decrementAndGet() == 0) {
      finish();
    } else if (completeNow) {
      cancelTheRest();
    } else if (dispatch != null && sent.get(slot) == 1) {
      sending.decrementAndGet();
      pump();
    }
    return true;
  }

  /** The plan needed no more: every slot left ends CANCELLED. */
  private void cancelTheRest() {
    for (int i = 0; i < members.length; i++) {
      if (slots.get(i) == null) {
        fill(i, fleet.outcomes.cancelledOutcome(members[i]));
      }
    }
  }

  /** A slot's request was sent: keeps what its transport can tell of its progress. */
  void sent(int slot, CompletableFuture<Reply> reply) {
    if (!(reply instanceof CallProgress told)) {
      return; // a network transport's: nothing to keep
    }
    AtomicReferenceArray<CallProgress> known = progress;
    if (known == null) {
      synchronized (this) {
        known = progress;
        if (known == null) {
          known = new AtomicReferenceArray<>(members.length);
          progress = known;
        }
      }
    }
    known.setRelease(slot, told); // read once the fan-out is complete, after its slots
  }

  /**
   * Returns whether a slot's request waited in the coordinator's own process until it ended,
   * without reaching its model (as its transport tells: {@link CallProgress}).
   */
  boolean waitedInCoordinator(int slot) {
    AtomicReferenceArray<CallProgress> known = progress;
    CallProgress told = known == null ? null : known.getAcquire(slot);
    return told != null && told.waitsInCoordinator();
  }

  /** Completes a fan-out that targets no model. */
  void completeEmpty() {
    finish();
  }

  /**
   * At the deadline: every model that has not answered times out; with a bounded plan, a model
   * whose call was never sent ends SKIPPED ({@code NOT_SENT}) instead.
   */
  @Override
  public void expire() {
    long micros = (ticker.read() - startNanos) / 1_000;
    completing = completing || plan != null; // no more sends
    for (int i = 0; i < members.length; i++) {
      if (slots.get(i) == null) {
        boolean neverSent = sent != null && i < sendable && sent.get(i) == 0;
        fill(
            i,
            neverSent
                ? fleet.outcomes.notSentOutcome(members[i])
                : fleet.outcomes.timeoutOutcome(members[i], micros));
      }
    }
  }

  /** Fails every slot not yet filled with the given client failure (the fleet is closing). */
  void abort(CallFailure failure) {
    for (int i = 0; i < members.length; i++) {
      if (slots.get(i) == null) {
        fill(i, fleet.outcomes.failureOutcome(members[i], failure, 0));
      }
    }
  }

  private void finish() {
    fleet.finished(this);
    CallOutcome[] outcomes = new CallOutcome[members.length];
    for (int i = 0; i < outcomes.length; i++) {
      outcomes[i] = slots.get(i);
    }
    long now = ticker.read();
    fleet.timeouts(method, members, outcomes, now - deadlineNanos, this::waitedInCoordinator);
    FanOutResult result =
        new FanOutResult(Arrays.asList(outcomes), Duration.ofNanos(now - startNanos));
    // Decided before the caller is released: a listener it adds once it has the result is not
    // told of this fan-out.
    boolean tell = futureWanted || onOutcome != null || (listened && fleet.hasListeners());
    settled.complete(result);
    if (!tell) {
      return; // nobody to tell on the fleet's executor: its thread is not woken
    }
    callbacks.execute(
        () -> {
          fleet.completed(result);
          future.complete(result);
        });
  }
}
