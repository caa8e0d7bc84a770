package org.modelrunner.transport.grpc;

import com.google.protobuf.Empty;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import org.modelrunner.transport.grpc.proto.CallRequest;
import org.modelrunner.transport.grpc.proto.CallResponse;
import org.modelrunner.transport.grpc.proto.DynamicSubclassServiceGrpc;
import org.modelrunner.transport.grpc.proto.RestResponse;
import org.modelrunner.transport.grpc.proto.SetupRequest;
import org.modelrunner.transport.grpc.proto.SetupResponse;
import org.modelrunner.transport.grpc.proto.Status;

/**
 * A {@code DynamicSubclassService} whose answers the test chooses: by default Setup and Rest
 * succeed and Call echoes its first positional argument. It records the requests it received and
 * the requests the client cancelled (or whose deadline passed), by method name.
 */
class StubService extends DynamicSubclassServiceGrpc.DynamicSubclassServiceImplBase {
  /** How the service answers one request. */
  interface Handler<Q, R> {
    void handle(Q request, ServerCallStreamObserver<R> response);
  }

  volatile Handler<SetupRequest, SetupResponse> setup =
      (request, response) ->
          answer(
              response,
              SetupResponse.newBuilder()
                  .setStatus(status("SUCCESS", "Instance created successfully"))
                  .build());

  volatile Handler<CallRequest, CallResponse> call =
      (request, response) -> {
        CallResponse.Builder answer = CallResponse.newBuilder().setStatus(status("SUCCESS", ""));
        if (request.getMethodArgumentsCount() > 0) {
          answer.setMethodResponse(request.getMethodArguments(0).getData());
        }
        answer(response, answer.build());
      };

  volatile Handler<Empty, RestResponse> rest =
      (request, response) ->
          answer(
              response,
              RestResponse.newBuilder()
                  .setStatus(status("SUCCESS", "Instance successfully reset"))
                  .build());

  final List<Object> received = new CopyOnWriteArrayList<>();
  final BlockingQueue<String> cancelled = new LinkedBlockingQueue<>();

  /** The responses of requests answered by {@link #hold()}, to answer later. */
  final BlockingQueue<ServerCallStreamObserver<?>> held = new LinkedBlockingQueue<>();

  static Status status(String code, String message) {
    return Status.newBuilder().setCode(code).setMessage(message).build();
  }

  static <R> void answer(StreamObserver<R> response, R message) {
    response.onNext(message);
    response.onCompleted();
  }

  /**
   * A handler that never answers (the call runs until the client cancels it or its deadline
   * passes).
   */
  static <Q, R> Handler<Q, R> hang() {
    return (request, response) -> {};
  }

  /** A handler that keeps the response in {@link #held}, for the test to answer later. */
  <Q, R> Handler<Q, R> hold() {
    return (request, response) -> held.add(response);
  }

  /** A handler that fails with a gRPC status. */
  static <Q, R> Handler<Q, R> fail(io.grpc.Status status) {
    return (request, response) -> response.onError(status.asRuntimeException());
  }

  @Override
  public void setup(SetupRequest request, StreamObserver<SetupResponse> response) {
    setup.handle(request, track("Setup", request, response));
  }

  @Override
  public void call(CallRequest request, StreamObserver<CallResponse> response) {
    call.handle(request, track("Call", request, response));
  }

  @Override
  public void rest(Empty request, StreamObserver<RestResponse> response) {
    rest.handle(request, track("Rest", request, response));
  }

  private <R> ServerCallStreamObserver<R> track(
      String method, Object request, StreamObserver<R> response) {
    received.add(request);
    ServerCallStreamObserver<R> observer = (ServerCallStreamObserver<R>) response;
    observer.setOnCancelHandler(() -> cancelled.add(method));
    return observer;
  }
}
