package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.modelrunner.transport.grpc.RunnerClient.arg;
import static org.modelrunner.transport.grpc.RunnerClient.assertStatus;
import static org.modelrunner.transport.grpc.RunnerClient.kw;
import static org.modelrunner.transport.grpc.RunnerModels.BASE;
import static org.modelrunner.transport.grpc.RunnerModels.PREFIX;

import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.modelrunner.spi.Variant;
import org.modelrunner.transport.grpc.proto.CallResponse;
import org.modelrunner.transport.grpc.proto.SetupResponse;
import org.modelrunner.transport.grpc.proto.VariantType;

/**
 * Every row of PROTOCOL §1.4 through real gRPC (the generated blocking stub against a {@link
 * GrpcRunner} on 127.0.0.1): application outcomes are gRPC {@code OK} with the exact {@code
 * Status.code} and message.
 */
class GrpcRunnerStatusTest {
  private GrpcRunner runner;
  private RunnerClient client;

  @BeforeEach
  void start() throws Exception {
    runner = RunnerModels.started();
    client = new RunnerClient(runner);
  }

  @AfterEach
  void stop() throws Exception {
    client.close();
    runner.shutdown(Duration.ofSeconds(5));
    assertThat(runner.isTerminated()).isTrue();
  }

  // Setup

  @Test
  void setupCreatesTheInstance() {
    assertStatus(client.setup(BASE).getStatus(), "SUCCESS", "Instance created successfully");
    assertThat(client.call("name").getMethodResponse().getValue().toStringUtf8())
        .isEqualTo("default");
  }

  @Test
  void setupIsIdempotentAndIgnoresNewArguments() {
    assertStatus(
        client.setup(BASE, arg(1, Variant.ofString("first"))).getStatus(),
        "SUCCESS",
        "Instance created successfully");
    assertStatus(
        client.setup(BASE, arg(1, Variant.ofString("second"))).getStatus(),
        "SUCCESS",
        "Instance already exists");
    assertThat(client.call("name").getMethodResponse().getValue().toStringUtf8())
        .isEqualTo("first");
  }

  @Test
  void setupWithAnEmptyClassNameIsInvalidArgument() {
    assertStatus(client.setup("").getStatus(), "INVALID_ARGUMENT", "class_name cannot be empty");
    assertStatus(client.setup("   ").getStatus(), "INVALID_ARGUMENT", "class_name cannot be empty");
  }

  @Test
  void setupOfABaseClassThatCannotBeFoundIsBadImplementation() {
    SetupResponse response = client.setup("com.example.Missing");
    assertThat(response.getStatus().getCode()).isEqualTo("BAD_IMPLEMENTATION");
    assertThat(response.getStatus().getMessage())
        .startsWith("No Inherited class found from <class 'com.example.Missing'>.");
  }

  @Test
  void setupWithoutAnImplementationIsBadImplementation() {
    assertStatus(
        client.setup("java.lang.Runnable").getStatus(),
        "BAD_IMPLEMENTATION",
        "No Inherited class found from <class 'java.lang.Runnable'>.");
  }

  @Test
  void setupWithAClassNameWithoutPackageFails() {
    SetupResponse response = client.setup("TrackerBase");
    assertThat(response.getStatus().getCode()).isEqualTo("SETUP_FAILED");
    assertThat(response.getStatus().getMessage()).contains("TrackerBase");
  }

  @Test
  void setupWhoseConstructorThrowsFails() {
    SetupResponse response =
        client.setup(
            BASE,
            List.of(),
            List.of(kw("name", Variant.ofString("m")), kw("horizon", Variant.ofLong(0))));
    assertStatus(
        response.getStatus(),
        "SETUP_FAILED",
        "java.lang.IllegalArgumentException: horizon must be positive, got 0");
    // Nothing was created: a later setup with good arguments creates the instance.
    SetupResponse retry =
        client.setup(
            BASE,
            List.of(),
            List.of(kw("name", Variant.ofString("m")), kw("horizon", Variant.ofLong(3))));
    assertStatus(retry.getStatus(), "SUCCESS", "Instance created successfully");
    assertThat(client.call("name").getMethodResponse().getValue().toStringUtf8()).isEqualTo("m/3");
  }

  @Test
  void setupWithUndecodableOrUnknownArgumentsFails() {
    SetupResponse undecodable =
        client.setup(BASE, arg(1, Variant.ofString("m")), arg(2, Variant.ofString("not a number")));
    assertThat(undecodable.getStatus().getCode()).isEqualTo("SETUP_FAILED");
    assertThat(undecodable.getStatus().getMessage()).isNotEmpty();

    SetupResponse unknownKeyword =
        client.setup(BASE, List.of(), List.of(kw("bogus", Variant.ofLong(1))));
    assertThat(unknownKeyword.getStatus().getCode()).isEqualTo("SETUP_FAILED");
    assertThat(unknownKeyword.getStatus().getMessage()).isNotEmpty();
  }

  // Call

  @Test
  void callBeforeSetupIsFailedPreconditionEvenWithAnEmptyMethodName() {
    assertStatus(
        client.call("predict").getStatus(), "FAILED_PRECONDITION", "Setup has not been called yet");
    assertStatus(
        client.call("").getStatus(), "FAILED_PRECONDITION", "Setup has not been called yet");
  }

  @Test
  void callWithAnEmptyMethodNameIsInvalidArgument() {
    client.setup(BASE);
    assertStatus(client.call("").getStatus(), "INVALID_ARGUMENT", "methodName cannot be empty");
  }

  @Test
  void callOfAMissingMethodIsBadImplementation() {
    client.setup(BASE);
    assertStatus(
        client.call("nope").getStatus(),
        "BAD_IMPLEMENTATION",
        "Method \"nope\" not found in class \"Model\"");
  }

  @Test
  void callReturnsTheEncodedValue() {
    client.setup(BASE);
    CallResponse answer = client.call("answer");
    assertStatus(answer.getStatus(), "SUCCESS", "");
    assertThat(answer.hasMethodResponse()).isTrue();
    assertThat(answer.getMethodResponse().getType()).isEqualTo(VariantType.INT);
    assertThat(HexFormat.of().formatHex(answer.getMethodResponse().getValue().toByteArray()))
        .isEqualTo("2a00000000000000");

    CallResponse name = client.call("name");
    assertThat(name.getMethodResponse().getType()).isEqualTo(VariantType.STRING);
    assertThat(name.getMethodResponse().getValue().toStringUtf8()).isEqualTo("default");
  }

  @Test
  void callThatReturnsNothingOrNullLeavesTheResponseUnset() {
    client.setup(BASE);
    for (CallResponse response :
        List.of(
            client.call("nothing"),
            client.call("nothingToo"),
            client.call("tick", Variant.ofLong(1)))) {
      assertStatus(response.getStatus(), "SUCCESS", "");
      assertThat(response.hasMethodResponse()).isFalse();
    }
  }

  @Test
  void callSortsPositionalArgumentsAndPassesDeclaredKeywordsOnly() {
    client.setup(BASE);
    CallResponse concat =
        client.call(
            "concat",
            List.of(
                arg(30, Variant.ofString("c")),
                arg(1, Variant.ofString("a")),
                arg(7, Variant.ofString("b"))),
            List.of());
    assertThat(concat.getMethodResponse().getValue().toStringUtf8()).isEqualTo("abc");

    CallResponse scaled =
        client.call(
            "scaled",
            List.of(arg(1, Variant.ofDouble(2.0))),
            List.of(kw("factor", Variant.ofDouble(4.0)), kw("unknown", Variant.ofLong(1))));
    assertStatus(scaled.getStatus(), "SUCCESS", "");
    assertThat(Protos.fromProto(scaled.getMethodResponse()).asDouble()).isEqualTo(8.0);
  }

  @Test
  void callWhoseModelThrowsIsModelFailed() {
    client.setup(BASE);
    assertStatus(
        client.call("fail").getStatus(),
        "MODEL_FAILED",
        PREFIX + "java.lang.IllegalStateException: boom");
  }

  @Test
  void callWithAnUndecodableArgumentIsModelFailed() {
    client.setup(BASE);
    CallResponse response = client.call("count", Variant.ofString("not a number"));
    assertThat(response.getStatus().getCode()).isEqualTo("MODEL_FAILED");
    assertThat(response.getStatus().getMessage()).startsWith(PREFIX);
    assertThat(response.hasMethodResponse()).isFalse();
  }

  @Test
  void callWhoseResultCannotBeEncodedIsModelFailed() {
    client.setup(BASE);
    CallResponse response = client.call("object");
    assertThat(response.getStatus().getCode()).isEqualTo("MODEL_FAILED");
    assertThat(response.getStatus().getMessage()).startsWith(PREFIX).contains("cannot be encoded");
  }

  // Rest

  @Test
  void restWithoutAnInstance() {
    assertStatus(client.rest().getStatus(), "SUCCESS", "No instance exists to reset");
  }

  @Test
  void restDropsTheInstanceAndTheNextSetupCreatesACleanOne() {
    client.setup(BASE);
    client.call("tick", Variant.ofLong(1));
    client.call("tick", Variant.ofLong(2));
    assertThat(Protos.fromProto(client.call("predict").getMethodResponse()).asLong()).isEqualTo(2);

    assertStatus(client.rest().getStatus(), "SUCCESS", "Instance successfully reset");
    assertStatus(
        client.call("predict").getStatus(), "FAILED_PRECONDITION", "Setup has not been called yet");
    assertStatus(client.rest().getStatus(), "SUCCESS", "No instance exists to reset");

    assertStatus(client.setup(BASE).getStatus(), "SUCCESS", "Instance created successfully");
    assertThat(Protos.fromProto(client.call("predict").getMethodResponse()).asLong()).isZero();
  }
}
