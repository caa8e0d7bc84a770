package org.modelrunner.client;

import java.util.Objects;
import org.modelrunner.spi.ModelEndpoint;

/**
 * A failure report the fleet sent to its {@link ModelDirectory} (for the Model Orchestrator, a
 * {@code report_failure}): one of the failure policy's, or one the coordinator made with {@link
 * ModelFleet#report}. {@link FleetListener#onReport} receives them; a fleet built with {@code
 * reportFailures(false)} sends, and so shows, only the coordinator's.
 *
 * @param model the deployment reported
 * @param code the failure code, such as {@code MULTIPLE_TIMEOUT}, {@code CONNECTION_FAILED} or a
 *     coordinator's own
 * @param reason the reason sent with it
 * @param byCoordinator whether the coordinator made it ({@link ModelFleet#report}), rather than the
 *     fleet's failure policy
 */
public record FleetReport(ModelEndpoint model, String code, String reason, boolean byCoordinator) {
  /**
   * Creates the report.
   *
   * @throws NullPointerException if an argument is null
   */
  public FleetReport {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(reason, "reason");
  }

  /** Returns the model's id. */
  public String modelId() {
    return model.modelId();
  }
}
