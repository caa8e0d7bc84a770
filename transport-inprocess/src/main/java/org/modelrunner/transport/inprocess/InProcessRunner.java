package org.modelrunner.transport.inprocess;

import java.net.URI;
import java.util.Map;
import java.util.Objects;

/**
 * The handle of a model registered with {@link InProcessModels}: where it is reached, its faults,
 * and its end. Closing it unregisters the name, closes the hosted model and releases its class
 * loader; tests close it with try-with-resources.
 *
 * <p>The runner behaves as the gRPC runner does: one request at a time (another one gets {@code
 * BUSY "Server busy"} at once), a call whose caller gave up keeps running and keeps the model busy
 * until it returns, health checks answered without the model ({@code SERVING}; {@code NOT_SERVING}
 * while closing), and message sizes limited both ways.
 */
public final class InProcessRunner implements AutoCloseable {
  private final HostedRunner runner;

  InProcessRunner(HostedRunner runner) {
    this.runner = runner;
  }

  /** Returns the name the model is registered under. */
  public String name() {
    return runner.name;
  }

  /** Returns the endpoint that reaches the model: {@code inproc://name}. */
  public URI endpoint() {
    return runner.endpoint;
  }

  /** Returns the model id the directory reports. */
  public String modelId() {
    return runner.directoryEntry.modelId();
  }

  /** Returns the deployment id the directory reports. */
  public String deploymentId() {
    return runner.directoryEntry.deploymentId();
  }

  /** Returns the descriptive information the directory reports. */
  public Map<String, String> infos() {
    return runner.directoryEntry.infos();
  }

  /** Returns the runner's message size limit, in bytes. */
  public int maxMessageBytes() {
    return runner.maxMessageBytes;
  }

  /** Returns the faults injected now. */
  public Faults faults() {
    return runner.faults();
  }

  /**
   * Replaces the injected faults; counting (every n-th call, crash at call n) and the random
   * sequence start again. A call hanging because of the old faults resumes when the new ones do not
   * hang: it reaches the model (unless its caller has given up) and the model is free again once it
   * returns.
   *
   * @throws NullPointerException if {@code faults} is null
   */
  public void setFaults(Faults faults) {
    runner.setFaults(Objects.requireNonNull(faults, "faults"));
  }

  /** Removes every injected fault; same as {@code setFaults(Faults.none())}. */
  public void clearFaults() {
    setFaults(Faults.none());
  }

  /**
   * Crashes the runner, as if its process died: the request in flight and every later request fail
   * {@code UNAVAILABLE}, health checks fail {@code UNAVAILABLE}, the name is unregistered at once
   * (directories report {@code STOPPED}; the name can be registered again) and the model is closed
   * in the background (its code in flight is interrupted). Does nothing if the runner is not
   * serving. {@link #close()} is still expected, and is then quick.
   */
  public void crash() {
    runner.crash();
  }

  /** Returns whether the runner is registered and serving (neither crashed nor closed). */
  public boolean isServing() {
    return runner.state() == HostedRunner.State.SERVING;
  }

  /**
   * Closes the runner: health says {@code NOT_SERVING} while it closes; the request in flight fails
   * {@code UNAVAILABLE} and its model code is interrupted; the model is closed and its class loader
   * released (an {@link AutoCloseable} model instance is closed on this thread, or, if a call is
   * still running, on its worker once it returns); the name is unregistered (directories report
   * {@code STOPPED}) and can be registered again as soon as this returns. Idempotent; never throws.
   */
  @Override
  public void close() {
    runner.close();
  }

  @Override
  public String toString() {
    return "InProcessRunner{" + runner.endpoint + ", " + runner.state() + "}";
  }
}
