package org.modelrunner.spi;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings every transport honours. Immutable; start from {@link #defaults()} and change with the
 * {@code with…} methods.
 *
 * <p>The connection settings (keepalive, reconnect backoff, connect timeout) apply to network
 * transports (gRPC); the in-process transport has no connection and ignores them. Their defaults
 * are the Python client's: a keepalive ping every 300 s while calls are running, acknowledged
 * within 500 ms; a reconnect backoff from 100 ms up to 1 s; 10 s for one connection attempt.
 */
public final class TransportSettings {
  /** The default message size limit, both ways: 64 MiB, as the Python runner. */
  public static final int DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

  private static final TransportSettings DEFAULTS =
      new TransportSettings(
          DEFAULT_MAX_MESSAGE_BYTES,
          Duration.ofSeconds(300),
          Duration.ofMillis(500),
          false,
          Duration.ofMillis(100),
          Duration.ofSeconds(1),
          Duration.ofSeconds(10));

  private final int maxMessageBytes;
  private final Duration keepAliveTime;
  private final Duration keepAliveTimeout;
  private final boolean keepAliveWithoutCalls;
  private final Duration initialReconnectBackoff;
  private final Duration maxReconnectBackoff;
  private final Duration connectTimeout;

  private TransportSettings(
      int maxMessageBytes,
      Duration keepAliveTime,
      Duration keepAliveTimeout,
      boolean keepAliveWithoutCalls,
      Duration initialReconnectBackoff,
      Duration maxReconnectBackoff,
      Duration connectTimeout) {
    this.maxMessageBytes = maxMessageBytes;
    this.keepAliveTime = keepAliveTime;
    this.keepAliveTimeout = keepAliveTimeout;
    this.keepAliveWithoutCalls = keepAliveWithoutCalls;
    this.initialReconnectBackoff = initialReconnectBackoff;
    this.maxReconnectBackoff = maxReconnectBackoff;
    this.connectTimeout = connectTimeout;
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
    return new TransportSettings(
        bytes,
        keepAliveTime,
        keepAliveTimeout,
        keepAliveWithoutCalls,
        initialReconnectBackoff,
        maxReconnectBackoff,
        connectTimeout);
  }

  /**
   * Returns these settings with another keepalive: a ping after {@code time} without traffic, a
   * connection closed when a ping is not acknowledged within {@code timeout}, and pings only while
   * calls are running unless {@code withoutCalls}. Defaults: 300 s, 500 ms, false (the Python
   * client's). gRPC sends no ping more often than every 10 s, whatever {@code time} says.
   *
   * @throws IllegalArgumentException if a duration is not positive
   */
  public TransportSettings withKeepAlive(Duration time, Duration timeout, boolean withoutCalls) {
    return new TransportSettings(
        maxMessageBytes,
        positive(time, "keepAlive time"),
        positive(timeout, "keepAlive timeout"),
        withoutCalls,
        initialReconnectBackoff,
        maxReconnectBackoff,
        connectTimeout);
  }

  /**
   * Returns these settings with another reconnect backoff: after a failed connection attempt the
   * next one starts after {@code initial}, doubled after each failure up to {@code max}. Defaults:
   * 100 ms and 1 s (the Python client's).
   *
   * @throws IllegalArgumentException if a duration is not positive or {@code max < initial}
   */
  public TransportSettings withReconnectBackoff(Duration initial, Duration max) {
    positive(initial, "initial reconnect backoff");
    positive(max, "maximum reconnect backoff");
    if (max.compareTo(initial) < 0) {
      throw new IllegalArgumentException(
          "The maximum reconnect backoff ("
              + max
              + ") must be at least the initial one ("
              + initial
              + ")");
    }
    return new TransportSettings(
        maxMessageBytes,
        keepAliveTime,
        keepAliveTimeout,
        keepAliveWithoutCalls,
        initial,
        max,
        connectTimeout);
  }

  /**
   * Returns these settings with another bound on one connection attempt. Default: 10 s (the Python
   * client's).
   *
   * @throws IllegalArgumentException if not positive
   */
  public TransportSettings withConnectTimeout(Duration timeout) {
    return new TransportSettings(
        maxMessageBytes,
        keepAliveTime,
        keepAliveTimeout,
        keepAliveWithoutCalls,
        initialReconnectBackoff,
        maxReconnectBackoff,
        positive(timeout, "connect timeout"));
  }

  /** Returns the largest request or response, in bytes, this transport sends or accepts. */
  public int maxMessageBytes() {
    return maxMessageBytes;
  }

  /** Returns how long a connection is quiet before a keepalive ping. */
  public Duration keepAliveTime() {
    return keepAliveTime;
  }

  /** Returns how long a keepalive ping may go unacknowledged before the connection is closed. */
  public Duration keepAliveTimeout() {
    return keepAliveTimeout;
  }

  /** Returns whether keepalive pings are sent while no call is running. */
  public boolean keepAliveWithoutCalls() {
    return keepAliveWithoutCalls;
  }

  /** Returns the delay before the second connection attempt after a failure. */
  public Duration initialReconnectBackoff() {
    return initialReconnectBackoff;
  }

  /** Returns the longest delay between two connection attempts. */
  public Duration maxReconnectBackoff() {
    return maxReconnectBackoff;
  }

  /** Returns how long one connection attempt may take. */
  public Duration connectTimeout() {
    return connectTimeout;
  }

  private static Duration positive(Duration duration, String what) {
    Objects.requireNonNull(duration, what);
    if (duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException(what + " must be positive, got " + duration);
    }
    return duration;
  }

  @Override
  public String toString() {
    return "TransportSettings{maxMessageBytes="
        + maxMessageBytes
        + ", keepAlive="
        + keepAliveTime
        + "/"
        + keepAliveTimeout
        + (keepAliveWithoutCalls ? " without calls" : "")
        + ", reconnectBackoff="
        + initialReconnectBackoff
        + ".."
        + maxReconnectBackoff
        + ", connectTimeout="
        + connectTimeout
        + "}";
  }
}
