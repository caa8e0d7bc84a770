package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.CallCredentials;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.TransportSettings;

/**
 * Plain TLS, for coordinators outside the Python ecosystem: our runner serving TLS and requiring
 * client certificates from an authority, our client trusting a CA bundle and presenting its
 * certificate; and the hooks on both sides (the client's interceptors and call credentials, the
 * runner's interceptors), end to end on 127.0.0.1 with certificates made at test time.
 */
@Timeout(60)
class PlainTlsTest {
  static final Metadata.Key<String> USER =
      Metadata.Key.of("x-user", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  @TempDir static Path temp;

  private static GrpcRunner runner;
  private static Path serverAuthority;
  private static Path client;
  private static final List<String> seen = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void startRunner() throws IOException {
    TestCertificates.Authority servers = TestCertificates.authority("servers");
    TestCertificates.Authority clients = TestCertificates.authority("clients");
    serverAuthority = servers.write(temp).getParent();
    Path clientAuthority = clients.write(temp.resolve("clients-ca")).getParent();
    Path leaf = TestCertificates.leaf(servers, temp.resolve("runner"), true);
    client = TestCertificates.leaf(clients, temp.resolve("client"), false);
    ServerInterceptor recorder =
        new ServerInterceptor() {
          @Override
          public <Q, R> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            seen.add(
                call.getMethodDescriptor().getBareMethodName()
                    + " "
                    + headers.get(USER)
                    + " "
                    + headers.get(AUTHORIZATION));
            return next.startCall(call, headers);
          }
        };
    runner =
        RunnerModels.runner()
            .tls(leaf.resolve("tls.crt"), leaf.resolve("tls.key"))
            .tlsClientAuthority(clientAuthority.resolve("ca.crt"))
            .interceptor(recorder)
            .build()
            .start();
  }

  @AfterAll
  static void stopRunner() {
    if (runner != null) {
      runner.close();
    }
  }

  @Test
  void aClientThatTrustsTheAuthorityAndPresentsItsCertificateIsServedWithItsOwnMetadata()
      throws Exception {
    seen.clear();
    ClientInterceptor user =
        new ClientInterceptor() {
          @Override
          public <Q, R> ClientCall<Q, R> interceptCall(
              MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
            return new ForwardingClientCall.SimpleForwardingClientCall<>(
                next.newCall(method, options)) {
              @Override
              public void start(Listener<R> listener, Metadata headers) {
                headers.put(USER, "alice");
                super.start(listener, headers);
              }
            };
          }
        };
    CallCredentials bearer =
        new CallCredentials() {
          @Override
          public void applyRequestMetadata(
              RequestInfo info, Executor executor, MetadataApplier applier) {
            Metadata headers = new Metadata();
            headers.put(AUTHORIZATION, "Bearer t0ken");
            applier.apply(headers);
          }
        };
    GrpcTransportProvider provider =
        GrpcTransportProvider.builder()
            .trustedCertificates(serverAuthority.resolve("ca.crt"))
            .clientCertificate(client.resolve("tls.crt"), client.resolve("tls.key"))
            .interceptor(user)
            .callCredentials(bearer)
            .build();
    try (ModelTransport transport = provider.create(TransportSettings.defaults());
        ModelConnection connection = transport.connect(runner.endpoint())) {
      assertThat(connection.checkHealth(Duration.ofSeconds(10)).get(20, TimeUnit.SECONDS))
          .isEqualTo(HealthStatus.SERVING);
      Reply setup =
          connection
              .setup(RunnerModels.BASE, Arguments.none(), Duration.ofSeconds(10))
              .get(20, TimeUnit.SECONDS);
      assertThat(setup.status().isSuccess()).as(setup.toString()).isTrue();
      Reply answer =
          connection
              .call(transport.prepare("answer", Arguments.none()), Duration.ofSeconds(10))
              .get(20, TimeUnit.SECONDS);
      assertThat(answer.status().isSuccess()).isTrue();
    }
    assertThat(seen)
        .containsExactly(
            "Check alice Bearer t0ken", "Setup alice Bearer t0ken", "Call alice Bearer t0ken");
  }

  @Test
  void aClientWithoutACertificateCannotConnect() throws Exception {
    assertUnavailable(
        GrpcTransportProvider.builder()
            .trustedCertificates(serverAuthority.resolve("ca.crt"))
            .build());
  }

  @Test
  void aClientThatTrustsAnotherAuthorityCannotConnect() throws Exception {
    assertUnavailable(
        GrpcTransportProvider.builder()
            .trustedCertificates(temp.resolve("clients-ca").resolve("ca.crt"))
            .clientCertificate(client.resolve("tls.crt"), client.resolve("tls.key"))
            .build());
  }

  @Test
  void aPlaintextClientIsToldTheRunnerSpeaksTls() throws Exception {
    try (ModelTransport transport =
            new GrpcTransportProvider().create(TransportSettings.defaults());
        ModelConnection connection = transport.connect(runner.endpoint())) {
      assertThatThrownBy(
              () -> connection.checkHealth(Duration.ofSeconds(5)).get(20, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .cause()
          .isInstanceOf(TransportException.class)
          .hasMessageContaining("CREDENTIALS_REQUIRED")
          .extracting(error -> ((TransportException) error).kind())
          .isEqualTo(TransportException.Kind.CREDENTIALS_REQUIRED);
    }
  }

  private static void assertUnavailable(GrpcTransportProvider provider) {
    try (ModelTransport transport = provider.create(TransportSettings.defaults());
        ModelConnection connection = transport.connect(runner.endpoint())) {
      assertThatThrownBy(
              () -> connection.checkHealth(Duration.ofSeconds(5)).get(20, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .cause()
          .isInstanceOf(TransportException.class)
          .extracting(error -> ((TransportException) error).kind())
          .isEqualTo(TransportException.Kind.UNAVAILABLE);
    }
  }
}
