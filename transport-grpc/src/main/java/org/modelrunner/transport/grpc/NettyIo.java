package org.modelrunner.transport.grpc;

import io.grpc.netty.shaded.io.netty.channel.IoHandlerFactory;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.ServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.SocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;

/**
 * The Netty I/O the client transport and the runner use: Linux's native epoll where it loads, as
 * grpc-java itself chooses by default, and Java NIO elsewhere. Netty's own switch turns native
 * transports off: {@code -Dio.grpc.netty.shaded.io.netty.transport.noNative=true}.
 *
 * <p>Native epoll costs less processor time per call than NIO (no selected-key sets, no selector
 * wake-up pipe), which matters most on a runner host shared by many runners.
 */
final class NettyIo {
  private static final boolean EPOLL = Epoll.isAvailable();

  private NettyIo() {}

  /** Returns whether native epoll is used. */
  static boolean isNative() {
    return EPOLL;
  }

  /** The I/O handlers of event loop groups. */
  static IoHandlerFactory handlers() {
    return EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
  }

  /** The client channel type that goes with {@link #handlers()}. */
  static Class<? extends SocketChannel> socketChannel() {
    return EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
  }

  /** The server channel type that goes with {@link #handlers()}. */
  static Class<? extends ServerSocketChannel> serverSocketChannel() {
    return EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }
}
