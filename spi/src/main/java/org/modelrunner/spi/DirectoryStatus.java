package org.modelrunner.spi;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * The state of a model directory's link to its source, such as the connection to the Model
 * Orchestrator: whether the list of models a fleet follows is live, and if not, since when and why.
 *
 * @param state connecting for the first time, connected, reconnecting after a lost connection, or
 *     closed
 * @param since when the directory entered this state (for {@code RECONNECTING}: when the connection
 *     was lost)
 * @param failedAttempts connection attempts that failed since the last connection opened
 * @param lastError the last connection error, if any (kept after a reconnect, for the record)
 */
public record DirectoryStatus(
    State state, Instant since, int failedAttempts, Optional<String> lastError) {
  /** The states of a directory's link. */
  public enum State {
    /** Not connected yet: the first connection is being attempted. */
    CONNECTING,
    /** Connected: updates arrive as they happen. */
    CONNECTED,
    /**
     * The connection was lost; attempts go on with backoff, and the list may be stale meanwhile.
     */
    RECONNECTING,
    /** Closed: no more updates. */
    CLOSED
  }

  /**
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code failedAttempts} is negative
   */
  public DirectoryStatus {
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(since, "since");
    Objects.requireNonNull(lastError, "lastError");
    if (failedAttempts < 0) {
      throw new IllegalArgumentException("failedAttempts must not be negative: " + failedAttempts);
    }
  }
}
