package org.modelrunner.conformance;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What the suite asks a {@link TransportFixture} to deploy behind a new runner: a submission the
 * suite compiled, and the runner-side options.
 *
 * @param name a name for the runner, unique within the JVM (such as {@code "conformance-main-7"});
 *     a fixture may use it for an endpoint ({@code inproc://conformance-main-7}) or ignore it
 * @param submission the submitted code: a folder of class files (a class folder, as {@code
 *     org.modelrunner.loader.Submission} reads it)
 * @param hostClassPath the jars or class folders a runner needs on its own (host) class path for
 *     the submission to load: the suite's jar, where {@link
 *     org.modelrunner.conformance.models.ConformanceBase} lives. A runner in the suite's JVM has
 *     them already; a runner started as another process must add them
 * @param maxMessageBytes the largest request the runner accepts and the largest response it sends,
 *     in bytes; the default is {@link
 *     org.modelrunner.spi.TransportSettings#DEFAULT_MAX_MESSAGE_BYTES}
 */
public record Deployment(
    String name, Path submission, List<Path> hostClassPath, int maxMessageBytes) {
  /**
   * Creates the deployment request.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code maxMessageBytes} is not positive
   */
  public Deployment {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(submission, "submission");
    hostClassPath = List.copyOf(hostClassPath);
    if (maxMessageBytes <= 0) {
      throw new IllegalArgumentException(
          "maxMessageBytes must be positive, got " + maxMessageBytes);
    }
  }
}
