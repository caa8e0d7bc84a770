package org.modelrunner.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;

/**
 * Waiting in the fleet's tests: for the next event, for an event of a kind, for an assertion to
 * hold, for the fleet to catch up (so that an absence is checked without waiting for time to pass).
 */
final class FleetTesting {
  /** How long a test waits for what should happen soon. */
  static final Duration WAIT = Duration.ofSeconds(10);

  /** The base class the fake models implement. */
  static final String BASE = "com.example.TrackerBase";

  private FleetTesting() {}

  /**
   * Returns a fleet builder over the directory with the tests' defaults: a 5 s call timeout, two
   * quick setup attempts, and every event into {@code events}.
   */
  static ModelFleet.Builder fleetBuilder(
      org.modelrunner.spi.ModelDirectory directory, BlockingQueue<FleetEvent> events) {
    return ModelFleet.builder()
        .directory(directory)
        .baseClass(BASE)
        .callTimeout(Duration.ofSeconds(5))
        .setupRetries(2, Duration.ofMillis(10))
        .listener(events::add);
  }

  /** Returns the next event, failing if none comes within {@link #WAIT}. */
  static FleetEvent nextEvent(BlockingQueue<FleetEvent> events) throws InterruptedException {
    FleetEvent event = events.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(event).as("an event").isNotNull();
    return event;
  }

  /**
   * Returns the next event of the kind, skipping others, failing if none comes within {@link
   * #WAIT}.
   */
  static FleetEvent nextEvent(BlockingQueue<FleetEvent> events, FleetEvent.Kind kind)
      throws InterruptedException {
    while (true) {
      FleetEvent event = events.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      assertThat(event).as("a %s event", kind).isNotNull();
      if (event.kind() == kind) {
        return event;
      }
    }
  }

  /**
   * Waits until the fleet has applied what it was handed so far and delivered the events that work
   * emitted ({@link Membership#quiesce()}), failing if that takes over {@link #WAIT}. It waits for
   * the fleet's threads, never for time to pass.
   */
  static void quiesce(ModelFleet fleet) throws Exception {
    fleet.parts().membership.quiesce().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Checks that {@code events} holds no event, and that none is on its way from what the fleet was
   * handed so far: the fleet is {@linkplain #quiesce quiesced} first, so that an event caused by
   * earlier work is already in the queue.
   */
  static void assertNoMoreEvents(
      ModelFleet fleet, BlockingQueue<FleetEvent> events, String description) throws Exception {
    quiesce(fleet);
    assertThat(events).as(description).isEmpty();
  }

  /** Retries the assertion until it holds, for at most {@link #WAIT} (Awaitility). */
  static void eventually(Runnable assertion) {
    Awaitility.await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(10))
        .untilAsserted(assertion::run);
  }
}
