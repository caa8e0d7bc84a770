package org.modelrunner.testsupport;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.PreparedCall;
import org.modelrunner.spi.Reply;

/**
 * A model connection that forwards every request to another: tests override the requests they break
 * or watch.
 */
public class ForwardingConnection implements ModelConnection {
  private final ModelConnection delegate;

  /** Forwards to {@code delegate}. */
  public ForwardingConnection(ModelConnection delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  @Override
  public URI endpoint() {
    return delegate.endpoint();
  }

  @Override
  public CompletableFuture<Reply> setup(String className, Arguments arguments, Duration timeout) {
    return delegate.setup(className, arguments, timeout);
  }

  @Override
  public CompletableFuture<Reply> call(PreparedCall call, Duration timeout) {
    return delegate.call(call, timeout);
  }

  @Override
  public CompletableFuture<Reply> reset(Duration timeout) {
    return delegate.reset(timeout);
  }

  @Override
  public CompletableFuture<HealthStatus> checkHealth(Duration timeout) {
    return delegate.checkHealth(timeout);
  }

  @Override
  public void close() {
    delegate.close();
  }
}
