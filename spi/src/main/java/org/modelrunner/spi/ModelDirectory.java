package org.modelrunner.spi;

import java.util.List;
import java.util.Optional;

/**
 * The model-directory seam: where a client learns which models are up. Implementations: a static
 * list, the in-process registry, the Model Orchestrator.
 *
 * <p>A directory reports to one {@link Listener}: a full snapshot of the running deployments
 * (first, and again whenever it resynchronises, for example after a reconnect: deployments absent
 * from a snapshot are gone), then updates one deployment at a time. A directory never waits on the
 * listener's work: listeners return quickly.
 */
public interface ModelDirectory extends AutoCloseable {
  /** Receives what a directory reports. Methods are called by one thread at a time, in order. */
  interface Listener {
    /** The full list of running deployments; any deployment not in it is gone. */
    void snapshot(List<ModelEndpoint> running);

    /**
     * The full list of deployments, with those whose process is restarting ({@link
     * ModelState#RECOVERING}) apart: they are not gone, but cannot be called until an update
     * reports them {@code RUNNING} again. Directories that know of restarts call this instead of
     * {@link #snapshot(List)}; by default, the recovering deployments are treated as gone.
     */
    default void snapshot(List<ModelEndpoint> running, List<ModelEndpoint> recovering) {
      snapshot(running);
    }

    /** One deployment changed state. */
    void update(ModelEndpoint endpoint, ModelState state);
  }

  /**
   * Starts reporting to {@code listener}. Called once.
   *
   * @throws IllegalStateException if already started
   */
  void start(Listener listener);

  /**
   * Reports a model that the client disconnected because of its failures, so that the directory's
   * source (the Model Orchestrator) can stop and quarantine it. Directories without such a source
   * ignore it (the default). Never blocks: a directory that cannot send the report now queues or
   * drops it.
   *
   * @param endpoint the deployment reported
   * @param failureCode such as {@code MULTIPLE_TIMEOUT}, {@code MULTIPLE_FAILED}, {@code
   *     BAD_IMPLEMENTATION}, {@code LOW_PERFORMANCE}
   * @param reason a human-readable explanation
   */
  default void reportFailure(ModelEndpoint endpoint, String failureCode, String reason) {}

  /**
   * Returns whether the directory's source acts on {@linkplain #reportFailure failure reports}: the
   * Model Orchestrator stops a reported model (and quarantines most), so the client leaves it to
   * the orchestrator and does not take the model back itself. A directory that ignores reports (a
   * static list, an in-process registry) answers false, the default: the client then re-admits a
   * model it ejected for its failures once its ejection time is over and it is healthy again.
   *
   * @return true if reported models are stopped (or otherwise dealt with) by the directory's source
   */
  default boolean actsOnReports() {
    return false;
  }

  /**
   * Returns the state of the directory's link to its source (the Model Orchestrator's connection),
   * or empty for a directory that has none (a static list, an in-process registry), which is always
   * up to date.
   */
  default Optional<DirectoryStatus> status() {
    return Optional.empty();
  }

  /** Stops reporting and releases what the directory holds. Idempotent. */
  @Override
  void close();
}
