package org.modelrunner.client;

import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;

/**
 * The deadline timer of every fan-out in flight: one task on the fleet's thread, armed for the
 * earliest deadline it was told of, instead of one task per fan-out.
 *
 * <p>A fan-out that starts with a deadline no earlier than the armed one costs a look at two
 * fields: no task, and no wake-up of the fleet's thread (a task scheduled ahead of all others wakes
 * it, and the cancelled one had to be taken out again; with one fan-out at a time, that was a
 * wake-up per fan-out). When the task runs, it expires every fan-out whose deadline has come (the
 * one it was armed for, or earlier: the fleet's time may not be the timer's own) and arms itself
 * for the earliest deadline left. A fan-out therefore expires when its own deadline's timer fires,
 * as with a task of its own.
 *
 * <p>Deadlines are {@link Ticker} readings; the delay of a task is its deadline less the ticker's
 * reading when it is armed. With a ticker that stands still (a test's), fan-outs that share a
 * deadline reading expire together, even one started while the task runs.
 */
final class FanOutTimer {
  /** What the timer expires: a fan-out in flight. */
  interface Deadline {
    /** Returns the deadline, a {@link Ticker} reading. */
    long deadlineNanos();

    /** Ends what has not ended by the deadline; may be called more than once. */
    void expire();
  }

  private final Scheduler thread;
  private final Ticker ticker;
  private final Collection<? extends Deadline> inFlight;
  private final Object lock = new Object();

  /** The task armed, or null; guarded by {@link #lock}. */
  private Future<?> armed;

  /** The deadline {@link #armed} fires at; guarded by {@link #lock}. */
  private long armedFor;

  /**
   * @param thread runs the task (the fleet's thread)
   * @param ticker the fleet's time
   * @param inFlight the fan-outs in flight, each added before {@link #started} is called for it and
   *     removed when it completes
   */
  FanOutTimer(Scheduler thread, Ticker ticker, Collection<? extends Deadline> inFlight) {
    this.thread = thread;
    this.ticker = ticker;
    this.inFlight = inFlight;
  }

  /** Makes sure that a fan-out, already in flight, expires by its deadline. */
  void started(Deadline call) {
    long deadline = call.deadlineNanos();
    synchronized (lock) {
      if (armed != null && armedFor - deadline <= 0) {
        return; // the armed task fires first, and arms itself again for this one
      }
      arm(deadline);
    }
  }

  /** Arms the task for {@code deadline}, in place of the one armed; holds the lock. */
  private void arm(long deadline) {
    if (armed != null) {
      armed.cancel(false);
      armed = null;
    }
    try {
      armed =
          thread.schedule(
              () -> fire(deadline), Duration.ofNanos(Math.max(0, deadline - ticker.read())));
      armedFor = deadline;
    } catch (RejectedExecutionException closing) {
      // The fleet is closing: it ends every fan-out in flight itself.
    }
  }

  /** Expires the fan-outs due at {@code deadline} (or by now), then arms for the next. */
  private void fire(long deadline) {
    synchronized (lock) {
      if (armed != null && armedFor == deadline) {
        armed = null; // this task: a fan-out that starts from now on arms another
      }
    }
    long now = ticker.read();
    long due = now - deadline > 0 ? now : deadline;
    boolean more = false;
    long next = 0;
    for (Deadline call : inFlight) {
      long its = call.deadlineNanos();
      if (its - due <= 0) {
        call.expire();
      } else if (!more || its - next < 0) {
        next = its;
        more = true;
      }
    }
    if (more) {
      synchronized (lock) {
        if (armed == null || armedFor - next > 0) {
          arm(next);
        }
      }
    }
  }
}
