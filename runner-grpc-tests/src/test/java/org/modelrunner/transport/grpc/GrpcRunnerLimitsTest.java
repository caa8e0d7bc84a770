package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.modelrunner.transport.grpc.RunnerClient.assertStatus;
import static org.modelrunner.transport.grpc.RunnerClient.grpcError;
import static org.modelrunner.transport.grpc.RunnerModels.BASE;
import static org.modelrunner.transport.grpc.RunnerModels.PREFIX;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.MethodDescriptor;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.modelrunner.spi.Variant;
import org.modelrunner.transport.grpc.proto.Argument;
import org.modelrunner.transport.grpc.proto.CallRequest;
import org.modelrunner.transport.grpc.proto.CallResponse;
import org.modelrunner.transport.grpc.proto.KwArgument;
import org.modelrunner.transport.grpc.proto.SetupRequest;
import org.modelrunner.transport.grpc.proto.SetupResponse;

/**
 * Message size limits both ways and malformed requests: a precise answer, and the runner keeps
 * serving.
 */
class GrpcRunnerLimitsTest {
  private GrpcRunner runner;
  private RunnerClient client;

  @AfterEach
  void stop() throws Exception {
    if (client != null) {
      client.close();
    }
    if (runner != null) {
      runner.shutdown(Duration.ofSeconds(5));
    }
  }

  private void start(GrpcRunner.Builder builder) throws IOException {
    runner = builder.build().start();
    client = new RunnerClient(runner);
  }

  private void assertStillServing() {
    assertThat(client.health("")).isEqualTo(ServingStatus.SERVING);
    CallResponse answer = client.call("answer");
    assertStatus(answer.getStatus(), "SUCCESS", "");
    assertThat(Protos.fromProto(answer.getMethodResponse()).asLong()).isEqualTo(42);
  }

  @Test
  void theDefaultLimitsAre64MiB() throws IOException {
    start(RunnerModels.runner());
    client.setup(BASE);
    // A request of 8 MiB is accepted (grpc-java's own default would refuse anything over 4 MiB).
    String text = "y".repeat(8 << 20);
    CallResponse echoed = client.call("echo", Variant.ofString(text));
    assertStatus(echoed.getStatus(), "SUCCESS", "");
    assertThat(echoed.getMethodResponse().getValue().size()).isEqualTo(text.length());
  }

  @Test
  void aConnectionHasAtMostAHundredCallsOpenAndItsNextWaitsForOneToEnd() throws Exception {
    start(RunnerModels.runner());
    List<ClientCallStreamObserver<?>> watches = new CopyOnWriteArrayList<>();
    CountDownLatch watching = new CountDownLatch(GrpcRunner.MAX_CALLS_PER_CONNECTION);
    HealthGrpc.HealthStub health = HealthGrpc.newStub(client.channel);
    try {
      for (int i = 0; i < GrpcRunner.MAX_CALLS_PER_CONNECTION; i++) {
        health.watch(
            HealthCheckRequest.getDefaultInstance(),
            new ClientResponseObserver<HealthCheckRequest, HealthCheckResponse>() {
              @Override
              public void beforeStart(ClientCallStreamObserver<HealthCheckRequest> call) {
                watches.add(call);
              }

              @Override
              public void onNext(HealthCheckResponse value) {
                watching.countDown();
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {}
            });
      }
      assertThat(watching.await(10, TimeUnit.SECONDS)).isTrue();

      // A hundred streams open (each watch stays open): the next call waits for a free one.
      HealthGrpc.HealthBlockingStub check = HealthGrpc.newBlockingStub(client.channel);
      io.grpc.Status waited =
          grpcError(
              () ->
                  check
                      .withDeadlineAfter(500, TimeUnit.MILLISECONDS)
                      .check(HealthCheckRequest.getDefaultInstance()));
      assertThat(waited.getCode()).isEqualTo(io.grpc.Status.Code.DEADLINE_EXCEEDED);
      // Another connection is served meanwhile.
      try (RunnerClient other = new RunnerClient(runner)) {
        assertThat(other.health("")).isEqualTo(ServingStatus.SERVING);
      }

      // Once calls end, the connection takes new ones. (grpc-java's client may leave a call it
      // queued at the limit waiting: each check here has a deadline of its own.)
      watches.subList(0, 5).forEach(watch -> watch.cancel("done", null));
      await()
          .atMost(Duration.ofSeconds(10))
          .ignoreExceptions()
          .until(
              () ->
                  check
                          .withDeadlineAfter(500, TimeUnit.MILLISECONDS)
                          .check(HealthCheckRequest.getDefaultInstance())
                          .getStatus()
                      == ServingStatus.SERVING);
    } finally {
      watches.forEach(watch -> watch.cancel("done", null));
    }
  }

  @Test
  void aRequestOverTheReceiveLimitIsResourceExhaustedAndTheRunnerKeepsServing() throws IOException {
    start(RunnerModels.runner().maxReceiveMessageBytes(1024));
    client.setup(BASE);
    io.grpc.Status status =
        grpcError(() -> client.call("echo", Variant.ofString("z".repeat(2000))));
    assertThat(status.getCode()).isEqualTo(io.grpc.Status.Code.RESOURCE_EXHAUSTED);
    assertThat(status.getDescription()).doesNotContain("Server busy");
    assertStatus(client.call("echo", Variant.ofString("z".repeat(900))).getStatus(), "SUCCESS", "");
    assertStillServing();
  }

  @Test
  void aResponseOverTheSendLimitIsResourceExhaustedAndTheRunnerKeepsServing() throws IOException {
    start(RunnerModels.runner().maxSendMessageBytes(1024));
    client.setup(BASE);
    io.grpc.Status status = grpcError(() -> client.call("big", Variant.ofLong(2000)));
    assertThat(status.getCode()).isEqualTo(io.grpc.Status.Code.RESOURCE_EXHAUSTED);
    assertThat(status.getDescription())
        .matches("Sent message larger than max \\(20\\d\\d vs\\. 1024\\)");
    CallResponse small = client.call("big", Variant.ofLong(1000));
    assertStatus(small.getStatus(), "SUCCESS", "");
    assertThat(small.getSerializedSize()).isLessThanOrEqualTo(1024);
    assertStillServing();
  }

  @Test
  void anUnknownVariantTypeInACallIsAnsweredInStatusAfterThePreconditions() throws IOException {
    start(RunnerModels.runner());
    CallRequest malformed =
        CallRequest.newBuilder()
            .setMethodName("count")
            .addMethodArguments(
                Argument.newBuilder()
                    .setPosition(1)
                    .setData(
                        org.modelrunner.transport.grpc.proto.Variant.newBuilder()
                            .setTypeValue(42)
                            .setValue(ByteString.copyFromUtf8("?"))))
            .build();
    assertStatus(
        client.stub().call(malformed).getStatus(),
        "FAILED_PRECONDITION",
        "Setup has not been called yet");
    client.setup(BASE);
    assertStatus(
        client.stub().call(malformed.toBuilder().setMethodName("").build()).getStatus(),
        "INVALID_ARGUMENT",
        "methodName cannot be empty");
    CallResponse response = client.stub().call(malformed);
    assertStatus(
        response.getStatus(),
        "MODEL_FAILED",
        PREFIX + "Malformed argument: Unknown VariantType number: 42");
    assertThat(response.hasMethodResponse()).isFalse();

    CallRequest malformedKeyword =
        CallRequest.newBuilder()
            .setMethodName("count")
            .addMethodKwArguments(
                KwArgument.newBuilder()
                    .setKeyword("n")
                    .setData(
                        org.modelrunner.transport.grpc.proto.Variant.newBuilder().setTypeValue(-3)))
            .build();
    assertStatus(
        client.stub().call(malformedKeyword).getStatus(),
        "MODEL_FAILED",
        PREFIX + "Malformed argument: Unknown VariantType number: -3");
    assertStillServing();
  }

  @Test
  void aStringThatIsNotUtf8OrANoneWithBytesIsAMalformedArgumentNotAWrongValue() throws IOException {
    start(RunnerModels.runner());
    org.modelrunner.transport.grpc.proto.Variant notUtf8 =
        org.modelrunner.transport.grpc.proto.Variant.newBuilder()
            .setTypeValue(3) // STRING
            .setValue(ByteString.copyFrom(new byte[] {'o', 'k', (byte) 0xff}))
            .build();
    org.modelrunner.transport.grpc.proto.Variant noneWithBytes =
        org.modelrunner.transport.grpc.proto.Variant.newBuilder()
            .setTypeValue(0) // NONE
            .setValue(ByteString.copyFromUtf8("x"))
            .build();
    assertStatus(
        client
            .stub()
            .setup(
                SetupRequest.newBuilder()
                    .setClassName(BASE)
                    .addInstanceArguments(Argument.newBuilder().setPosition(1).setData(notUtf8))
                    .build())
            .getStatus(),
        "SETUP_FAILED",
        "Malformed argument: the argument at position 1: a STRING value must be UTF-8, this one is"
            + " not: byte 2 of 3 (0xff) is not valid UTF-8");
    client.setup(BASE);
    CallResponse echoed =
        client
            .stub()
            .call(
                CallRequest.newBuilder()
                    .setMethodName("echo")
                    .addMethodArguments(Argument.newBuilder().setPosition(1).setData(notUtf8))
                    .build());
    assertStatus(
        echoed.getStatus(),
        "MODEL_FAILED",
        PREFIX
            + "Malformed argument: the argument at position 1: a STRING value must be UTF-8, this"
            + " one is not: byte 2 of 3 (0xff) is not valid UTF-8");
    assertThat(echoed.hasMethodResponse()).as("no text with U+FFFD comes back").isFalse();
    assertStatus(
        client
            .stub()
            .call(
                CallRequest.newBuilder()
                    .setMethodName("echo")
                    .addMethodKwArguments(
                        KwArgument.newBuilder().setKeyword("text").setData(noneWithBytes))
                    .build())
            .getStatus(),
        "MODEL_FAILED",
        PREFIX
            + "Malformed argument: the keyword argument 'text': a NONE value must be empty, this one"
            + " has 1 bytes");
    assertStillServing();
  }

  @Test
  void aHugeNameInARequestMakesALogLineOfBoundedLength() throws IOException {
    start(RunnerModels.runner());
    List<String> lines = new CopyOnWriteArrayList<>();
    java.util.logging.Logger logger =
        java.util.logging.Logger.getLogger(RunnerService.class.getName());
    java.util.logging.Handler capture =
        new java.util.logging.Handler() {
          @Override
          public void publish(java.util.logging.LogRecord record) {
            lines.add(new java.util.logging.SimpleFormatter().formatMessage(record));
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    logger.addHandler(capture);
    try {
      String huge = "x".repeat(1 << 20);
      SetupResponse response = client.setup(huge);
      assertThat(response.getStatus().getCode()).isEqualTo("SETUP_FAILED");
      assertThat(response.getStatus().getMessage()).as("the answer is whole").contains(huge);
      assertThat(lines).hasSize(1);
      assertThat(lines.get(0))
          .startsWith(
              "Setup " + "x".repeat(RunnerService.MAX_SHOWN_NAME) + "… (1048576 characters): ")
          .hasSizeLessThan(RunnerService.MAX_SHOWN_NAME + RunnerService.MAX_SHOWN_STATUS + 200);
    } finally {
      logger.removeHandler(capture);
    }
    client.setup(BASE);
    assertStillServing();
  }

  @Test
  void anUnknownVariantTypeInASetupFailsItAfterTheChecksBeforeIt() throws IOException {
    start(RunnerModels.runner());
    SetupRequest malformed =
        SetupRequest.newBuilder()
            .setClassName(BASE)
            .addInstanceArguments(
                Argument.newBuilder()
                    .setPosition(1)
                    .setData(
                        org.modelrunner.transport.grpc.proto.Variant.newBuilder().setTypeValue(7)))
            .build();
    assertStatus(
        client.stub().setup(malformed.toBuilder().setClassName(" ").build()).getStatus(),
        "INVALID_ARGUMENT",
        "class_name cannot be empty");
    assertStatus(
        client.stub().setup(malformed).getStatus(),
        "SETUP_FAILED",
        "Malformed argument: Unknown VariantType number: 7");
    assertStatus(client.setup(BASE).getStatus(), "SUCCESS", "Instance created successfully");
    assertStatus(client.stub().setup(malformed).getStatus(), "SUCCESS", "Instance already exists");
    assertStillServing();
  }

  @Test
  void bytesThatAreNotAProtobufMessageAreInvalidArgumentAndTheRunnerKeepsServing()
      throws IOException {
    start(RunnerModels.runner());
    client.setup(BASE);
    // Truncated varint; a field of wire type 7; a string field with invalid UTF-8; a length past
    // the end.
    for (String hex : List.of("0affffffffffffffffffff", "0f", "0a02c328", "0a7f41")) {
      io.grpc.Status status =
          grpcError(
              () ->
                  raw(
                      "/dynamic_subclass.DynamicSubclassService/Call",
                      HexFormat.of().parseHex(hex)));
      assertThat(status.getCode())
          .as("answer to %s", hex)
          .isEqualTo(io.grpc.Status.Code.INVALID_ARGUMENT);
      assertThat(status.getDescription()).as("answer to %s", hex).startsWith("Malformed request: ");
      assertThat(client.health("")).isEqualTo(ServingStatus.SERVING);
    }
    // Setup and Rest (google.protobuf.Empty) too.
    for (String method : List.of("Setup", "Rest")) {
      io.grpc.Status status =
          grpcError(
              () ->
                  raw(
                      "/dynamic_subclass.DynamicSubclassService/" + method,
                      HexFormat.of().parseHex("0a7f41")));
      assertThat(status.getCode()).as(method).isEqualTo(io.grpc.Status.Code.INVALID_ARGUMENT);
    }
    assertThat(
            grpcError(() -> raw("/dynamic_subclass.DynamicSubclassService/Nope", new byte[0]))
                .getCode())
        .isEqualTo(io.grpc.Status.Code.UNIMPLEMENTED);
    // An empty message is a valid CallRequest: an empty method name.
    assertStatus(
        CallResponse.parseFrom(raw("/dynamic_subclass.DynamicSubclassService/Call", new byte[0]))
            .getStatus(),
        "INVALID_ARGUMENT",
        "methodName cannot be empty");
    assertStillServing();
  }

  /** Sends raw bytes as the request of a unary method, and returns the raw response. */
  private byte[] raw(String fullMethodName, byte[] request) {
    MethodDescriptor<byte[], byte[]> method =
        MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(fullMethodName.substring(1))
            .setRequestMarshaller(BYTES)
            .setResponseMarshaller(BYTES)
            .build();
    return ClientCalls.blockingUnaryCall(
        client.channel,
        method,
        CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS),
        request);
  }

  private static final MethodDescriptor.Marshaller<byte[]> BYTES =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
          return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
          try {
            return stream.readAllBytes();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };
}
