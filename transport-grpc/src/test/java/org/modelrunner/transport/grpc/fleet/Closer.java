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

  @Override
  public void close() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
    toClose.clear();
  }
}
