package org.modelrunner.client;

/**
 * The failure codes the Model Orchestrator knows, sent when a model is reported (by the fleet's
 * failure policy or by the coordinator, {@link ModelFleet#report}). The orchestrator stops a
 * reported model and, for every code but {@link #CONNECTION_FAILED}, quarantines its submission; a
 * code it does not know also quarantines it.
 */
public enum FailureCode {
  /** The model could not be connected or set up; not quarantined. */
  CONNECTION_FAILED,
  /** The runner found no usable implementation of the base class. */
  BAD_IMPLEMENTATION,
  /** More consecutive timeouts than the fleet allows. */
  MULTIPLE_TIMEOUT,
  /** More consecutive failures than the fleet allows. */
  MULTIPLE_FAILED,
  /** The coordinator judged the model's predictions too poor. */
  LOW_PERFORMANCE
}
