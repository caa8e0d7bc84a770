package org.modelrunner.transport.grpc;

/** Reading and writing the message sizes of the runner's options. */
final class Sizes {
  private Sizes() {}

  /**
   * Parses a message size limit in bytes, as the Python runner's environment variables: a positive
   * number, or -1 for no limit ({@link Integer#MAX_VALUE}).
   *
   * @throws IllegalArgumentException if it is not a whole number, is 0 or below -1, or is too large
   */
  static int parse(String text) {
    long value;
    try {
      value = Long.parseLong(text.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + text + "' is not a number of bytes", e);
    }
    if (value == -1) {
      return Integer.MAX_VALUE;
    }
    if (value <= 0) {
      throw new IllegalArgumentException(
          "'" + text + "' must be a positive number of bytes, or -1 for no limit");
    }
    if (value > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "'" + text + "' is over the largest limit, " + Integer.MAX_VALUE + " bytes");
    }
    return (int) value;
  }

  /** Returns the size for humans: {@code 64 MiB}, {@code 1536 bytes}, {@code unlimited}. */
  static String describe(int bytes) {
    if (bytes == Integer.MAX_VALUE) {
      return "unlimited";
    }
    if (bytes >= 1 << 20 && bytes % (1 << 20) == 0) {
      return (bytes >> 20) + " MiB";
    }
    if (bytes >= 1 << 10 && bytes % (1 << 10) == 0) {
      return (bytes >> 10) + " KiB";
    }
    return bytes + " bytes";
  }
}
