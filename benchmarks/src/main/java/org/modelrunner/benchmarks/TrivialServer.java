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
 * nothing else (no model, no claim), answering what the benchmark's instant model answers. Run as a
 * process: {@code java -cp benchmarks.jar org.modelrunner.benchmarks.TrivialServer <port>
 * [pooled]}; it prints {@code READY} once it serves.
 *
 * <p>By default it answers on the event loop that read the request ({@code directExecutor()}: no
 * thread hand-off at all, which grpc-java allows only for handlers that never block). With {@code
 * pooled} it keeps grpc-java's default, a cached thread pool that runs each call's handler: one
 * hand-off per call, as in any service whose handler may block, and as in our runner, whose model
 * runs on its own thread.
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
    boolean pooled = args.length > 1 && args[1].equals("pooled");
    NettyServerBuilder builder =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port));
    if (!pooled) {
      builder.directExecutor();
    }
    Server server =
        builder
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
