package org.modelrunner.transport.grpc;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.modelrunner.loader.HostedModel;
import org.modelrunner.loader.RunnerCore;
import org.modelrunner.spi.StatusCode;
import org.modelrunner.spi.Variant;
import org.modelrunner.transport.grpc.proto.Argument;
import org.modelrunner.transport.grpc.proto.CallRequest;
import org.modelrunner.transport.grpc.proto.DynamicSubclassServiceGrpc;

/**
 * Sends calls over loopback to a second, private server of the runner's own code, on the runner's
 * event loops, so that the first calls a coordinator makes find their network path (Netty's HTTP/2,
 * gRPC's server, the runner's service and core, the answer's encoding) loaded and compiled by the
 * quick compiler. Its model is never set up, so each call is answered {@code FAILED_PRECONDITION}
 * ("Setup has not been called yet") before any model code, and the submission is never involved.
 * The private server listens on 127.0.0.1, on a port of the system's choosing, only while the
 * warm-up runs; it logs nothing above debug.
 */
final class NetworkWarmUp {
  private NetworkWarmUp() {}

  /**
   * Runs {@code calls} calls, fewer if {@code go} turns false; returns how many were answered as
   * expected (a model not set up). Never calls the submission.
   *
   * @throws IOException if the private server cannot listen on loopback
   */
  static int run(
      EventLoopGroup acceptor,
      EventLoopGroup eventLoops,
      int maxSendBytes,
      int calls,
      BooleanSupplier go)
      throws IOException {
    ExecutorService modelThread =
        Executors.newSingleThreadExecutor(GrpcRunner.threads("modelrunner-grpc-warmup-model"));
    Server server = null;
    ManagedChannel channel = null;
    try (HostedModel model = HostedModel.forImplementation(NetworkWarmUp.class)) {
      RunnerService service = new RunnerService(RunnerCore.of(model), modelThread, maxSendBytes);
      server =
          NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
              .bossEventLoopGroup(acceptor)
              .workerEventLoopGroup(eventLoops)
              .channelType(NioServerSocketChannel.class)
              .directExecutor()
              .addService(MalformedRequests.tolerant(service.bindService()))
              .build()
              .start();
      channel =
          NettyChannelBuilder.forAddress(
                  new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getPort()))
              .eventLoopGroup(eventLoops)
              .channelType(NioSocketChannel.class)
              .usePlaintext()
              .build();
      var stub = DynamicSubclassServiceGrpc.newBlockingStub(channel);
      int answered = 0;
      for (int i = 0; i < calls && go.getAsBoolean(); i++) {
        CallRequest request =
            CallRequest.newBuilder()
                .setMethodName("predict")
                .addMethodArguments(
                    Argument.newBuilder()
                        .setPosition(1)
                        .setData(Protos.toProto(Variant.ofDouble(i))))
                .build();
        if (stub.withDeadlineAfter(10, TimeUnit.SECONDS)
            .call(request)
            .getStatus()
            .getCode()
            .equals(StatusCode.FAILED_PRECONDITION.name())) {
          answered++;
        }
      }
      return answered;
    } finally {
      if (channel != null) {
        channel.shutdownNow();
      }
      if (server != null) {
        server.shutdownNow();
      }
      modelThread.shutdownNow();
    }
  }
}
