package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The runner's network warm-up: real calls over loopback, answered without any model code. */
class NetworkWarmUpTest {
  private final EventLoopGroup acceptor =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final EventLoopGroup loops =
      new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());

  @AfterEach
  void stop() throws InterruptedException {
    acceptor.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
    loops.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
  }

  @Test
  void everyCallIsAnsweredThatSetupWasNotCalledAndTheLoopsStayUp() throws IOException {
    assertThat(NetworkWarmUp.run(acceptor, loops, 1 << 20, 40, () -> true)).isEqualTo(40);
    // The event loops are the runner's: the warm-up's server and channel must leave them running.
    assertThat(loops.isShuttingDown()).isFalse();
    assertThat(acceptor.isShuttingDown()).isFalse();
    assertThat(NetworkWarmUp.run(acceptor, loops, 1 << 20, 5, () -> true)).isEqualTo(5);
  }

  @Test
  void itStopsWhenTheRunnerStops() throws IOException {
    AtomicInteger asked = new AtomicInteger();
    assertThat(
            NetworkWarmUp.run(acceptor, loops, 1 << 20, 1_000, () -> asked.incrementAndGet() <= 3))
        .isEqualTo(3);
  }
}
