package org.modelrunner.transport.grpc.fleet;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.modelrunner.transport.grpc.GrpcRunner;

/** What a fleet test started (runners, fleets, folders), closed in reverse order after the test. */
final class Closer implements AutoCloseable {
  private final List<AutoCloseable> toClose = new ArrayList<>();

  /** Registers something to close, and returns it. */
  <T extends AutoCloseable> T open(T closeable) {
    toClose.add(closeable);
    return closeable;
  }

  /** Starts a runner on 127.0.0.1 (a free port) for the submission, to be closed after the test. */
  GrpcRunner runner(Path submission) throws Exception {
    return open(
        GrpcRunner.builder()
            .submission(submission)
            .hostClassPath(FleetSubmissions.hostClassPath())
            .host("127.0.0.1")
            .port(0)
            .shutdownGrace(Duration.ZERO)
            .build()
            .start());
  }

  /**
   * Returns the orchestrated tests' fleet: it follows the orchestrator's crunch (reconnecting after
   * 50 ms to 500 ms), sets up {@link PredictorBase} models (2 attempts, 2 s each), disconnects
   * after more than 2 failures or timeouts, and records its events.
   */
  static org.modelrunner.client.ModelFleet.Builder orchestratedFleet(
      java.net.URI orchestrator,
      String crunch,
      Duration callTimeout,
      List<org.modelrunner.client.FleetEvent> events) {
    return org.modelrunner.client.ModelFleet.builder()
        .directory(
            org.modelrunner.client.OrchestratorDirectory.builder(orchestrator, crunch)
                .reconnectBackoff(Duration.ofMillis(50), Duration.ofMillis(500))
                .build())
        .baseClass(PredictorBase.class.getName())
        .callTimeout(callTimeout)
        .setupTimeout(Duration.ofSeconds(2))
        .setupRetries(2, Duration.ofMillis(100))
        .maxConsecutiveFailures(2)
        .maxConsecutiveTimeouts(2)
        .listener(events::add);
  }

  @Override
  public void close() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
    toClose.clear();
  }
}
