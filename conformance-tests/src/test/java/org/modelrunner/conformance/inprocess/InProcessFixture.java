package org.modelrunner.conformance.inprocess;

import java.net.URI;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.modelrunner.conformance.Capability;
import org.modelrunner.conformance.Deployment;
import org.modelrunner.conformance.RunnerHandle;
import org.modelrunner.conformance.TransportFixture;
import org.modelrunner.loader.Submission;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.ProviderRegistry;
import org.modelrunner.spi.TransportProvider;
import org.modelrunner.spi.TransportSettings;
import org.modelrunner.transport.inprocess.InProcessModels;
import org.modelrunner.transport.inprocess.InProcessRunner;

/**
 * The fixture of the in-process transport: transports from the {@code inproc} provider found with
 * {@link java.util.ServiceLoader}, runners registered in {@link InProcessModels}. It declares every
 * capability: a runner is restarted by registering the same submission again under the same name,
 * and the fixture opens the {@link Submission} itself so that it can expose its class loader.
 *
 * <p>{@link #breaking} wraps the transports it makes, for the self-test's broken transports.
 */
public final class InProcessFixture implements TransportFixture {
  private final Set<Capability> capabilities;
  private final UnaryOperator<ModelTransport> wrapper;
  private final Duration releaseTimeout;

  private InProcessFixture(
      Set<Capability> capabilities,
      UnaryOperator<ModelTransport> wrapper,
      Duration releaseTimeout) {
    this.capabilities = capabilities;
    this.wrapper = wrapper;
    this.releaseTimeout = releaseTimeout;
  }

  /** The in-process transport as it is, with every capability. */
  public static InProcessFixture create() {
    return new InProcessFixture(
        EnumSet.allOf(Capability.class), UnaryOperator.identity(), Duration.ofSeconds(5));
  }

  /** The in-process transport, declaring only the given capabilities. */
  public static InProcessFixture withCapabilities(Set<Capability> capabilities) {
    return new InProcessFixture(
        Set.copyOf(capabilities), UnaryOperator.identity(), Duration.ofSeconds(5));
  }

  /** The in-process transport wrapped by a broken transport. */
  public static InProcessFixture breaking(UnaryOperator<ModelTransport> wrapper) {
    return breaking(wrapper, Duration.ofSeconds(5));
  }

  /**
   * The in-process transport wrapped by a broken transport, with a shorter release timeout (for a
   * transport that leaks threads, which makes every test wait that long).
   */
  public static InProcessFixture breaking(
      UnaryOperator<ModelTransport> wrapper, Duration releaseTimeout) {
    return new InProcessFixture(EnumSet.allOf(Capability.class), wrapper, releaseTimeout);
  }

  @Override
  public ModelTransport createTransport(TransportSettings settings) {
    TransportProvider provider =
        ProviderRegistry.load(TransportProvider.class).providers().stream()
            .filter(candidate -> candidate.schemes().contains("inproc"))
            .findFirst()
            .orElseThrow(
                () -> new AssertionError("No TransportProvider for inproc:// on the class path"));
    return wrapper.apply(provider.create(settings));
  }

  @Override
  public RunnerHandle deploy(Deployment deployment) {
    return new Runner(deployment);
  }

  @Override
  public Set<Capability> capabilities() {
    return capabilities;
  }

  /**
   * In-process requests take microseconds: half a second is a generous bound, and keeps the suite
   * quick.
   */
  @Override
  public Duration timingTolerance() {
    return Duration.ofMillis(500);
  }

  @Override
  public Duration releaseTimeout() {
    return releaseTimeout;
  }

  /** A registered model; restarting registers the submission again under the same name. */
  private static final class Runner implements RunnerHandle {
    private final Deployment deployment;
    private final URI endpoint;
    // Dropped when stopped, so that the handle never keeps the submission's class loader reachable.
    private volatile InProcessRunner runner;
    private volatile Submission submission;

    Runner(Deployment deployment) {
      this.deployment = deployment;
      this.endpoint = InProcessModels.endpoint(deployment.name());
      start();
    }

    private synchronized void start() {
      Submission opened = Submission.open(deployment.submission());
      InProcessRunner registered;
      try {
        registered =
            InProcessModels.submission(deployment.name(), opened)
                .maxMessageBytes(deployment.maxMessageBytes())
                .register();
      } catch (RuntimeException | Error e) {
        opened.close();
        throw e;
      }
      submission = opened;
      runner = registered;
    }

    @Override
    public URI endpoint() {
      return endpoint;
    }

    @Override
    public synchronized void stop() {
      InProcessRunner stopping = runner;
      runner = null;
      submission = null;
      if (stopping != null) {
        stopping.close();
      }
    }

    @Override
    public synchronized void restart() {
      stop();
      start();
    }

    @Override
    public Optional<ClassLoader> submissionClassLoader() {
      Submission current = submission;
      return current == null ? Optional.empty() : Optional.of(current.classLoader());
    }
  }
}
