package org.modelrunner.transport.grpc;

import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.stub.ServerCallStreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;
import org.modelrunner.loader.HostedModel;
import org.modelrunner.loader.RunnerCore;
import org.modelrunner.spi.StatusCode;
import org.modelrunner.spi.Variant;
import org.modelrunner.transport.grpc.proto.Argument;
import org.modelrunner.transport.grpc.proto.CallRequest;
import org.modelrunner.transport.grpc.proto.CallResponse;
import org.modelrunner.transport.grpc.proto.DynamicSubclassServiceGrpc;
import org.modelrunner.transport.grpc.proto.KwArgument;
import org.modelrunner.transport.grpc.proto.SetupRequest;
import org.modelrunner.transport.grpc.proto.SetupResponse;
import org.modelrunner.transport.grpc.proto.Status;

/**
 * A runner's rehearsal of its Call path before the first real Call: a built-in model ({@link
 * Stand}, set up as a {@link Role}), hosted beside the submission's and set up, is called through a
 * {@link RunnerService} of its own, the request parsed and the response serialised by the service's
 * gRPC marshallers. The first real Call then finds the service's code linked (its lambdas), its
 * classes loaded and, after a few thousand rehearsed calls, much of it compiled, which is what
 * shortens it most.
 *
 * <p>It never touches the submission: its model, core and claim are its own, so real requests go on
 * meanwhile as usual, and it reports to no observer (no metrics) and logs no call. gRPC's own
 * transport code (Netty's reads and writes, the server's call dispatch) is not rehearsed: health
 * checks and the Setup run it before the first Call.
 */
final class Rehearsal implements AutoCloseable {
  /** The base class a rehearsal's Setup names; public so that the model host can find it. */
  public abstract static class Role {
    /** Answers a rehearsed call. */
    public abstract double rehearse(double value, String label);
  }

  /** The built-in model a rehearsal calls; public so that the model host can create and call it. */
  public static final class Stand extends Role {
    /** Creates the model, as a Setup does. */
    public Stand() {}

    @Override
    public double rehearse(double value, String label) {
      return value + label.length();
    }
  }

  private final HostedModel stand;
  private final RunnerService service;
  private final MethodDescriptor<CallRequest, CallResponse> method;
  private final byte[] request;
  private final Answer<CallResponse> answer = new Answer<>();

  private Rehearsal(HostedModel stand, int maxSendBytes, RunnerCore.Observer observer) {
    this.stand = stand;
    Executor inline = Runnable::run;
    this.service =
        new RunnerService(
            RunnerCore.builder(stand).observer(observer).build(), inline, maxSendBytes, true);
    String name = DynamicSubclassServiceGrpc.getCallMethod().getFullMethodName();
    ServerMethodDefinition<?, ?> definition =
        MalformedRequests.tolerant(service.bindService()).getMethod(name);
    @SuppressWarnings("unchecked")
    MethodDescriptor<CallRequest, CallResponse> call =
        (MethodDescriptor<CallRequest, CallResponse>) definition.getMethodDescriptor();
    this.method = call;
    this.request =
        CallRequest.newBuilder()
            .setMethodName("rehearse")
            .addMethodArguments(
                Argument.newBuilder().setPosition(0).setData(Protos.toProto(Variant.ofDouble(1.5))))
            .addMethodKwArguments(
                KwArgument.newBuilder()
                    .setKeyword("label")
                    .setData(Protos.toProto(Variant.ofString("rehearsal"))))
            .build()
            .toByteArray();
  }

  /**
   * Hosts the built-in model and sets it up (a Setup through the service, as a coordinator's).
   *
   * @param maxSendBytes the send limit of the runner's service (the rehearsal checks it as it does)
   */
  static Rehearsal open(int maxSendBytes) {
    return open(maxSendBytes, new RunnerCore.Observer() {});
  }

  /** As above, its model's requests reported to {@code observer}; for tests. */
  static Rehearsal open(int maxSendBytes, RunnerCore.Observer observer) {
    HostedModel stand = HostedModel.forImplementation(Stand.class);
    try {
      Rehearsal rehearsal = new Rehearsal(stand, maxSendBytes, observer);
      Answer<SetupResponse> setUp = new Answer<>();
      rehearsal.service.setup(
          SetupRequest.newBuilder().setClassName(Role.class.getName()).build(), setUp);
      if (setUp.response == null || !isSuccess(setUp.response.getStatus())) {
        throw new IllegalStateException(
            "The rehearsal's model was not set up: "
                + (setUp.response == null ? setUp.error : setUp.response.getStatus()));
      }
      return rehearsal;
    } catch (RuntimeException | Error e) {
      stand.close();
      throw e;
    }
  }

  /**
   * Rehearses {@code rounds} calls, stopping early when {@code goOn} turns false.
   *
   * @return how many calls were answered
   * @throws IllegalStateException if a call was not answered {@code SUCCESS}
   */
  int run(int rounds, BooleanSupplier goOn) throws IOException {
    int answered = 0;
    for (; answered < rounds && goOn.getAsBoolean(); answered++) {
      service.call(method.parseRequest(new ByteArrayInputStream(request)), answer);
      CallResponse response = answer.response;
      answer.response = null;
      if (response == null || !isSuccess(response.getStatus())) {
        throw new IllegalStateException(
            "The rehearsal's call failed: " + (response == null ? answer.error : response));
      }
      try (InputStream bytes = method.streamResponse(response)) {
        bytes.transferTo(OutputStream.nullOutputStream()); // as gRPC writes a response
      }
    }
    return answered;
  }

  @Override
  public void close() {
    stand.close();
  }

  private static boolean isSuccess(Status status) {
    return status.getCode().equals(StatusCode.SUCCESS.name());
  }

  /** Takes the rehearsal's answers, as gRPC's server call does a real call's. */
  private static final class Answer<T> extends ServerCallStreamObserver<T> {
    T response;
    Throwable error;

    @Override
    public void onNext(T value) {
      response = value;
    }

    @Override
    public void onError(Throwable t) {
      error = t;
    }

    @Override
    public void onCompleted() {}

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public void setOnCancelHandler(Runnable onCancelHandler) {}

    @Override
    public void setCompression(String compression) {}

    @Override
    public boolean isReady() {
      return true;
    }

    @Override
    public void setOnReadyHandler(Runnable onReadyHandler) {}

    @Override
    public void disableAutoInboundFlowControl() {}

    @Override
    public void request(int count) {}

    @Override
    public void setMessageCompression(boolean enable) {}
  }
}
