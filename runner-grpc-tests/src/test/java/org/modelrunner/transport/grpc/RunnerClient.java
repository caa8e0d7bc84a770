package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.Empty;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.modelrunner.spi.Variant;
import org.modelrunner.transport.grpc.proto.Argument;
import org.modelrunner.transport.grpc.proto.CallRequest;
import org.modelrunner.transport.grpc.proto.CallResponse;
import org.modelrunner.transport.grpc.proto.DynamicSubclassServiceGrpc;
import org.modelrunner.transport.grpc.proto.KwArgument;
import org.modelrunner.transport.grpc.proto.RestResponse;
import org.modelrunner.transport.grpc.proto.SetupRequest;
import org.modelrunner.transport.grpc.proto.SetupResponse;
import org.modelrunner.transport.grpc.proto.Status;

/**
 * A plain gRPC client of a runner for the runner's tests: the generated blocking stubs on a channel
 * of its own, every request with a deadline far above what any test expects.
 */
final class RunnerClient implements AutoCloseable {
  static final long DEADLINE_SECONDS = 20;

  final ManagedChannel channel;

  RunnerClient(GrpcRunner runner) {
    this(runner.port());
  }

  RunnerClient(int port) {
    this.channel =
        NettyChannelBuilder.forAddress("127.0.0.1", port)
            .usePlaintext()
            .maxInboundMessageSize(Integer.MAX_VALUE)
            .build();
  }

  DynamicSubclassServiceGrpc.DynamicSubclassServiceBlockingStub stub() {
    return DynamicSubclassServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  HealthGrpc.HealthBlockingStub health() {
    return HealthGrpc.newBlockingStub(channel)
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  ServingStatus health(String service) {
    return health().check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
  }

  SetupResponse setup(String className, Argument... arguments) {
    return stub()
        .setup(
            SetupRequest.newBuilder()
                .setClassName(className)
                .addAllInstanceArguments(List.of(arguments))
                .build());
  }

  SetupResponse setup(String className, List<Argument> arguments, List<KwArgument> keywords) {
    return stub()
        .setup(
            SetupRequest.newBuilder()
                .setClassName(className)
                .addAllInstanceArguments(arguments)
                .addAllInstanceKwArguments(keywords)
                .build());
  }

  CallResponse call(String method, Variant... positional) {
    CallRequest.Builder request = CallRequest.newBuilder().setMethodName(method);
    for (int i = 0; i < positional.length; i++) {
      request.addMethodArguments(arg(i + 1, positional[i]));
    }
    return stub().call(request.build());
  }

  CallResponse call(String method, List<Argument> arguments, List<KwArgument> keywords) {
    return stub()
        .call(
            CallRequest.newBuilder()
                .setMethodName(method)
                .addAllMethodArguments(arguments)
                .addAllMethodKwArguments(keywords)
                .build());
  }

  RestResponse rest() {
    return stub().rest(Empty.getDefaultInstance());
  }

  static Argument arg(int position, Variant value) {
    return Argument.newBuilder().setPosition(position).setData(Protos.toProto(value)).build();
  }

  static KwArgument kw(String keyword, Variant value) {
    return KwArgument.newBuilder().setKeyword(keyword).setData(Protos.toProto(value)).build();
  }

  static void assertStatus(Status status, String code, String message) {
    assertThat(status.getCode()).as("code of %s", status).isEqualTo(code);
    assertThat(status.getMessage()).as("message of %s", status).isEqualTo(message);
  }

  /** Runs a request that must fail with a gRPC error, and returns it. */
  static io.grpc.Status grpcError(ThrowingCallable request) {
    StatusRuntimeException error = catchThrowableOfType(StatusRuntimeException.class, request);
    assertThat(error).as("a gRPC error").isNotNull();
    return error.getStatus();
  }

  static void assertBusy(ThrowingCallable request) {
    io.grpc.Status status = grpcError(request);
    assertThat(status.getCode()).isEqualTo(io.grpc.Status.Code.RESOURCE_EXHAUSTED);
    assertThat(status.getDescription()).isEqualTo("Server busy");
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
