package org.modelrunner.client;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.modelrunner.spi.DirectoryStatus;
import org.modelrunner.spi.ModelDirectory;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.ValueConverter;

/**
 * A coordinator's fleet of models: it follows a {@link ModelDirectory}, connects to and sets up
 * each model it lists, and fans calls out to all of them (or a subset) concurrently, with a
 * deadline.
 *
 * <pre>{@code
 * try (ModelFleet fleet = ModelFleet.builder()
 *     .directory(StaticModelDirectory.of("inproc://alice", "inproc://bob"))
 *     .baseClass("com.example.tracker.TrackerBase")
 *     .callTimeout(Duration.ofSeconds(2))
 *     .build()) {
 *   fleet.awaitConnected(2, Duration.ofSeconds(30));
 *   fleet.callAndWait(FanOut.of("tick", Map.of("price", 101.5)));
 *   for (CallOutcome outcome : fleet.callAndWait(FanOut.of("predict")).outcomes()) {
 *     System.out.println(outcome.modelId() + " " + outcome.status() + " " + outcome.value());
 *   }
 * }
 * }</pre>
 *
 * <h2>Guarantees</h2>
 *
 * <ul>
 *   <li>Every model targeted by a fan-out gets exactly one {@link CallOutcome}: {@code SUCCESS},
 *       {@code FAILURE} (with the reason), {@code TIMEOUT}, or {@code SKIPPED} (the cooldown
 *       below); the fan-out completes by its deadline plus a small bound, whatever the models do.
 *       The models targeted are those connected when the call starts (or the {@linkplain
 *       FanOut.Builder#only subset}: known but unconnected ones fail with {@link
 *       CallFailure#NOT_CONNECTED}).
 *   <li>A model never has two calls in flight from this fleet: calls to a model wait in a small
 *       bounded queue, and one that waits past its fan-out's deadline is never sent.
 *   <li>No caller thread waits on model work (except in {@link #callAndWait}); results, per-outcome
 *       callbacks and {@link FleetListener} events run on the fleet's executor, one at a time,
 *       never on a transport thread. The fleet uses two threads of its own (timers and membership;
 *       callbacks when no executor is given), never one per model.
 * </ul>
 *
 * <h2>Failure policy and membership</h2>
 *
 * Models that keep failing or timing out are disconnected and reported to the directory, as by the
 * Python client, and directory reports (joins, redeploys, restarts, leaves) are applied without
 * waiting on any model: the {@linkplain org.modelrunner.client package overview} gives the rules,
 * and {@link Builder} their settings.
 *
 * <p>{@link #awaitSettled} waits until every model of the first snapshot connected or failed;
 * {@link #awaitConnected} until enough models are connected; {@link #models()} tells each model's
 * state, counts and latency.
 */
public final class ModelFleet implements AutoCloseable {
  private final FleetParts parts;

  private ModelFleet(Builder builder) {
    this.parts = new FleetParts(builder);
  }

  /** Returns a builder. */
  public static Builder builder() {
    return new Builder();
  }

  // ---------------------------------------------------------------------------------------------
  // Fan-out

  /**
   * Starts a fan-out and returns its result's future, which completes (on the fleet's executor)
   * when every targeted model has an outcome, by the deadline plus a small bound.
   *
   * @throws IllegalArgumentException if the subset names a model the fleet does not know
   * @throws org.modelrunner.spi.ValueConversionException if an argument cannot be converted
   * @throws TransportException of kind {@code MESSAGE_TOO_LARGE} if the request is over the size
   *     limit
   * @throws IllegalStateException if the fleet is closed
   */
  public CompletableFuture<FanOutResult> call(FanOut request) {
    return parts.engine.call(request);
  }

  /**
   * Runs a fan-out and waits for its result: the blocking convenience over {@link #call(FanOut)}.
   * It returns as soon as the result is complete (after the request's per-outcome callbacks, if it
   * has any), without waiting for the fleet's executor to complete {@link #call}'s future.
   *
   * @throws InterruptedException if the thread is interrupted while waiting
   * @throws IllegalArgumentException if the subset names a model the fleet does not know
   */
  public FanOutResult callAndWait(FanOut request) throws InterruptedException {
    try {
      return parts.engine.start(request, false).awaited().get();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new IllegalStateException(cause);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // What coordinators can see

  /** Returns the status of every model the fleet knows (connected, connecting or disconnected). */
  public List<ModelStatus> models() {
    return parts.membership.models();
  }

  /**
   * Returns the state of the directory's link to its source: for the Model Orchestrator, whether
   * its connection is up, or since when it is reconnecting and why; empty for a directory without
   * one (a static list). While it is not connected the fleet keeps calling the models it has.
   */
  public Optional<DirectoryStatus> directoryStatus() {
    return parts.directory.status();
  }

  /** Returns the ids of the models that are connected now, sorted. */
  public List<String> connectedModelIds() {
    return parts.membership.connectedModelIds();
  }

  /**
   * Waits until at least {@code count} models are connected.
   *
   * @return whether they were, before the timeout
   * @throws InterruptedException if the thread is interrupted while waiting
   */
  public boolean awaitConnected(int count, Duration timeout) throws InterruptedException {
    return parts.membership.awaitConnected(count, timeout);
  }

  /**
   * Waits until the directory's first snapshot is settled: it arrived, and every model it listed is
   * connected or could not be (failed, left, or disconnected). Once settled, the fleet stays
   * settled.
   *
   * @return whether it was settled before the timeout
   * @throws InterruptedException if the thread is interrupted while waiting
   */
  public boolean awaitSettled(Duration timeout) throws InterruptedException {
    return parts.membership.awaitSettled(timeout);
  }

  /**
   * Reports a model to the directory (for the Model Orchestrator: a {@code report_failure}, after
   * which it stops the model and, for most codes, quarantines its submission), for example when its
   * predictions are poor. Reporting does not disconnect the model here: calls still go to it until
   * the directory stops it, or until {@link #disconnect} is called. Never blocks.
   *
   * @throws IllegalArgumentException if the fleet knows no model with that id
   */
  public void report(String modelId, FailureCode code, String reason) {
    report(modelId, Objects.requireNonNull(code, "code").name(), reason);
  }

  /**
   * Reports a model to the directory with any failure code (the orchestrator quarantines a model
   * reported with a code it does not know). See {@link #report(String, FailureCode, String)}.
   *
   * @throws IllegalArgumentException if the fleet knows no model with that id, or the code is blank
   */
  public void report(String modelId, String failureCode, String reason) {
    parts.membership.report(modelId, failureCode, reason);
  }

  /**
   * Disconnects a model here without reporting it to the directory: no fan-out started after this
   * call targets it, and it stays out until the directory announces a new deployment or a restart
   * of it. A {@link FleetEvent.Kind#DISCONNECTED} event with the code {@link FleetEvent#LOCAL}
   * follows.
   *
   * @return whether the model was connected or connecting (false if it already was out)
   * @throws IllegalArgumentException if the fleet knows no model with that id
   */
  public boolean disconnect(String modelId, String reason) {
    return parts.membership.disconnectLocally(modelId, reason);
  }

  /** Adds a listener of membership and policy events. */
  public void addListener(FleetListener listener) {
    parts.listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  /** Returns the converter used for arguments and results. */
  public ValueConverter valueConverter() {
    return parts.converter;
  }

  /**
   * Closes the directory, every connection and transport, and the fleet's threads. Fan-outs still
   * in flight complete at once: models without an outcome fail with the client code {@code
   * FLEET_CLOSED}. Idempotent.
   */
  @Override
  public void close() {
    parts.close();
  }

  /** Returns the fleet's parts, for this package's tests. */
  FleetParts parts() {
    return parts;
  }

  /**
   * Configures a {@link ModelFleet}: its options are {@link FleetOptions}'s (the directory and base
   * class are required; every other has a default).
   */
  public static final class Builder extends FleetOptions {
    private Builder() {}

    /**
     * Builds the fleet and starts following the directory; models connect in the background (see
     * {@link ModelFleet#awaitConnected}).
     *
     * @throws IllegalStateException if the directory or base class is missing, or a static
     *     directory lists an endpoint no transport on the class path serves (the message names the
     *     artifact to add)
     */
    public ModelFleet build() {
      if (directory == null) {
        throw new IllegalStateException("A directory is required");
      }
      if (baseClass == null) {
        throw new IllegalStateException("A base class is required");
      }
      ModelFleet fleet = new ModelFleet(this);
      try {
        fleet.parts.membership.start();
      } catch (RuntimeException e) {
        fleet.close();
        throw e;
      }
      return fleet;
    }
  }
}
