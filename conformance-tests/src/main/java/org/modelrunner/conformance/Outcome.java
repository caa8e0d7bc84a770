package org.modelrunner.conformance;

import java.time.Duration;
import org.modelrunner.spi.TransportException;

/**
 * How one request ended, within its bound: the answer, or the {@link TransportException} it failed
 * with.
 *
 * @param <T> the type of the answer
 */
final class Outcome<T> {
  private final String what;
  private final T value;
  private final TransportException failure;
  private final Duration elapsed;

  private Outcome(String what, T value, TransportException failure, Duration elapsed) {
    this.what = what;
    this.value = value;
    this.failure = failure;
    this.elapsed = elapsed;
  }

  static <T> Outcome<T> answered(String what, T value, Duration elapsed) {
    return new Outcome<>(what, value, null, elapsed);
  }

  static <T> Outcome<T> failed(String what, TransportException failure, Duration elapsed) {
    return new Outcome<>(what, null, failure, elapsed);
  }

  /** Returns whether the request was answered (whatever the status of the answer). */
  boolean answered() {
    return failure == null;
  }

  /** Returns how long the request took. */
  Duration elapsed() {
    return elapsed;
  }

  /**
   * Returns the answer.
   *
   * @throws AssertionError if the request failed
   */
  T value() {
    if (failure != null) {
      throw new AssertionError(
          what
              + " failed with TransportException "
              + failure
              + " after "
              + elapsed.toMillis()
              + " ms; an answer was expected",
          failure);
    }
    return value;
  }

  /**
   * Returns the failure, checking its kind.
   *
   * @throws AssertionError if the request was answered, or failed with another kind
   */
  TransportException failure(TransportException.Kind expected) {
    if (failure == null) {
      throw new AssertionError(
          what
              + " was answered with "
              + value
              + " after "
              + elapsed.toMillis()
              + " ms; it should have failed with TransportException "
              + expected);
    }
    if (failure.kind() != expected) {
      throw new AssertionError(
          what
              + " failed with TransportException "
              + failure
              + " after "
              + elapsed.toMillis()
              + " ms; the kind should be "
              + expected,
          failure);
    }
    return failure;
  }

  /** Returns the failure, or null if the request was answered. */
  TransportException failureOrNull() {
    return failure;
  }

  @Override
  public String toString() {
    return what
        + " -> "
        + (failure == null ? String.valueOf(value) : "TransportException " + failure)
        + " in "
        + elapsed.toMillis()
        + " ms";
  }
}
