package org.modelrunner.spi;

import java.util.Objects;

/**
 * A call's method name and arguments, prepared once by {@link ModelTransport#prepare} for every
 * model of a fan-out, so that work shared by all models (encoding the request) is done once. A
 * transport may return its own implementation holding the encoded bytes; its connections accept any
 * {@code PreparedCall}.
 */
public interface PreparedCall {
  /** Returns the name of the method to call. */
  String methodName();

  /** Returns the arguments. */
  Arguments arguments();

  /**
   * Returns a plain prepared call, for transports that have nothing to prepare.
   *
   * @throws NullPointerException if an argument is null
   */
  static PreparedCall of(String methodName, Arguments arguments) {
    Objects.requireNonNull(methodName, "methodName");
    Objects.requireNonNull(arguments, "arguments");
    record Plain(String methodName, Arguments arguments) implements PreparedCall {}
    return new Plain(methodName, arguments);
  }
}
