package org.modelrunner.conformance;

import java.net.URI;
import java.util.Optional;

/**
 * A runner a {@link TransportFixture} deployed for the suite: where it can be reached, and how to
 * stop it.
 *
 * <p>The suite stops every runner it deployed at the end of each test (and checks that its threads
 * and, with {@link Capability#CLASS_LOADER_RELEASE}, its submission's class loader were released),
 * so {@link #stop()} must be idempotent.
 */
public interface RunnerHandle extends AutoCloseable {
  /**
   * Returns the endpoint a client transport connects to, such as {@code inproc://name} or {@code
   * grpc://127.0.0.1:50051}; the same before and after {@link #stop()} and {@link #restart()}.
   */
  URI endpoint();

  /**
   * Stops the runner: it stops answering (new requests to its endpoint fail with {@link
   * org.modelrunner.spi.TransportException.Kind#UNAVAILABLE}), drops its model instance and
   * releases the threads and class loader it holds. Idempotent; must not throw.
   */
  void stop();

  /**
   * Starts a new runner for the same submission and options at the same {@link #endpoint()},
   * stopping this one first if it still runs. The new runner has no model instance (the restart
   * lost the state). Only called when the fixture declares {@link
   * Capability#RESTART_AT_SAME_ENDPOINT}.
   *
   * @throws UnsupportedOperationException if the fixture cannot restart runners (the default)
   * @throws Exception if the new runner cannot be started
   */
  default void restart() throws Exception {
    throw new UnsupportedOperationException("This runner cannot be restarted at the same endpoint");
  }

  /**
   * Returns the class loader of the submission this runner hosts, while it runs. Only called when
   * the fixture declares {@link Capability#CLASS_LOADER_RELEASE}; the suite keeps only a weak
   * reference to it. The handle must not keep the class loader reachable once the runner is
   * stopped.
   *
   * @return the submission's class loader, or empty if the runner does not run in this JVM (the
   *     default)
   */
  default Optional<ClassLoader> submissionClassLoader() {
    return Optional.empty();
  }

  /** Same as {@link #stop()}. */
  @Override
  default void close() {
    stop();
  }
}
