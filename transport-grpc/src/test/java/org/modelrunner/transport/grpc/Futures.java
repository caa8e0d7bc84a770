package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.modelrunner.spi.TransportException;

/** Waits for the client transport's futures in tests, always with a bound. */
final class Futures {
  /** The bound by which a future may complete after its request's timeout. */
  static final Duration BOUND = Duration.ofSeconds(1);

  private Futures() {}

  /** Returns the value of a future that must succeed within 10 s. */
  static <T> T value(CompletableFuture<T> future) {
    try {
      return future.get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new AssertionError(
          "expected an answer, the request failed with " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new AssertionError("no answer within 10 s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /**
   * Returns the failure of a future that must fail with a TransportException of {@code kind} within
   * 10 s.
   */
  static TransportException failure(CompletableFuture<?> future, TransportException.Kind kind) {
    try {
      Object value = future.get(10, TimeUnit.SECONDS);
      throw new AssertionError(
          "expected a TransportException " + kind + ", got the answer " + value);
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(TransportException.class);
      TransportException failure = (TransportException) e.getCause();
      assertThat(failure.kind()).as("kind of %s", failure).isEqualTo(kind);
      return failure;
    } catch (TimeoutException e) {
      throw new AssertionError("no outcome within 10 s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Returns the time from {@code startNanos} to now. */
  static Duration since(long startNanos) {
    return Duration.ofNanos(System.nanoTime() - startNanos);
  }
}
