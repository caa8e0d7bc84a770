package org.modelrunner.spi;

/**
 * The state of a deployment, as a {@link ModelDirectory} reports it (the orchestrator's states).
 */
public enum ModelState {
  /** The deployment runs and can be called. */
  RUNNING,
  /** The deployment was stopped. */
  STOPPED,
  /** The deployment's process is restarting; it lost its in-memory state. */
  RECOVERING
}
