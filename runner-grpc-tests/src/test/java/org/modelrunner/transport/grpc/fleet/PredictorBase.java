package org.modelrunner.transport.grpc.fleet;

/**
 * The base class of the fleet test's models: the coordinator's API, on the runners' host class
 * path.
 */
public abstract class PredictorBase {
  /** Predicts the next value. */
  public abstract double predict(double x) throws Exception;
}
