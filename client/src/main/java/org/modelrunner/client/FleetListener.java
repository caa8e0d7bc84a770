package org.modelrunner.client;

/**
 * Receives a fleet's {@link FleetEvent}s and, if it wants them, the result of every fan-out and
 * every failure report sent to the directory, on the fleet's executor (never on a transport
 * thread), one at a time and in order. Keep it quick, or hand heavy work to another executor.
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

  /**
   * Called once for each failure report the fleet sends to its directory, the failure policy's and
   * the coordinator's own ({@link ModelFleet#report}), after it was handed to the directory (whose
   * delivery may still be under way). A model the policy takes out is reported before its {@link
   * FleetEvent.Kind#DISCONNECTED} or {@link FleetEvent.Kind#CONNECTION_FAILED} event arrives. Does
   * nothing by default.
   */
  default void onReport(FleetReport report) {}
}
