package org.modelrunner.client;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Consumer;
import org.modelrunner.spi.PreparedCall;

/**
 * One fan-out in flight: a pre-sized slot per targeted model, filled exactly once (by the model's answer or
 * by the deadline, whichever comes first), and one timer for the whole fan-out.
 */
final class FanOutCall {
  final long startNanos;
  final long deadlineNanos;
  private final FleetMember[] members;
  private final PreparedCall[] prepared;
  private final AtomicReferenceArray<CallOutcome> slots;
  private final AtomicInteger remaining;
  private final CompletableFuture<FanOutResult> future = new CompletableFuture<>();
  private final Executor callbacks;
  private final Consumer<CallOutcome> onOutcome;
  private final ModelFleet fleet;
  private volatile ScheduledFuture<?> timer;

  FanOutCall(
      ModelFleet fleet,
      FleetMember[] members,
      PreparedCall[] prepared,
      long startNanos,
      Duration timeout,
      Executor callbacks,
      Consumer<CallOutcome> onOutcome) {
    this.fleet = fleet;
    this.members = members;
    this.prepared = prepared;
    this.startNanos = startNanos;
    this.deadlineNanos = startNanos + timeout.toNanos();
    this.slots = new AtomicReferenceArray<>(members.length);
    this.remaining = new AtomicInteger(members.length);
    this.callbacks = callbacks;
    this.onOutcome = onOutcome;
  }

  CompletableFuture<FanOutResult> future() {
    return future;
  }

  PreparedCall prepared(int slot) {
    return prepared[slot];
  }

  void timer(ScheduledFuture<?> timer) {
    this.timer = timer;
  }

  boolean isFilled(int slot) {
    return slots.get(slot) != null;
  }

  long remainingNanos() {
    return deadlineNanos - System.nanoTime();
  }

  /**
   * Fills a slot unless it is already filled, and applies the failure policy to the outcome that fills
   * it (exactly once per slot). The caller that fills the last slot completes the fan-out.
   *
   * @return whether this outcome was recorded (false: another outcome came first)
   */
  boolean fill(int slot, CallOutcome outcome) {
    if (!slots.compareAndSet(slot, null, outcome)) {
      return false;
    }
    // The model's counters take the outcome before anyone can see the fan-out complete.
    fleet.policy(members[slot], outcome);
    if (onOutcome != null) {
      callbacks.execute(() -> onOutcome.accept(outcome));
    }
    if (remaining.decrementAndGet() == 0) {
      finish();
    }
    return true;
  }

  /** Completes a fan-out that targets no model. */
  void completeEmpty() {
    finish();
  }

  /** At the deadline: every model that has not answered times out. */
  void expire() {
    long micros = (System.nanoTime() - startNanos) / 1_000;
    for (int i = 0; i < members.length; i++) {
      if (slots.get(i) == null) {
        fill(i, fleet.timeoutOutcome(members[i], micros));
      }
    }
  }

  /** Fails every slot not yet filled with the given client failure (the fleet is closing). */
  void abort(CallFailure failure) {
    for (int i = 0; i < members.length; i++) {
      if (slots.get(i) == null) {
        fill(i, fleet.failureOutcome(members[i], failure, 0));
      }
    }
  }

  private void finish() {
    ScheduledFuture<?> pending = timer;
    if (pending != null) {
      pending.cancel(false);
    }
    fleet.finished(this);
    CallOutcome[] outcomes = new CallOutcome[members.length];
    for (int i = 0; i < outcomes.length; i++) {
      outcomes[i] = slots.get(i);
    }
    FanOutResult result =
        new FanOutResult(
            Arrays.asList(outcomes), Duration.ofNanos(System.nanoTime() - startNanos));
    callbacks.execute(() -> future.complete(result));
  }
}
