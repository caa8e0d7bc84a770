package org.modelrunner.conformance;

import java.time.Duration;
import java.util.Set;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.TransportSettings;

/**
 * What a transport author implements to certify a transport with {@link TransportConformanceSuite}:
 * how to make the client side ({@link ModelTransport}) and how to put a submission behind a runner
 * that the transport can reach.
 *
 * <p>The suite asks for a new fixture before every test ({@link
 * TransportConformanceSuite#fixture()}), makes its transports and runners through it, and closes
 * all of them after the test. A fixture may share JVM-wide resources across tests, but must then
 * declare the names of the threads it keeps in {@link #sharedThreadNamePrefixes()}, or the suite
 * reports them as leaked.
 *
 * <pre>{@code
 * final class InProcessFixture implements TransportFixture {
 *   public ModelTransport createTransport(TransportSettings settings) {
 *     return new InProcessTransportProvider().create(settings);
 *   }
 *   public RunnerHandle deploy(Deployment deployment) {
 *     InProcessRunner runner = InProcessModels.submission(deployment.name(), deployment.submission())
 *         .maxMessageBytes(deployment.maxMessageBytes())
 *         .register();
 *     return new RunnerHandle() {
 *       public URI endpoint() { return runner.endpoint(); }
 *       public void stop() { runner.close(); }
 *     };
 *   }
 *   public Set<Capability> capabilities() { return EnumSet.of(Capability.HEALTH, Capability.SIZE_LIMITS); }
 * }
 * }</pre>
 */
public interface TransportFixture {
  /**
   * Creates a client-side transport with the given settings, as the transport's {@link
   * org.modelrunner.spi.TransportProvider#create} would. The suite closes it after the test.
   */
  ModelTransport createTransport(TransportSettings settings);

  /**
   * Deploys a submission behind a new runner the transports of this fixture can reach, and returns
   * once the runner accepts connections. The suite stops it after the test.
   *
   * @throws Exception if the runner cannot be started (the test then fails)
   */
  RunnerHandle deploy(Deployment deployment) throws Exception;

  /**
   * Returns what this transport supports; rules that need anything else are skipped (reported as
   * such).
   */
  Set<Capability> capabilities();

  /**
   * Returns the prefixes of the names of threads that this transport keeps on purpose beyond a
   * test, such as a JVM-wide event loop; the suite does not report them as leaked. Threads the JDK
   * and JUnit keep ({@code ForkJoinPool.commonPool-worker-}, {@code
   * CompletableFutureDelayScheduler}, {@code junit-jupiter-timeout-watcher}…) are never reported.
   * Empty by default.
   */
  default Set<String> sharedThreadNamePrefixes() {
    return Set.of();
  }

  /**
   * Returns the small bound by which any request may outlive its timeout (every {@link
   * org.modelrunner.spi.ModelConnection} future must complete by its timeout plus this), and by
   * which a fast answer may take. One second by default; raise it for a slow network, never above a
   * few seconds.
   */
  default Duration timingTolerance() {
    return Duration.ofSeconds(1);
  }

  /**
   * Returns how long, after the suite closed a test's transports and stopped its runners, their
   * threads may take to end. Five seconds by default.
   */
  default Duration releaseTimeout() {
    return Duration.ofSeconds(5);
  }
}
