package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.modelrunner.transport.grpc.Futures.BOUND;
import static org.modelrunner.transport.grpc.Futures.failure;
import static org.modelrunner.transport.grpc.Futures.since;
import static org.modelrunner.transport.grpc.Futures.value;

import com.github.benmanes.caffeine.cache.Ticker;
import io.grpc.stub.ServerCallStreamObserver;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Isolated;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportException.Kind;
import org.modelrunner.spi.TransportSettings;
import org.modelrunner.spi.Variant;
import org.modelrunner.transport.grpc.proto.CallResponse;

/**
 * The transport's channels and threads: eviction of unused endpoints, closing, no thread left
 * behind.
 */
@Isolated("counts the JVM's threads")
@Timeout(60)
class GrpcTransportLifecycleTest {
  private static final Duration QUICK = Duration.ofSeconds(5);
  private static final Duration IDLE = Duration.ofMinutes(10);

  /** A Caffeine ticker the test moves by hand. */
  private static final class ManualTicker implements Ticker {
    private final AtomicLong nanos = new AtomicLong();

    @Override
    public long read() {
      return nanos.get();
    }

    void advance(Duration duration) {
      nanos.addAndGet(duration.toNanos());
    }
  }

  @Test
  void anEndpointUnusedForTheIdleTimeIsEvictedAndItsChannelsShutDownGracefully() throws Exception {
    ManualTicker ticker = new ManualTicker();
    StubService service = new StubService();
    try (StubRunner runner = StubRunner.start(service);
        GrpcTransport transport = new GrpcTransport(TransportSettings.defaults(), IDLE, ticker)) {
      ModelConnection connection = transport.connect(runner.endpoint());
      GrpcAddress address = GrpcAddress.parse(runner.endpoint());
      assertThat(value(connection.setup("b.B", Arguments.none(), QUICK)).status().isSuccess())
          .isTrue();
      assertThat(value(connection.checkHealth(QUICK))).isEqualTo(HealthStatus.SERVING);
      EndpointChannels first = transport.cachedChannels(address);
      assertThat(first).isNotNull();

      service.call = service.hold();
      CompletableFuture<Reply> running =
          connection.call(transport.prepare("work", Arguments.none()), Duration.ofSeconds(30));
      ServerCallStreamObserver<?> held = service.held.poll(5, TimeUnit.SECONDS);
      assertThat(held).as("the call reached the runner").isNotNull();

      ticker.advance(IDLE.minusSeconds(1));
      transport.cleanUp();
      assertThat(transport.cachedChannels(address))
          .as("still within the idle time")
          .isSameAs(first);
      ticker.advance(Duration.ofSeconds(2));
      transport.cleanUp();
      assertThat(transport.cachedChannels(address)).as("evicted").isNull();
      assertThat(first.isShutdown()).as("the removal listener shut the channels down").isTrue();

      // gracefully: the call that was running still gets its answer, then the channels terminate
      @SuppressWarnings("unchecked")
      ServerCallStreamObserver<CallResponse> response =
          (ServerCallStreamObserver<CallResponse>) held;
      StubService.answer(
          response,
          CallResponse.newBuilder()
              .setStatus(StubService.status("SUCCESS", ""))
              .setMethodResponse(Protos.toProto(Variant.ofLong(9)))
              .build());
      assertThat(value(running)).isEqualTo(Reply.success(Variant.ofLong(9)));
      assertThat(first.awaitTermination(System.nanoTime() + TimeUnit.SECONDS.toNanos(5))).isTrue();

      // the connection opens the endpoint again on its next request
      service.call = new StubService().call;
      assertThat(
              value(
                  connection.call(
                      transport.prepare("echo", Arguments.builder().add(Variant.ofLong(1)).build()),
                      QUICK)))
          .isEqualTo(Reply.success(Variant.ofLong(1)));
      assertThat(value(connection.checkHealth(QUICK))).isEqualTo(HealthStatus.SERVING);
      EndpointChannels second = transport.cachedChannels(address);
      assertThat(second).isNotNull().isNotSameAs(first);
      assertThat(second.isShutdown()).isFalse();
    }
  }

  @Test
  void usingAnEndpointKeepsItsChannels() {
    ManualTicker ticker = new ManualTicker();
    try (StubRunner runner = StubRunner.start(new StubService());
        GrpcTransport transport = new GrpcTransport(TransportSettings.defaults(), IDLE, ticker)) {
      ModelConnection connection = transport.connect(runner.endpoint());
      GrpcAddress address = GrpcAddress.parse(runner.endpoint());
      value(connection.setup("b.B", Arguments.none(), QUICK));
      EndpointChannels channels = transport.cachedChannels(address);
      for (int i = 0; i < 3; i++) {
        ticker.advance(IDLE.dividedBy(2));
        value(connection.reset(QUICK));
        transport.cleanUp();
      }
      assertThat(transport.cachedChannels(address)).isSameAs(channels);
      assertThat(channels.isShutdown()).isFalse();
    }
  }

  @Test
  void closingTheTransportCancelsItsRequestsShutsItsChannelsAndEndsEveryThread() throws Exception {
    Set<Thread> before = liveThreads();
    StubService service = new StubService();
    service.call = StubService.hang();
    StubRunner runner = StubRunner.start(service);
    GrpcTransport transport = new GrpcTransport(TransportSettings.defaults());
    ModelConnection a = transport.connect(runner.endpoint());
    ModelConnection b = transport.connect(URI.create("grpc://localhost:" + runner.port()));
    value(a.setup("b.B", Arguments.none(), QUICK));
    value(b.checkHealth(QUICK));
    CompletableFuture<Reply> hanging =
        a.call(transport.prepare("work", Arguments.none()), Duration.ofSeconds(30));
    CompletableFuture<Reply> waiting =
        transport.connect(StubRunner.endpoint(StubRunner.freePort())).reset(Duration.ofSeconds(30));
    // The call must have reached the runner before close() for the runner to see it cancelled.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (service.received.size() < 2 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(service.received).as("setup and call received by the runner").hasSize(2);
    assertThat(transportThreads(transport))
        .as("the transport's threads while it is open")
        .isNotEmpty();
    EndpointChannels channels = transport.cachedChannels(GrpcAddress.parse(runner.endpoint()));

    long start = System.nanoTime();
    transport.close();
    assertThat(since(start)).as("time close() took").isLessThan(Duration.ofSeconds(4));
    failure(hanging, Kind.CANCELLED);
    failure(waiting, Kind.CANCELLED);
    assertThat(channels.isTerminated()).isTrue();
    assertThat(service.cancelled.poll(5, TimeUnit.SECONDS)).isEqualTo("Call");
    failure(b.setup("b.B", Arguments.none(), QUICK), Kind.CANCELLED);
    failure(b.checkHealth(QUICK), Kind.CANCELLED);
    assertThatThrownBy(() -> transport.connect(runner.endpoint()))
        .isInstanceOf(IllegalStateException.class);
    transport.close(); // idempotent
    assertThat(awaitEnded(transportThreads(transport)))
        .as("the transport's threads after close()")
        .isEmpty();

    runner.close();
    List<Thread> left = awaitEnded(newThreads(before));
    assertThat(left)
        .as("threads left once the transport is closed and the stub runner stopped")
        .isEmpty();
  }

  @Test
  void aTransportClosedFromItsOwnCallbackThreadDoesNotWaitForItself() throws Exception {
    Set<Thread> before = liveThreads();
    try (StubRunner runner = StubRunner.start(new StubService())) {
      GrpcTransport transport = new GrpcTransport(TransportSettings.defaults());
      ModelConnection connection = transport.connect(runner.endpoint());
      long start = System.nanoTime();
      value(connection.setup("b.B", Arguments.none(), QUICK).thenRun(transport::close));
      assertThat(since(start)).isLessThan(BOUND.plusSeconds(1));
      assertThat(awaitEnded(transportThreads(transport))).isEmpty();
    }
    assertThat(awaitEnded(newThreads(before))).isEmpty();
  }

  // ---------------------------------------------------------------------------------------------

  private static Set<Thread> liveThreads() {
    return Thread.getAllStackTraces().keySet();
  }

  private static List<Thread> transportThreads(GrpcTransport transport) {
    return liveThreads().stream()
        .filter(thread -> thread.getName().startsWith(transport.threadNamePrefix()))
        .collect(Collectors.toList());
  }

  /** Threads started since {@code before}, except those the JVM and JUnit start lazily and keep. */
  private static List<Thread> newThreads(Set<Thread> before) {
    List<String> jvm =
        List.of(
            "ForkJoinPool",
            "CompletableFutureDelayScheduler",
            "junit-",
            "Attach Listener",
            "process reaper",
            "Common-Cleaner",
            "surefire-",
            "Notification Thread");
    return liveThreads().stream()
        .filter(thread -> !before.contains(thread))
        .filter(thread -> jvm.stream().noneMatch(prefix -> thread.getName().startsWith(prefix)))
        .collect(Collectors.toList());
  }

  /** Joins the threads, 5 s at most in all, and returns those still alive. */
  private static List<Thread> awaitEnded(List<Thread> threads) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    List<Thread> alive = new ArrayList<>();
    for (Thread thread : threads) {
      TimeUnit.NANOSECONDS.timedJoin(thread, Math.max(1, deadline - System.nanoTime()));
      if (thread.isAlive()) {
        alive.add(thread);
      }
    }
    return alive;
  }
}
