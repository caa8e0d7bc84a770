package org.modelrunner.transport.grpc;

import io.grpc.CallCredentials;
import io.grpc.ClientInterceptor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
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
 * <p>grpc-java is an optional dependency of a coordinator: this class refers to none of its types
 * (its {@link Builder}, loaded only when used, does), so it loads (and {@link
 * java.util.ServiceLoader} can list it) without grpc-java, protobuf or Caffeine on the class path;
 * {@link #isAvailable()} then answers {@code false} and {@link #unavailableReason()} names what is
 * missing.
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
 *       closing the transport shuts down its channels and ends every thread it started;
 *   <li>channels are plaintext unless {@link #builder()} says otherwise: TLS, the Python
 *       ecosystem's secure mode ({@link SecureCredentials}) or gateway authentication ({@link
 *       GatewayCredentials}), and one's own interceptors and call credentials.
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

  /** How channels are secured; null for plaintext (no grpc-java type loaded until needed). */
  private final ClientSecurity security;

  /**
   * Creates the provider of plaintext transports (used by {@link java.util.ServiceLoader}); never
   * throws.
   */
  public GrpcTransportProvider() {
    this.security = null;
  }

  private GrpcTransportProvider(ClientSecurity security) {
    this.security = security;
  }

  /**
   * Returns a builder of a provider whose transports are secured: TLS, the Python ecosystem's
   * secure mode or gateway authentication, and the user's own interceptors and call credentials.
   * Give the provider to a fleet with {@code ModelFleet.Builder#transport}, or create transports
   * with {@link #create}.
   */
  public static Builder builder() {
    return new Builder();
  }

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
    return new GrpcTransport(settings, security == null ? ClientSecurity.PLAINTEXT : security);
  }

  @Override
  public String toString() {
    return "GrpcTransportProvider{schemes=[grpc], "
        + (security == null ? "plaintext" : security)
        + "}";
  }

  /**
   * Configures how a gRPC transport's channels are secured. Without any setting, channels are
   * plaintext, as the default provider's. The modes:
   *
   * <ul>
   *   <li>{@linkplain #tls() TLS}, trusting the platform's authorities or {@linkplain
   *       #trustedCertificates a CA bundle}, optionally {@linkplain #clientCertificate presenting a
   *       client certificate}: for runners that serve TLS themselves ({@code --tls-certificate});
   *   <li>{@linkplain #secureCredentials secure mode}, the Python ecosystem's mutual TLS with the
   *       runner's signed identity checked on every answer (see {@link SecureCredentials});
   *   <li>{@linkplain #gatewayCredentials gateway authentication}: TLS to a gateway, a signed token
   *       on every request (see {@link GatewayCredentials}).
   * </ul>
   *
   * Secure mode and gateway authentication exclude each other, and secure mode brings its own
   * trust: {@link #build()} refuses those combinations.
   */
  public static final class Builder {
    private SecureCredentials secure;
    private GatewayCredentials gateway;
    private boolean tls;
    private List<X509Certificate> trusted;
    private PrivateKey clientKey;
    private List<X509Certificate> clientChain;
    private final List<ClientInterceptor> interceptors = new ArrayList<>();
    private CallCredentials callCredentials;

    private Builder() {}

    /**
     * Speaks TLS, trusting the platform's certificate authorities (the JDK's trust store), or the
     * PEM file named by the environment variable {@code GRPC_DEFAULT_SSL_ROOTS_FILE_PATH} when it
     * is set, as gRPC's own default. The runner's certificate must name the endpoint's host.
     */
    public Builder tls() {
      this.tls = true;
      return this;
    }

    /**
     * Speaks TLS, trusting only the authorities of a PEM bundle (one or more certificates).
     *
     * @throws IllegalArgumentException if the file holds no certificate
     * @throws UncheckedIOException if it cannot be read
     */
    public Builder trustedCertificates(Path caBundle) {
      Objects.requireNonNull(caBundle, "caBundle");
      this.trusted = readCertificates(caBundle);
      this.tls = true;
      return this;
    }

    /**
     * Speaks TLS and presents this client certificate (PEM, leaf first) with its unencrypted PEM
     * key (PKCS#8 or PKCS#1), for runners that require client certificates.
     *
     * @throws IllegalArgumentException if a file does not parse or the key is not the certificate's
     * @throws UncheckedIOException if a file cannot be read
     */
    public Builder clientCertificate(Path certificateChain, Path key) {
      Objects.requireNonNull(certificateChain, "certificateChain");
      Objects.requireNonNull(key, "key");
      List<X509Certificate> chain = readCertificates(certificateChain);
      PrivateKey privateKey;
      try {
        privateKey = Pem.privateKey(key);
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot read " + key, e);
      }
      if (!Pem.isKeyOf(privateKey, chain.get(0))) {
        throw new IllegalArgumentException(
            key + " is not the key of the certificate in " + certificateChain);
      }
      this.clientChain = chain;
      this.clientKey = privateKey;
      this.tls = true;
      return this;
    }

    /**
     * Connects to runners in the Python ecosystem's secure mode with these credentials (see {@link
     * SecureCredentials}). Connections need the model's id and infos: a fleet gives them; {@link
     * org.modelrunner.spi.ModelTransport#connect(java.net.URI)} without them is refused.
     */
    public Builder secureCredentials(SecureCredentials credentials) {
      this.secure = Objects.requireNonNull(credentials, "credentials");
      return this;
    }

    /**
     * Authenticates to a gateway with a signed token on every request (see {@link
     * GatewayCredentials}); speaks TLS, trusting the platform's authorities unless {@link
     * #trustedCertificates} says otherwise.
     */
    public Builder gatewayCredentials(GatewayCredentials credentials) {
      this.gateway = Objects.requireNonNull(credentials, "credentials");
      return this;
    }

    /**
     * Adds an interceptor to every request's channel (calls and health checks), for authentication,
     * tracing or metadata of one's own. Interceptors added later run first (as with grpc-java's
     * {@code ManagedChannelBuilder#intercept}); the transport's own (gateway tokens, secure mode's
     * check) run closest to the wire.
     */
    public Builder interceptor(ClientInterceptor interceptor) {
      interceptors.add(Objects.requireNonNull(interceptor, "interceptor"));
      return this;
    }

    /**
     * Attaches call credentials to every request (calls and health checks), such as a bearer token;
     * gRPC sends them only on channels secure enough for their own rules.
     */
    public Builder callCredentials(CallCredentials credentials) {
      this.callCredentials = Objects.requireNonNull(credentials, "credentials");
      return this;
    }

    /**
     * Returns the provider.
     *
     * @throws IllegalStateException if secure and gateway credentials were both given (the Python
     *     client's "secure_credentials and gateway_credentials are mutually exclusive"), or secure
     *     credentials with TLS settings (secure mode trusts its {@code ca.crt}, then the runner's
     *     own certificate)
     * @throws IllegalArgumentException if {@code GRPC_DEFAULT_SSL_ROOTS_FILE_PATH} names a file
     *     that holds no certificate
     */
    public GrpcTransportProvider build() {
      if (secure != null && gateway != null) {
        throw new IllegalStateException(
            "secure credentials and gateway credentials are mutually exclusive: a runner is"
                + " either in secure mode or behind a gateway");
      }
      if (secure != null && tls) {
        throw new IllegalStateException(
            "secure credentials bring their own trust (ca.crt, then the runner's certificate) and"
                + " client certificate (tls.crt): do not combine them with tls(),"
                + " trustedCertificates() or clientCertificate()");
      }
      boolean useTls = tls || gateway != null;
      List<X509Certificate> trust = trusted;
      String roots = System.getenv("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH");
      if (useTls && trust == null && roots != null && !roots.isBlank()) {
        trust = readCertificates(Path.of(roots));
      }
      return new GrpcTransportProvider(
          new ClientSecurity(
              secure,
              gateway,
              useTls,
              trust,
              clientKey,
              clientChain,
              interceptors,
              callCredentials));
    }

    private static List<X509Certificate> readCertificates(Path file) {
      try {
        return Pem.certificates(file);
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot read " + file, e);
      }
    }
  }
}
