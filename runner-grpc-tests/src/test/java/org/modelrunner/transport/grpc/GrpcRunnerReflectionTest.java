package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Server reflection: what {@code grpcurl -plaintext host:port list} and {@code describe} ask. */
class GrpcRunnerReflectionTest {
  @Test
  void listsTheServicesAndDescribesTheProtocol() throws Exception {
    try (GrpcRunner runner = RunnerModels.started();
        RunnerClient client = new RunnerClient(runner)) {
      ServerReflectionResponse list =
          ask(client.channel, ServerReflectionRequest.newBuilder().setListServices("").build());
      List<String> services =
          list.getListServicesResponse().getServiceList().stream()
              .map(ServiceResponse::getName)
              .collect(Collectors.toList());
      assertThat(services)
          .contains(
              "dynamic_subclass.DynamicSubclassService",
              "grpc.health.v1.Health",
              "grpc.reflection.v1.ServerReflection");

      ServerReflectionResponse file =
          ask(
              client.channel,
              ServerReflectionRequest.newBuilder()
                  .setFileContainingSymbol("dynamic_subclass.DynamicSubclassService")
                  .build());
      List<String> methods =
          file.getFileDescriptorResponse().getFileDescriptorProtoList().stream()
              .map(GrpcRunnerReflectionTest::parse)
              .flatMap(descriptor -> descriptor.getServiceList().stream())
              .flatMap(service -> service.getMethodList().stream())
              .map(method -> method.getName())
              .collect(Collectors.toList());
      assertThat(methods).contains("Setup", "Call", "Rest");
    }
  }

  @Test
  void canBeTurnedOff() throws Exception {
    try (GrpcRunner runner = RunnerModels.runner().reflection(false).build().start();
        RunnerClient client = new RunnerClient(runner)) {
      CompletableFuture<ServerReflectionResponse> answer =
          askAsync(
              client.channel, ServerReflectionRequest.newBuilder().setListServices("").build());
      assertThat(answer)
          .failsWithin(20, TimeUnit.SECONDS)
          .withThrowableThat()
          .havingRootCause()
          .satisfies(
              e ->
                  assertThat(Status.fromThrowable(e).getCode())
                      .isEqualTo(Status.Code.UNIMPLEMENTED));
    }
  }

  private static FileDescriptorProto parse(com.google.protobuf.ByteString bytes) {
    try {
      return FileDescriptorProto.parseFrom(bytes);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }

  private static ServerReflectionResponse ask(
      ManagedChannel channel, ServerReflectionRequest request) throws Exception {
    return askAsync(channel, request).get(20, TimeUnit.SECONDS);
  }

  /** Sends one server reflection request and returns its first answer. */
  static CompletableFuture<ServerReflectionResponse> askAsync(
      ManagedChannel channel, ServerReflectionRequest request) {
    CompletableFuture<ServerReflectionResponse> answer = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> requests =
        ServerReflectionGrpc.newStub(channel)
            .withDeadlineAfter(20, TimeUnit.SECONDS)
            .serverReflectionInfo(
                new StreamObserver<>() {
                  @Override
                  public void onNext(ServerReflectionResponse value) {
                    answer.complete(value);
                  }

                  @Override
                  public void onError(Throwable t) {
                    answer.completeExceptionally(t);
                  }

                  @Override
                  public void onCompleted() {
                    answer.completeExceptionally(new AssertionError("no response"));
                  }
                });
    requests.onNext(request);
    requests.onCompleted();
    return answer;
  }
}
