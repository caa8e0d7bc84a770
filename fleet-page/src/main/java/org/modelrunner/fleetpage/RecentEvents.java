package org.modelrunner.fleetpage;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.modelrunner.client.FleetEvent;
import org.modelrunner.client.ModelStatus;

/**
 * The last events of a fleet, in a ring of fixed capacity, and for each model that is out the event
 * that took it out ({@code DISCONNECTED} or {@code CONNECTION_FAILED}, with the code reported).
 * Appended to on the fleet's executor, read by the page's threads.
 */
final class RecentEvents {
  /**
   * One event as the page recorded it.
   *
   * @param sequence the event's number, from 1, in the order received
   * @param time when the page received it
   * @param event the event
   */
  record Recorded(long sequence, Instant time, FleetEvent event) {}

  /**
   * What the page holds at one moment.
   *
   * @param recent the last events, oldest first
   * @param received how many events were received in all (the ring keeps the last ones)
   * @param removals for each model that is out, the event that took it out
   */
  record View(List<Recorded> recent, long received, Map<String, Recorded> removals) {}

  private final int capacity;
  private final Clock clock;
  private final ArrayDeque<Recorded> ring; // guarded by this
  private final Map<String, Recorded> removals = new HashMap<>(); // guarded by this
  private long received; // guarded by this
  private volatile Runnable onEvent = () -> {};
  private volatile boolean closed;

  RecentEvents(int capacity, Clock clock) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
    }
    this.capacity = capacity;
    this.clock = Objects.requireNonNull(clock, "clock");
    this.ring = new ArrayDeque<>(Math.min(capacity, 1024));
  }

  /** Sets what runs after each event is recorded (on the fleet's executor: keep it quick). */
  void onEvent(Runnable action) {
    this.onEvent = Objects.requireNonNull(action, "action");
  }

  /** Records an event; does nothing once closed. */
  void record(FleetEvent event) {
    if (closed) {
      return;
    }
    synchronized (this) {
      Recorded recorded = new Recorded(++received, clock.instant(), event);
      if (ring.size() == capacity) {
        ring.removeFirst();
      }
      ring.addLast(recorded);
      switch (event.kind()) {
        case DISCONNECTED, CONNECTION_FAILED -> removals.put(event.modelId(), recorded);
        case CONNECTED, REPLACED, RESTARTED -> removals.remove(event.modelId());
        default -> {
          // INFOS_UPDATED, RECOVERING and LEFT change nothing of why a model is out.
        }
      }
    }
    onEvent.run();
  }

  /** Returns how many events were received in all. */
  synchronized long received() {
    return received;
  }

  /**
   * Returns the events held now, and the removals of the models listed in {@code models} (those of
   * models no longer listed are forgotten, so that the map never outgrows the fleet).
   */
  synchronized View view(List<ModelStatus> models) {
    if (!removals.isEmpty()) {
      Set<String> listed = new HashSet<>(models.size() * 2);
      for (ModelStatus status : models) {
        listed.add(status.modelId());
      }
      removals.keySet().retainAll(listed);
    }
    return new View(new ArrayList<>(ring), received, Map.copyOf(removals));
  }

  /** Stops recording and lets go of what was held. */
  void close() {
    closed = true;
    onEvent = () -> {};
    synchronized (this) {
      ring.clear();
      removals.clear();
    }
  }

  boolean isClosed() {
    return closed;
  }
}
