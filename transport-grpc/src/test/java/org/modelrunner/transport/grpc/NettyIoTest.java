package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/** The transport's Netty I/O: native epoll on Linux, from the grpc-netty-shaded jar. */
class NettyIoTest {
  @Test
  void linuxOnX86OrArmUsesNativeEpoll() {
    String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch");
    assumeTrue(os.contains("linux") && (arch.equals("amd64") || arch.equals("aarch64")));
    assumeTrue(
        !Boolean.getBoolean("io.grpc.netty.shaded.io.netty.transport.noNative"),
        "native transports turned off");
    assertThat(NettyIo.isNative()).as("epoll: %s", Epoll.unavailabilityCause()).isTrue();
    assertThat(NettyIo.socketChannel()).isEqualTo(EpollSocketChannel.class);
  }
}
