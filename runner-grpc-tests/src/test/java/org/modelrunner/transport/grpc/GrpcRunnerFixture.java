package org.modelrunner.transport.grpc;

import java.io.IOException;
import java.net.BindException;
import java.net.URI;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import org.modelrunner.conformance.Capability;
import org.modelrunner.conformance.Deployment;
import org.modelrunner.conformance.RunnerHandle;
import org.modelrunner.conformance.TransportFixture;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.ProviderRegistry;
import org.modelrunner.spi.TransportProvider;
import org.modelrunner.spi.TransportSettings;

/**
 * The gRPC transport's conformance fixture: client transports from the {@code grpc} provider found
 * with {@link java.util.ServiceLoader}, and each submission served by a {@link GrpcRunner} in this
 * JVM on 127.0.0.1 (a free port; a restart binds the same port again). It declares every
 * capability: the runner answers health checks while a model runs, both sides enforce size limits,
 * a runner can be restarted at its endpoint, and the runner exposes its submission's class loader.
 *
 * <p>The only thread it declares shared is Netty's JVM-wide {@code GlobalEventExecutor} (see {@link
 * #sharedThreadNamePrefixes()}).
 */
final class GrpcRunnerFixture implements TransportFixture {
  @Override
  public ModelTransport createTransport(TransportSettings settings) {
    TransportProvider provider =
        ProviderRegistry.load(TransportProvider.class).providers().stream()
            .filter(candidate -> candidate.schemes().contains(GrpcTransportProvider.SCHEME))
            .findFirst()
            .orElseThrow(
                () -> new AssertionError("No TransportProvider for grpc:// on the class path"));
    return provider.create(settings);
  }

  @Override
  public RunnerHandle deploy(Deployment deployment) throws IOException {
    return new Runner(deployment);
  }

  @Override
  public Set<Capability> capabilities() {
    return EnumSet.allOf(Capability.class);
  }

  /**
   * Netty's {@code GlobalEventExecutor}: one thread per JVM that Netty starts to tell an event loop
   * group that its loops have terminated (so closing a transport or a runner starts it), and that
   * ends by itself after a second without work. Neither the transport nor the runner owns it; every
   * thread they start themselves ends when they are closed.
   */
  @Override
  public Set<String> sharedThreadNamePrefixes() {
    return Set.of("globalEventExecutor-");
  }

  /** A GrpcRunner on 127.0.0.1; restarting starts a new one on the same port. */
  private static final class Runner implements RunnerHandle {
    private final Deployment deployment;
    private final URI endpoint;
    private final int port;
    // Dropped when stopped, so that the handle never keeps the submission's class loader reachable.
    private volatile GrpcRunner runner;

    Runner(Deployment deployment) throws IOException {
      this.deployment = deployment;
      GrpcRunner started = start(0);
      this.port = started.port();
      this.endpoint = URI.create("grpc://127.0.0.1:" + port);
      this.runner = started;
    }

    private GrpcRunner start(int onPort) throws IOException {
      return GrpcRunner.builder()
          .submission(deployment.submission())
          .hostClassPath(deployment.hostClassPath())
          .host("127.0.0.1")
          .port(onPort)
          .maxReceiveMessageBytes(deployment.maxMessageBytes())
          .maxSendMessageBytes(deployment.maxMessageBytes())
          .shutdownGrace(Duration.ZERO)
          .build()
          .start();
    }

    @Override
    public URI endpoint() {
      return endpoint;
    }

    @Override
    public synchronized void stop() {
      GrpcRunner stopping = runner;
      runner = null;
      if (stopping != null) {
        stopping.close();
      }
    }

    @Override
    public synchronized void restart() throws IOException, InterruptedException {
      stop();
      long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      while (true) {
        try {
          runner = start(port);
          return;
        } catch (IOException e) {
          if (!(e instanceof BindException || e.getCause() instanceof BindException)
              || System.nanoTime() > deadline) {
            throw e;
          }
          Thread.sleep(50); // the port is still held by the old runner's socket
        }
      }
    }

    @Override
    public Optional<ClassLoader> submissionClassLoader() {
      GrpcRunner current = runner;
      return current == null
          ? Optional.empty()
          : Optional.of(current.model().submission().classLoader());
    }

    @Override
    public String toString() {
      return "GrpcRunnerFixture.Runner{" + deployment.name() + " at " + endpoint + "}";
    }
  }
}
