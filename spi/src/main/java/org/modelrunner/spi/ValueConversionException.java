package org.modelrunner.spi;

/**
 * Thrown when a Java value cannot be encoded as a {@link Variant}, or a variant cannot be decoded
 * into the requested Java type. The message says which value or type, and why.
 */
public class ValueConversionException extends RuntimeException {
  /** Creates the exception with a message that says what could not be converted and why. */
  public ValueConversionException(String message) {
    super(message);
  }

  /** Creates the exception with a message and the underlying cause. */
  public ValueConversionException(String message, Throwable cause) {
    super(message, cause);
  }
}
