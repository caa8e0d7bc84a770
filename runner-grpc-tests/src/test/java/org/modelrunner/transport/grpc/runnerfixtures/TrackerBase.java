package org.modelrunner.transport.grpc.runnerfixtures;

/**
 * A base class published by a coordinator, on the host's class path: the runner tests' submissions
 * extend it.
 */
public abstract class TrackerBase {
  /** Receives one tick of data. */
  public abstract void tick(Object data);

  /** Returns the current prediction. */
  public abstract Object predict();
}
