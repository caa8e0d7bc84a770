package org.modelrunner.client;

/**
 * Receives a fleet's {@link FleetEvent}s, on the fleet's executor (never on a transport thread),
 * one at a time and in order. Keep it quick, or hand heavy work to another executor.
 */
@FunctionalInterface
public interface FleetListener {
  /** Called for each event. */
  void onEvent(FleetEvent event);
}
