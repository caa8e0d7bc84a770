package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.modelrunner.transport.grpc.RunnerClient.assertStatus;
import static org.modelrunner.transport.grpc.RunnerModels.BASE;

import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Level;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.modelrunner.loader.HostedModel;
import org.modelrunner.loader.RunnerCore;
import org.modelrunner.loader.Submission;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.Variant;
import org.modelrunner.testsupport.LogCapture;
import org.modelrunner.transport.grpc.proto.CallResponse;

/**
 * Building, starting and stopping runners, their endpoints, and what a submission sees of the host.
 */
class GrpcRunnerLifecycleTest {
  static final String API_BASE = "com.example.api.Base";

  @TempDir static Path shared;

  /**
   * A coordinator's API jar: {@code com.example.api.Base}, which uses the shared API ({@code
   * Variant}).
   */
  static Path apiJar;

  /** A submission implementing {@code com.example.api.Base}, compiled against the API jar. */
  static Path isolated;

  @BeforeAll
  static void compile() throws IOException {
    apiJar =
        RunnerSources.create()
            .add(
                API_BASE,
"""
                package com.example.api;
                import org.modelrunner.spi.Variant;
import org.modelrunner.testsupport.LogCapture;
                public abstract class Base {
                  public abstract String kind();
                  public Variant wrapped() { return Variant.ofString("wrapped " + kind()); }
                }
                """)
            .jarTo(shared.resolve("api/lib/tracker-api.jar"));
    isolated =
        RunnerSources.create()
            .classPath(apiJar)
            .add(
                "com.example.iso.Model",
                """
                package com.example.iso;
                public class Model extends com.example.api.Base {
                  public String kind() { return "iso"; }
                  public boolean sees(String name) {
                    try {
                      Class.forName(name, false, Model.class.getClassLoader());
                      return true;
                    } catch (ClassNotFoundException | LinkageError e) {
                      return false;
                    }
                  }
                }
                """)
            .compileTo(shared.resolve("iso"));
  }

  @Test
  void theBuilderNeedsExactlyOneSubmission() {
    assertThatThrownBy(() -> GrpcRunner.builder().build())
        .isInstanceOf(IllegalStateException.class);
    try (HostedModel model = HostedModel.open(RunnerModels.submission())) {
      assertThatThrownBy(
              () -> GrpcRunner.builder().model(model).submission(RunnerModels.submission()).build())
          .isInstanceOf(IllegalStateException.class);
      assertThatThrownBy(() -> GrpcRunner.builder().model(model).hostClassPath(apiJar).build())
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("hostClassPath");
    }
  }

  @Test
  void theBuilderRefusesWhatCannotWork(@TempDir Path empty) {
    assertThatThrownBy(() -> GrpcRunner.builder().submission(empty.resolve("missing")).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("does not exist");
    assertThatThrownBy(() -> GrpcRunner.builder().submission(empty).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no jar and no class file");
    assertThatThrownBy(
            () ->
                GrpcRunner.builder()
                    .submission(RunnerModels.submission())
                    .hostClassPath(empty.resolve("nope.jar"))
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nope.jar");
    assertThatThrownBy(() -> GrpcRunner.builder().port(65536))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> GrpcRunner.builder().port(-1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> GrpcRunner.builder().host(" "))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> GrpcRunner.builder().maxSendMessageBytes(0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> GrpcRunner.builder().maxReceiveMessageBytes(-1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> GrpcRunner.builder().callTimeLimit(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> GrpcRunner.builder().setupTimeLimit(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("The setup time limit must not be negative, got PT-1S");
    assertThatThrownBy(() -> GrpcRunner.builder().shutdownGrace(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "50051",
        "host",
        "[::1]50051",
        "[::1",
        "::1:50051",
        "host:",
        "host:x",
        "host:70000",
        ":50051"
      })
  void malformedAddressesAreRefused(String address) {
    assertThatThrownBy(() -> GrpcRunner.builder().address(address))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @ParameterizedTest
  @CsvSource({
    "127.0.0.1:0, 127.0.0.1",
    "localhost:0, localhost",
    "0.0.0.0:0, 127.0.0.1",
    "'[::]:0', localhost",
  })
  void theEndpointIsGrpcHostPort(String address, String endpointHost) throws Exception {
    GrpcRunner runner =
        GrpcRunner.builder().submission(RunnerModels.submission()).address(address).build().start();
    try {
      assertThat(runner.port()).isPositive();
      assertThat(runner.endpoint())
          .isEqualTo(URI.create("grpc://" + endpointHost + ":" + runner.port()));
      try (RunnerClient client = new RunnerClient(runner)) {
        assertStatus(client.setup(BASE).getStatus(), "SUCCESS", "Instance created successfully");
      }
    } finally {
      runner.close();
    }
  }

  @Test
  void anIpv6LiteralIsBracketedInTheEndpoint() throws Exception {
    GrpcRunner runner;
    try {
      runner =
          GrpcRunner.builder()
              .submission(RunnerModels.submission())
              .address("[::1]:0")
              .build()
              .start();
    } catch (IOException noIpv6) {
      return; // no IPv6 loopback here
    }
    try {
      assertThat(runner.endpoint()).isEqualTo(URI.create("grpc://[::1]:" + runner.port()));
    } finally {
      runner.close();
    }
  }

  @Test
  void portAndEndpointNeedAStartedRunnerAndStartIsOnce() throws Exception {
    GrpcRunner runner = RunnerModels.runner().build();
    assertThatThrownBy(runner::port).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(runner::endpoint).isInstanceOf(IllegalStateException.class);
    runner.start();
    try {
      assertThatThrownBy(runner::start).isInstanceOf(IllegalStateException.class);
      assertThat(runner.toString()).contains(String.valueOf(runner.port()));
    } finally {
      runner.close();
    }
    assertThat(runner.isTerminated()).isTrue();
    assertThatThrownBy(runner::start).isInstanceOf(IllegalStateException.class);
    runner.close(); // idempotent
  }

  @Test
  void aRunnerNeverStartedIsJustClosed() throws Exception {
    GrpcRunner runner = RunnerModels.runner().build();
    runner.close();
    assertThat(runner.isTerminated()).isTrue();
    runner.awaitTermination();
  }

  @Test
  void aPortInUseFailsStartAndTerminatesTheRunner() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
      GrpcRunner runner =
          RunnerModels.runner().address("127.0.0.1:" + taken.getLocalPort()).build();
      assertThatThrownBy(runner::start).isInstanceOf(IOException.class);
      assertThat(runner.isTerminated()).isTrue();
      assertThatThrownBy(runner::start).isInstanceOf(IllegalStateException.class);
    }
  }

  @Test
  void aGivenSubmissionOrModelStaysTheCallers() throws Exception {
    try (Submission submission = Submission.open(RunnerModels.submission())) {
      GrpcRunner runner =
          GrpcRunner.builder().submission(submission).address("127.0.0.1:0").build().start();
      try (RunnerClient client = new RunnerClient(runner)) {
        assertStatus(client.setup(BASE).getStatus(), "SUCCESS", "Instance created successfully");
      } finally {
        runner.close();
      }
      // The submission is still open: its class loader still loads classes.
      assertThat(submission.classLoader().loadClass("com.example.grpcrunner.Model")).isNotNull();
    }
    try (HostedModel model = HostedModel.open(RunnerModels.submission())) {
      GrpcRunner runner = GrpcRunner.builder().model(model).address("127.0.0.1:0").build().start();
      try (RunnerClient client = new RunnerClient(runner)) {
        assertStatus(client.setup(BASE).getStatus(), "SUCCESS", "Instance created successfully");
      } finally {
        runner.close();
      }
      assertThat(model.isSetUp()).isTrue();
      assertThat(runner.model()).isSameAs(model);
    }
  }

  @Test
  void anEmbeddedRunnersSubmissionSeesTheApplicationAndTheHostClassPath() throws Exception {
    GrpcRunner runner =
        GrpcRunner.builder()
            .submission(isolated)
            .hostClassPath(apiJar)
            .address("127.0.0.1:0")
            .build()
            .start();
    try (RunnerClient client = new RunnerClient(runner)) {
      assertStatus(client.setup(API_BASE).getStatus(), "SUCCESS", "Instance created successfully");
      assertThat(sees(client, "io.grpc.Server")).isTrue();
      assertThat(sees(client, "org.modelrunner.testsupport.Gate")).isTrue();
    } finally {
      runner.close();
    }
  }

  @Test
  void withoutTheApplicationASubmissionSeesOnlyTheJdkTheSharedApiAndTheHostClassPath()
      throws Exception {
    // A folder as host class path entry brings the jars beneath it.
    GrpcRunner runner =
        GrpcRunner.builder()
            .submission(isolated)
            .hostClassPath(apiJar.getParent().getParent())
            .applicationClassesVisible(false)
            .address("127.0.0.1:0")
            .build()
            .start();
    try (RunnerClient client = new RunnerClient(runner)) {
      assertStatus(client.setup(API_BASE).getStatus(), "SUCCESS", "Instance created successfully");
      assertThat(sees(client, "java.sql.Connection")).isTrue();
      assertThat(sees(client, "org.modelrunner.spi.Variant")).isTrue();
      assertThat(sees(client, "com.fasterxml.jackson.annotation.JsonProperty")).isTrue();
      assertThat(sees(client, API_BASE)).isTrue();
      assertThat(sees(client, "io.grpc.Server")).isFalse();
      assertThat(sees(client, "com.google.protobuf.Message")).isFalse();
      assertThat(sees(client, "com.fasterxml.jackson.databind.ObjectMapper")).isFalse();
      assertThat(sees(client, "org.apache.commons.cli.CommandLine")).isFalse();
      assertThat(sees(client, "org.modelrunner.transport.grpc.GrpcRunner")).isFalse();
      assertThat(sees(client, "org.modelrunner.loader.HostedModel")).isFalse();
      assertThat(sees(client, "org.modelrunner.testsupport.Gate")).isFalse();
      // The base class, loaded from the host class path, uses the host's shared API.
      CallResponse wrapped = client.call("wrapped");
      assertStatus(wrapped.getStatus(), "SUCCESS", "");
      assertThat(Protos.fromProto(wrapped.getMethodResponse()))
          .isEqualTo(Variant.ofString("wrapped iso"));
    } finally {
      runner.close();
    }
  }

  @Test
  void withoutTheApplicationNorAHostClassPathTheBaseClassIsNotFound() throws Exception {
    GrpcRunner runner =
        GrpcRunner.builder()
            .submission(RunnerModels.submission())
            .applicationClassesVisible(false)
            .address("127.0.0.1:0")
            .build()
            .start();
    try (RunnerClient client = new RunnerClient(runner)) {
      var status = client.setup(BASE).getStatus();
      assertThat(status.getCode()).isEqualTo("BAD_IMPLEMENTATION");
      assertThat(status.getMessage()).contains("cannot be loaded");
    } finally {
      runner.close();
    }
  }

  @Test
  void hostClassPathFoldersAreExpandedInSortedOrder(@TempDir Path dir) throws IOException {
    Files.createDirectories(dir.resolve("b"));
    Files.writeString(dir.resolve("b/z.jar"), "");
    Files.writeString(dir.resolve("a.jar"), "");
    Files.writeString(dir.resolve("notes.txt"), "");
    assertThat(HostClassPath.expand(java.util.List.of(dir)))
        .containsExactly(
            dir.toAbsolutePath().normalize(), dir.resolve("a.jar"), dir.resolve("b/z.jar"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"health", "setup"})
  void theWarmUpWaitsForTheFirstHealthAnswerOrSetup(String first) throws IOException {
    try (LogCapture warmed = warmUpLog();
        GrpcRunner runner =
            RunnerModels.runner().warmUp(true).warmUpDelay(Duration.ofMinutes(10)).build().start();
        RunnerClient client = new RunnerClient(runner)) {
      // Nothing asked yet: no warm-up running, none done (it would compete with the first answer).
      assertThat(warmUpThreads()).isZero();
      assertThat(warmed.messages()).noneMatch(message -> message.startsWith("Warmed up"));
      if (first.equals("health")) {
        assertThat(client.health("")).isEqualTo(ServingStatus.SERVING);
      } else {
        assertThat(client.setup(BASE).getStatus().getCode()).isEqualTo("SUCCESS");
      }
      awaitWarmedUp(warmed);
    }
  }

  @Test
  void aRunnerNobodyAsksWarmsUpAfterTheDelay() throws IOException {
    try (LogCapture warmed = warmUpLog();
        GrpcRunner unasked =
            RunnerModels.runner().warmUp(true).warmUpDelay(Duration.ofMillis(1)).build().start()) {
      awaitWarmedUp(warmed);
    }
  }

  @Test
  void theWarmUpRehearsesCallsWithoutTheSubmissionItsMetricsOrItsLog() throws IOException {
    List<RunnerCore.Request> ran = new CopyOnWriteArrayList<>();
    List<RunnerCore.Refusal> refused = new CopyOnWriteArrayList<>();
    RunnerCore.Observer observer =
        new RunnerCore.Observer() {
          @Override
          public void ran(RunnerCore.Request request, Reply reply, long nanos) {
            ran.add(request);
          }

          @Override
          public void refused(RunnerCore.Refusal refusal) {
            refused.add(refusal);
          }
        };
    GrpcRunner.forgetRehearsal(); // this runner's warm-up rehearses, whatever ran before it
    try (LogCapture warmed = warmUpLog();
        LogCapture requests = LogCapture.start(RunnerService.class.getName(), Level.FINEST);
        GrpcRunner runner =
            RunnerModels.runner()
                .observer(observer)
                .warmUp(true)
                .warmUpDelay(Duration.ofMillis(1))
                .build()
                .start();
        RunnerClient client = new RunnerClient(runner)) {
      awaitWarmedUp(warmed);
      assertThat(warmed.messages())
          .anyMatch(
              message -> message.matches("Warmed up in \\d+ ms \\([1-9]\\d* calls rehearsed\\)"));
      assertThat(ran).isEmpty();
      assertThat(refused).isEmpty();
      assertThat(requests.messages()).isEmpty();
      // The submission's model was neither set up nor claimed by the rehearsal, and a coordinator
      // cannot set up the rehearsal's: only the submission's classes are found.
      assertStatus(
          client.call("predict").getStatus(),
          "FAILED_PRECONDITION",
          "Setup has not been called yet");
      assertThat(client.setup(Rehearsal.Role.class.getName()).getStatus().getCode())
          .isEqualTo("BAD_IMPLEMENTATION");
      assertThat(client.setup(BASE).getStatus().getCode()).isEqualTo("SUCCESS");
      assertStatus(client.call("echo", Variant.ofString("real")).getStatus(), "SUCCESS", "");
      assertThat(ran)
          .containsExactly(
              RunnerCore.Request.CALL,
              RunnerCore.Request.SETUP,
              RunnerCore.Request.SETUP,
              RunnerCore.Request.CALL);
      assertThat(requests.messages()).anyMatch(message -> message.contains("Call echo"));
    }
  }

  /** Records the runner's log down to FINEST, where the warm-up says it is done. */
  private static LogCapture warmUpLog() {
    return LogCapture.start(GrpcRunner.class.getName(), Level.FINEST);
  }

  private static void awaitWarmedUp(LogCapture warmed) {
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> warmed.messages().stream().anyMatch(m -> m.startsWith("Warmed up")));
  }

  private static long warmUpThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(thread -> thread.getName().startsWith("modelrunner-grpc-warmup"))
        .count();
  }

  private static boolean sees(RunnerClient client, String className) {
    CallResponse response = client.call("sees", Variant.ofString(className));
    assertStatus(response.getStatus(), "SUCCESS", "");
    return Protos.fromProto(response.getMethodResponse()).asLong() != 0;
  }
}
