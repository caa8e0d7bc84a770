package org.modelrunner.spi;

import java.util.Objects;

/**
 * A keyword argument: a parameter name and its value (the protocol's {@code commons.KwArgument}).
 *
 * @param keyword the name of the parameter it is meant for
 * @param value the value
 */
public record KeywordArgument(String keyword, Variant value) {
  /**
   * Creates the argument.
   *
   * @throws NullPointerException if an argument is null
   */
  public KeywordArgument {
    Objects.requireNonNull(keyword, "keyword");
    Objects.requireNonNull(value, "value");
  }
}
