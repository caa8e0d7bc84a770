package org.modelrunner.client;

/**
 * Receives a fleet's {@link FleetEvent}s and, if it wants them, the result of every fan-out, on the
 * fleet's executor (never on a transport thread), one at a time and in order. Keep it quick, or
 * hand heavy work to another executor.
 */
@FunctionalInterface
public interface FleetListener {
  /** Called for each event. */
  void onEvent(FleetEvent event);

  /**
   * Called once for each fan-out, with its result, before its future completes (metrics, a live
   * page). Does nothing by default.
   */
  default void onFanOut(FanOutResult result) {}
}
