package org.modelrunner.spi;

/** What a runner's health service says about itself (the standard gRPC health states). */
public enum HealthStatus {
  /** The runner is up and answering. */
  SERVING,
  /** The runner is up but not serving, for example while it shuts down. */
  NOT_SERVING,
  /** The runner does not know the service asked about. */
  SERVICE_UNKNOWN
}
