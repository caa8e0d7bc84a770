package org.modelrunner.spi;

import java.util.Objects;

/**
 * A positional argument: its position and its value (the protocol's {@code commons.Argument}).
 *
 * <p>Only the relative order of positions matters; clients send 1-based positions and gaps are
 * allowed. The position is the protocol's {@code uint32}: it is compared as an unsigned integer.
 *
 * @param position the position, an unsigned 32-bit integer
 * @param value the value
 */
public record Argument(int position, Variant value) {
  /**
   * Creates the argument.
   *
   * @throws NullPointerException if {@code value} is null
   */
  public Argument {
    Objects.requireNonNull(value, "value");
  }
}
