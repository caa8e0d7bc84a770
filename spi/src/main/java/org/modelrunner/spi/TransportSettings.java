package org.modelrunner.spi;

/**
 * Settings every transport honours. Immutable; start from {@link #defaults()}.
 */
public final class TransportSettings {
  /** The default message size limit, both ways: 64 MiB, as the Python runner. */
  public static final int DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

  private static final TransportSettings DEFAULTS = new TransportSettings(DEFAULT_MAX_MESSAGE_BYTES);

  private final int maxMessageBytes;

  private TransportSettings(int maxMessageBytes) {
    this.maxMessageBytes = maxMessageBytes;
  }

  /** Returns the default settings. */
  public static TransportSettings defaults() {
    return DEFAULTS;
  }

  /**
   * Returns these settings with another message size limit, applied to requests and responses.
   *
   * @throws IllegalArgumentException if {@code bytes} is not positive
   */
  public TransportSettings withMaxMessageBytes(int bytes) {
    if (bytes <= 0) {
      throw new IllegalArgumentException("maxMessageBytes must be positive, got " + bytes);
    }
    return new TransportSettings(bytes);
  }

  /** Returns the largest request or response, in bytes, this transport sends or accepts. */
  public int maxMessageBytes() {
    return maxMessageBytes;
  }

  @Override
  public String toString() {
    return "TransportSettings{maxMessageBytes=" + maxMessageBytes + "}";
  }
}
