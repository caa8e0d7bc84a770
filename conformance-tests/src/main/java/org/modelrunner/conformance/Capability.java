package org.modelrunner.conformance;

/**
 * What a transport (with its runner) may or may not support. A rule that needs a capability the
 * {@link TransportFixture} does not {@linkplain TransportFixture#capabilities() declare} is
 * <em>skipped</em> through a JUnit assumption: it is reported as skipped, never as passed, so a
 * certification report always shows what was not checked.
 *
 * <p>Rules that need a capability are named {@code optional_…}; every {@code required_…} rule runs
 * for every transport.
 */
public enum Capability {
  /**
   * The runner answers {@link org.modelrunner.spi.ModelConnection#checkHealth} (the gRPC health
   * service's {@code ""} service), also while a model call is running (PROTOCOL §1.3).
   */
  HEALTH,

  /**
   * The transport enforces {@link org.modelrunner.spi.TransportSettings#maxMessageBytes()} on
   * requests and responses, the runner enforces {@link Deployment#maxMessageBytes()} on what it
   * receives and sends, and an oversized message fails with {@link
   * org.modelrunner.spi.TransportException.Kind#MESSAGE_TOO_LARGE} while the runner keeps serving
   * (PROTOCOL §1.4, "64 MiB both ways by default, configurable").
   */
  SIZE_LIMITS,

  /**
   * {@link RunnerHandle#restart()} starts a new runner for the same submission at the same
   * endpoint, so the suite can check that connections made before the restart reach the new runner.
   */
  RESTART_AT_SAME_ENDPOINT,

  /**
   * The runner runs in the suite's JVM and {@link RunnerHandle#submissionClassLoader()} exposes the
   * class loader of the submission it hosts, so the suite can check that stopping the runner lets
   * that class loader (and every class of the submission) be garbage-collected.
   */
  CLASS_LOADER_RELEASE
}
