package org.modelrunner.transport.grpc;

import io.grpc.BindableService;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketAddress;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small gRPC server for the client transport's tests: a {@code DynamicSubclassService} given by
 * the test and the standard health service ({@code ""} SERVING), on 127.0.0.1, with event loops and
 * an executor of its own (threads named {@code stub-runner-…}) that {@link #close()} ends. It
 * records the remote address of every request by method, to tell connections apart.
 */
final class StubRunner implements AutoCloseable {
  /** The prefix of the names of every stub runner's threads. */
  static final String THREAD_PREFIX = "stub-runner-";

  private static final AtomicInteger NUMBERS = new AtomicInteger();

  final HealthStatusManager health = new HealthStatusManager();
  private final Map<String, List<SocketAddress>> remotes = new ConcurrentHashMap<>();
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final ExecutorService executor;
  private final Server server;

  private StubRunner(BindableService service, int port, int maxInboundBytes) throws IOException {
    String prefix = THREAD_PREFIX + NUMBERS.incrementAndGet() + "-";
    boss = new MultiThreadIoEventLoopGroup(1, threads(prefix + "boss-"), NioIoHandler.newFactory());
    workers =
        new MultiThreadIoEventLoopGroup(2, threads(prefix + "worker-"), NioIoHandler.newFactory());
    executor = Executors.newCachedThreadPool(threads(prefix + "executor-"));
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.SERVING);
    ServerInterceptor recorder =
        new ServerInterceptor() {
          @Override
          public <Q, R> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            remotes
                .computeIfAbsent(
                    call.getMethodDescriptor().getFullMethodName(),
                    k -> new CopyOnWriteArrayList<>())
                .add(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
            return next.startCall(call, headers);
          }
        };
    Server built =
        NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))
            .bossEventLoopGroup(boss)
            .workerEventLoopGroup(workers)
            .channelType(NioServerSocketChannel.class)
            .executor(executor)
            .maxInboundMessageSize(maxInboundBytes)
            .addService(ServerInterceptors.intercept(service, recorder))
            .addService(ServerInterceptors.intercept(health.getHealthService(), recorder))
            .build();
    try {
      server = built.start();
    } catch (IOException | RuntimeException e) {
      shutdownThreads();
      throw e;
    }
  }

  /** Starts a stub runner on a free port of 127.0.0.1. */
  static StubRunner start(BindableService service) {
    return start(service, 0, 64 * 1024 * 1024);
  }

  /** Starts a stub runner on the given port of 127.0.0.1 (0: a free one). */
  static StubRunner start(BindableService service, int port) {
    return start(service, port, 64 * 1024 * 1024);
  }

  static StubRunner start(BindableService service, int port, int maxInboundBytes) {
    try {
      return new StubRunner(service, port, maxInboundBytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Returns a port of 127.0.0.1 that nothing listens on (bound, then released). */
  static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static URI endpoint(int port) {
    return URI.create("grpc://127.0.0.1:" + port);
  }

  int port() {
    return server.getPort();
  }

  URI endpoint() {
    return endpoint(port());
  }

  /** Returns the remote addresses of the requests received for a full method name, in order. */
  List<SocketAddress> remotes(String fullMethodName) {
    return List.copyOf(remotes.getOrDefault(fullMethodName, List.of()));
  }

  /** Stops the server at once (requests running are cancelled) and ends its threads. */
  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    shutdownThreads();
  }

  private void shutdownThreads() {
    boss.shutdownGracefully(0, 0, TimeUnit.SECONDS);
    workers.shutdownGracefully(0, 0, TimeUnit.SECONDS);
    executor.shutdownNow();
    try {
      boss.terminationFuture().await(5, TimeUnit.SECONDS);
      workers.terminationFuture().await(5, TimeUnit.SECONDS);
      executor.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static ThreadFactory threads(String prefix) {
    AtomicInteger numbers = new AtomicInteger();
    return body -> {
      Thread thread = new Thread(body, prefix + numbers.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }
}
