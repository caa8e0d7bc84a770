package org.modelrunner.transport.grpc;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.TransportProvider;
import org.modelrunner.spi.TransportSettings;

/**
 * The {@link TransportProvider} of {@code grpc://host:port} endpoints (an IPv6 literal goes in
 * brackets: {@code grpc://[::1]:50051}): runners that speak the Python ecosystem's protocol, such
 * as this module's {@code GrpcRunner} or the Python model runner. Registered in {@code
 * META-INF/services/org.modelrunner.spi.TransportProvider}, so a client finds it on the class path
 * with {@link java.util.ServiceLoader}.
 *
 * <p>grpc-java is an optional dependency of a coordinator: this class refers to none of its types,
 * so it loads (and {@link java.util.ServiceLoader} can list it) without grpc-java, protobuf or
 * Caffeine on the class path; {@link #isAvailable()} then answers {@code false} and {@link
 * #unavailableReason()} names what is missing.
 *
 * <p>What a transport does:
 *
 * <ul>
 *   <li>{@link ModelTransport#prepare} builds a call's request message once, for every model of a
 *       fan-out, and refuses one over {@link TransportSettings#maxMessageBytes()} ({@code
 *       MESSAGE_TOO_LARGE});
 *   <li>one channel (one HTTP/2 connection) per endpoint, shared by every connection of the
 *       transport to that endpoint, plus a second channel for health checks, so that a slow call
 *       never delays the check that tells a slow runner from a dead one; a channel unused for 10
 *       minutes is shut down (gracefully: calls still running finish) and opened again on the next
 *       request;
 *   <li>every request has a deadline (setup and reset too); a request waits for a runner that is
 *       still starting, but never past its deadline; when the deadline passes because the endpoint
 *       could not be reached, the request fails {@code UNAVAILABLE} with the connection error (such
 *       as {@code Connection refused}) rather than a bare timeout;
 *   <li>futures complete on the transport's own threads, never block, and requests are never queued
 *       or retried by the transport; closing a connection fails its requests {@code CANCELLED};
 *       closing the transport shuts down its channels and ends every thread it started.
 * </ul>
 */
public final class GrpcTransportProvider extends TransportProvider {
  /** The URI scheme this provider serves. */
  public static final String SCHEME = "grpc";

  /** Classes the transport needs, by the artifact that brings them. */
  private static final String[][] REQUIRED_CLASSES = {
    {"io.grpc.ManagedChannel", "io.grpc:grpc-api"},
    {"io.grpc.stub.ClientCalls", "io.grpc:grpc-stub"},
    {"io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder", "io.grpc:grpc-netty-shaded"},
    {"io.grpc.protobuf.ProtoUtils", "io.grpc:grpc-protobuf"},
    {"io.grpc.health.v1.HealthGrpc", "io.grpc:grpc-services"},
    {"com.google.protobuf.Message", "com.google.protobuf:protobuf-java"},
    {"com.github.benmanes.caffeine.cache.Caffeine", "com.github.ben-manes.caffeine:caffeine"},
  };

  /** The artifacts whose classes are missing; computed once, on first use. */
  private static final class Missing {
    static final List<String> ARTIFACTS = find();

    private static List<String> find() {
      ClassLoader loader = GrpcTransportProvider.class.getClassLoader();
      List<String> missing = new ArrayList<>();
      for (String[] required : REQUIRED_CLASSES) {
        try {
          Class.forName(required[0], false, loader);
        } catch (ClassNotFoundException | LinkageError e) {
          missing.add(required[1] + " (" + required[0] + ")");
        }
      }
      return List.copyOf(missing);
    }
  }

  /** Creates the provider (used by {@link java.util.ServiceLoader}); never throws. */
  public GrpcTransportProvider() {}

  /** Returns {@code {"grpc"}}. */
  @Override
  public Set<String> schemes() {
    return Set.of(SCHEME);
  }

  /**
   * Returns whether grpc-java (with netty-shaded, protobuf and Caffeine) can be loaded. Never
   * throws.
   */
  @Override
  public boolean isAvailable() {
    try {
      return Missing.ARTIFACTS.isEmpty();
    } catch (LinkageError e) {
      return false;
    }
  }

  @Override
  public String unavailableReason() {
    List<String> missing;
    try {
      missing = Missing.ARTIFACTS;
    } catch (LinkageError e) {
      return "the gRPC transport cannot check its dependencies: " + e;
    }
    if (missing.isEmpty()) {
      return "available";
    }
    return "the gRPC transport needs grpc-java on the class path; missing: "
        + String.join(", ", missing);
  }

  /**
   * Creates a transport: its message size limit applies to requests (checked when they are
   * prepared) and responses. Close it when done: it holds event loop and callback threads while
   * open.
   *
   * @throws NullPointerException if {@code settings} is null
   * @throws IllegalStateException if grpc-java is not on the class path ({@link #isAvailable()} is
   *     false)
   */
  @Override
  public ModelTransport create(TransportSettings settings) {
    Objects.requireNonNull(settings, "settings");
    if (!isAvailable()) {
      throw new IllegalStateException("Cannot create a gRPC transport: " + unavailableReason());
    }
    return new GrpcTransport(settings);
  }

  @Override
  public String toString() {
    return "GrpcTransportProvider{schemes=[grpc]}";
  }
}
