package org.modelrunner.spi;

/**
 * The application outcomes a runner reports in {@code Status.code} (PROTOCOL §1.4). The wire
 * carries the enum constant's name as a string.
 */
public enum StatusCode {
  /** The setup, call or reset succeeded. */
  SUCCESS,
  /** The request was malformed: empty class name or empty method name. */
  INVALID_ARGUMENT,
  /** A call arrived before setup. */
  FAILED_PRECONDITION,
  /** The submission does not implement the base class as required, or has no such method. */
  BAD_IMPLEMENTATION,
  /** Setup failed: malformed class name, constructor threw, argument undecodable. */
  SETUP_FAILED,
  /** The model threw, an argument could not be decoded, or the result could not be encoded. */
  MODEL_FAILED
}
