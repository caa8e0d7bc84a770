package org.modelrunner.transport.grpc;

import java.net.URI;
import java.util.Locale;
import java.util.Objects;

/**
 * The host and port of a {@code grpc://host:port} endpoint: the key of a transport's channels. The
 * host is kept in lower case and without the brackets of an IPv6 literal ({@code
 * grpc://[::1]:50051} is host {@code ::1}, port 50051), so that spellings of one endpoint share one
 * channel.
 *
 * @param host the host name or IP literal, without brackets
 * @param port the TCP port, from 1 to 65535
 */
record GrpcAddress(String host, int port) {
  GrpcAddress {
    Objects.requireNonNull(host, "host");
  }

  /**
   * Parses an endpoint.
   *
   * @throws IllegalArgumentException if the scheme is not {@code grpc}, or the URI is not {@code
   *     grpc://host:port} (no host, no port or one out of range, user information, a path, a query
   *     or a fragment)
   * @throws NullPointerException if {@code endpoint} is null
   */
  static GrpcAddress parse(URI endpoint) {
    Objects.requireNonNull(endpoint, "endpoint");
    String scheme = endpoint.getScheme();
    if (scheme == null || !scheme.equalsIgnoreCase(GrpcTransportProvider.SCHEME)) {
      throw new IllegalArgumentException(
          "The gRPC transport serves grpc://host:port endpoints, not " + endpoint);
    }
    if (endpoint.isOpaque()) {
      throw malformed(endpoint, "it has no //host:port");
    }
    String host = endpoint.getHost();
    if (host == null || host.isEmpty()) {
      throw malformed(
          endpoint,
          endpoint.getRawAuthority() == null
              ? "it has no host"
              : "'" + endpoint.getRawAuthority() + "' is not a valid host:port");
    }
    int port = endpoint.getPort();
    if (port == -1) {
      throw malformed(endpoint, "it has no port");
    }
    if (port < 1 || port > 65535) {
      throw malformed(endpoint, "port " + port + " is out of range");
    }
    if (endpoint.getRawUserInfo() != null) {
      throw malformed(endpoint, "it has user information");
    }
    String path = endpoint.getRawPath();
    if (path != null && !path.isEmpty() && !path.equals("/")) {
      throw malformed(endpoint, "it has a path");
    }
    if (endpoint.getRawQuery() != null || endpoint.getRawFragment() != null) {
      throw malformed(endpoint, "it has a query or a fragment");
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    return new GrpcAddress(host.toLowerCase(Locale.ROOT), port);
  }

  private static IllegalArgumentException malformed(URI endpoint, String why) {
    return new IllegalArgumentException(
        "Malformed gRPC endpoint "
            + endpoint
            + ": "
            + why
            + " (expected grpc://host:port, with an IPv6"
            + " literal in brackets: grpc://[::1]:50051)");
  }

  /** Returns whether the host is an IPv6 literal. */
  boolean isIpv6Literal() {
    return host.indexOf(':') >= 0;
  }

  /** Returns {@code host:port}, with an IPv6 literal in brackets. */
  String authority() {
    return isIpv6Literal() ? "[" + host + "]:" + port : host + ":" + port;
  }

  @Override
  public String toString() {
    return authority();
  }
}
