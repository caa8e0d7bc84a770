package org.modelrunner.conformance;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.modelrunner.spi.TransportException;

/**
 * A request that was sent and whose future has not been awaited yet. {@link #await()} enforces the
 * rule that holds throughout the suite: every {@link org.modelrunner.spi.ModelConnection} future
 * completes, normally or with a {@link TransportException}, by its timeout plus the fixture's
 * tolerance.
 *
 * @param <T> the type of the answer
 */
final class Pending<T> {
  private final String what;
  private final long startNanos;
  private final Duration timeout;
  private final Duration tolerance;
  private final CompletableFuture<T> future;
  private final TransportException rejected;

  private Pending(
      String what,
      long startNanos,
      Duration timeout,
      Duration tolerance,
      CompletableFuture<T> future,
      TransportException rejected) {
    this.what = what;
    this.startNanos = startNanos;
    this.timeout = timeout;
    this.tolerance = tolerance;
    this.future = future;
    this.rejected = rejected;
  }

  /** A request whose future was returned at {@code startNanos}. */
  static <T> Pending<T> of(
      String what,
      long startNanos,
      Duration timeout,
      Duration tolerance,
      CompletableFuture<T> future) {
    if (future == null) {
      throw new AssertionError(what + " returned a null future");
    }
    return new Pending<>(what, startNanos, timeout, tolerance, future, null);
  }

  /**
   * A request that failed before it was sent (a request over the size limit, refused by prepare).
   */
  static <T> Pending<T> rejected(String what, long startNanos, TransportException failure) {
    return new Pending<>(what, startNanos, Duration.ZERO, Duration.ZERO, null, failure);
  }

  /** Returns what this request is, for messages. */
  String what() {
    return what;
  }

  /** Returns the request's future, or null if it failed before it was sent. */
  CompletableFuture<T> future() {
    return future;
  }

  /** Returns whether the request has completed (without waiting). */
  boolean isDone() {
    return future == null || future.isDone();
  }

  /** Returns the time this request may take: its timeout plus the tolerance. */
  Duration bound() {
    return timeout.plus(tolerance);
  }

  /**
   * Waits for the request, at most until its timeout plus the tolerance after it was sent.
   *
   * @throws AssertionError if the future did not complete in time, or completed exceptionally with
   *     anything but a {@link TransportException}
   */
  Outcome<T> await() {
    if (future == null) {
      return Outcome.failed(what, rejected, Duration.ZERO);
    }
    long deadline = startNanos + bound().toNanos();
    try {
      T value = future.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      return Outcome.answered(what, value, elapsed());
    } catch (TimeoutException e) {
      throw new AssertionError(
          what
              + " did not complete within its timeout of "
              + timeout.toMillis()
              + " ms plus the tolerance of "
              + tolerance.toMillis()
              + " ms: every ModelConnection future must complete by then, whatever the"
              + " model does (did the transport drop the result, or ignore the deadline?)");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof TransportException failure) {
        return Outcome.failed(what, failure, elapsed());
      }
      throw new AssertionError(
          what
              + " completed exceptionally with "
              + cause
              + "; a ModelConnection future must fail only with a TransportException",
          cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("Interrupted while waiting for " + what, e);
    }
  }

  private Duration elapsed() {
    return Duration.ofNanos(System.nanoTime() - startNanos);
  }
}
