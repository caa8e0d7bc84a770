package org.modelrunner.examples.demo;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.modelrunner.client.FleetEvent;
import org.modelrunner.client.FleetListener;

/**
 * Records the fleet's events with the round in which each arrived (0: during setup), and lets the
 * demo wait until every model has been set up or refused.
 */
final class EventLog implements FleetListener {
  /** One event and the round it arrived in; round 0 is setup. */
  record Entry(int round, FleetEvent event) {
    String modelId() {
      return event.modelId();
    }
  }

  /** The events that end a model's setup, one way or the other. */
  private static final Set<FleetEvent.Kind> SETUP_ENDED =
      EnumSet.of(
          FleetEvent.Kind.CONNECTED,
          FleetEvent.Kind.CONNECTION_FAILED,
          FleetEvent.Kind.DISCONNECTED);

  private final List<Entry> entries = new ArrayList<>(); // guarded by this
  private volatile int round;

  /** Called on the fleet's executor. */
  @Override
  public synchronized void onEvent(FleetEvent event) {
    entries.add(new Entry(round, event));
    notifyAll();
  }

  /** Sets the round that events arriving from now on belong to. */
  void round(int round) {
    this.round = round;
  }

  /** Returns the events so far, in order. */
  synchronized List<Entry> entries() {
    return List.copyOf(entries);
  }

  /**
   * Returns the events so far that took a model out of the fleet (disconnected, or never
   * connected).
   */
  synchronized List<Entry> removals() {
    List<Entry> removed = new ArrayList<>();
    for (Entry entry : entries) {
      FleetEvent.Kind kind = entry.event().kind();
      if (kind == FleetEvent.Kind.DISCONNECTED || kind == FleetEvent.Kind.CONNECTION_FAILED) {
        removed.add(entry);
      }
    }
    return removed;
  }

  /**
   * Waits until each model has been set up ({@code CONNECTED}) or refused ({@code DISCONNECTED},
   * {@code CONNECTION_FAILED}).
   *
   * @return whether all of them were before the timeout
   */
  synchronized boolean awaitSetUp(Collection<String> modelIds, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!allSetUp(modelIds)) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
    return true;
  }

  private boolean allSetUp(Collection<String> modelIds) {
    for (String id : modelIds) {
      boolean ended = false;
      for (Entry entry : entries) {
        if (entry.modelId().equals(id) && SETUP_ENDED.contains(entry.event().kind())) {
          ended = true;
          break;
        }
      }
      if (!ended) {
        return false;
      }
    }
    return true;
  }
}
