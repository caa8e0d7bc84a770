package org.modelrunner.benchmarks;

import com.google.protobuf.ByteString;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.modelrunner.transport.grpc.proto.CallRequest;
import org.modelrunner.transport.grpc.proto.CallResponse;
import org.modelrunner.transport.grpc.proto.DynamicSubclassServiceGrpc;
import org.modelrunner.transport.grpc.proto.Status;
import org.modelrunner.transport.grpc.proto.Variant;
import org.modelrunner.transport.grpc.proto.VariantType;

/**
 * The baseline server: the protocol's {@code Call} through grpc-java's generated service and
 * nothing else (no model, no claim, no thread hand-off), answering what the benchmark's instant
 * model answers. Run as a process: {@code java -cp benchmarks.jar
 * org.modelrunner.benchmarks.TrivialServer <port>}; it prints {@code READY} once it serves.
 */
public final class TrivialServer {
  private TrivialServer() {}

  /** The answer of every call: SUCCESS with a DOUBLE, as {@link InstantModel#predict()} gives. */
  static final CallResponse ANSWER =
      CallResponse.newBuilder()
          .setStatus(Status.newBuilder().setCode("SUCCESS").setMessage(""))
          .setMethodResponse(
              Variant.newBuilder()
                  .setType(VariantType.DOUBLE)
                  .setValue(
                      ByteString.copyFrom(
                          ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(0, 0.0))))
          .build();

  /** Serves on 127.0.0.1 at the port given until the process is killed. */
  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
            .directExecutor()
            .addService(
                new DynamicSubclassServiceGrpc.DynamicSubclassServiceImplBase() {
                  @Override
                  public void call(CallRequest request, StreamObserver<CallResponse> responses) {
                    responses.onNext(ANSWER);
                    responses.onCompleted();
                  }
                })
            .build()
            .start();
    System.out.println("READY");
    System.out.flush();
    server.awaitTermination();
  }
}
