package org.modelrunner.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.modelrunner.client.FanOut;
import org.modelrunner.client.FanOutResult;
import org.modelrunner.client.ModelFleet;
import org.modelrunner.client.StaticModelDirectory;
import org.modelrunner.loader.HostedModel;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.PreparedCall;
import org.modelrunner.spi.ProviderRegistry;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportProvider;
import org.modelrunner.spi.TransportSettings;
import org.modelrunner.transport.grpc.GrpcRunner;

/**
 * The gRPC transport on loopback: one call's round trip, a runner's throughput, and a fleet's
 * fan-out over 10 and 100 runners (all in this JVM, each runner its own server and port on
 * 127.0.0.1).
 *
 * <p>Run: {@code java -cp benchmarks/target/model-runner-benchmarks.jar
 * org.modelrunner.benchmarks.GrpcBenchmark}. System properties: {@code -Dcalls=} round trips
 * (default 20000), {@code -Dseconds=} throughput duration (default 5), {@code -Dticks=} fan-out
 * ticks (default 1000).
 */
public final class GrpcBenchmark {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private GrpcBenchmark() {}

  /** Runs the three measurements and prints their figures. */
  public static void main(String[] args) throws Exception {
    java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
    System.out.printf(
        Locale.ROOT,
        "gRPC on loopback (%d cores, Java %s)%n",
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"));
    roundTripAndThroughput(Integer.getInteger("calls", 20_000), Integer.getInteger("seconds", 5));
    for (int size : new int[] {10, 100}) {
      fanOut(size, Integer.getInteger("ticks", 1_000));
    }
  }

  private static GrpcRunner runner() throws java.io.IOException {
    return GrpcRunner.builder()
        .model(HostedModel.forImplementation(InstantModel.class))
        .host("127.0.0.1")
        .port(0)
        .build()
        .start();
  }

  private static ModelTransport transport() {
    for (TransportProvider provider : ProviderRegistry.load(TransportProvider.class).providers()) {
      if (provider.schemes().contains("grpc")) {
        return provider.create(TransportSettings.defaults());
      }
    }
    throw new IllegalStateException("No gRPC transport on the class path");
  }

  private static void roundTripAndThroughput(int calls, int seconds) throws Exception {
    try (GrpcRunner runner = runner();
        ModelTransport transport = transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      Reply setup = connection.setup(BenchBase.class.getName(), Arguments.none(), TIMEOUT).get();
      if (!setup.status().isSuccess()) {
        throw new IllegalStateException("Setup failed: " + setup);
      }
      PreparedCall predict = transport.prepare("predict", Arguments.none());
      for (int i = 0; i < calls / 4; i++) {
        connection.call(predict, TIMEOUT).get();
      }
      Histogram histogram = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
      for (int i = 0; i < calls; i++) {
        long start = System.nanoTime();
        Reply reply = connection.call(predict, TIMEOUT).get();
        histogram.recordValue(System.nanoTime() - start);
        if (!reply.status().isSuccess()) {
          throw new IllegalStateException("A call failed: " + reply);
        }
      }
      System.out.printf(
          Locale.ROOT,
          "round trip (one call at a time, %d calls): p50 %.1f µs, p99 %.1f µs, max %.1f µs%n",
          calls,
          histogram.getValueAtPercentile(50) / 1e3,
          histogram.getValueAtPercentile(99) / 1e3,
          histogram.getMaxValue() / 1e3);

      // Throughput of one runner: calls back to back from one connection (a runner serves one call
      // at a
      // time, so this is its ceiling), for a fixed time.
      AtomicLong done = new AtomicLong();
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      long start = System.nanoTime();
      while (System.nanoTime() < end) {
        connection.call(predict, TIMEOUT).get();
        done.incrementAndGet();
      }
      double elapsed = (System.nanoTime() - start) / 1e9;
      System.out.printf(
          Locale.ROOT,
          "runner throughput (back to back, %d s): %.0f calls/s%n",
          seconds,
          done.get() / elapsed);
    }
  }

  private static void fanOut(int size, int ticks) throws Exception {
    List<GrpcRunner> runners = new ArrayList<>();
    try {
      List<String> endpoints = new ArrayList<>();
      for (int i = 0; i < size; i++) {
        GrpcRunner runner = runner();
        runners.add(runner);
        endpoints.add(runner.endpoint().toString());
      }
      try (ModelFleet fleet =
          ModelFleet.builder()
              .directory(StaticModelDirectory.of(endpoints.toArray(new String[0])))
              .baseClass(BenchBase.class.getName())
              .callTimeout(TIMEOUT)
              .build()) {
        if (!fleet.awaitConnected(size, Duration.ofMinutes(2))) {
          throw new IllegalStateException(
              "Only " + fleet.connectedModelIds().size() + " of " + size + " connected");
        }
        FanOut predict = FanOut.of("predict");
        for (int i = 0; i < ticks / 2; i++) {
          fleet.callAndWait(predict);
        }
        Histogram histogram = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
        for (int i = 0; i < ticks; i++) {
          long start = System.nanoTime();
          FanOutResult result = fleet.callAndWait(predict);
          histogram.recordValue(System.nanoTime() - start);
          if (result.successes().size() != size) {
            throw new IllegalStateException("A tick did not succeed for every runner: " + result);
          }
        }
        System.out.printf(
            Locale.ROOT,
            "fleet fan-out over %d runners (%d ticks): p50 %.3f ms, p99 %.3f ms, max %.3f ms%n",
            size,
            ticks,
            histogram.getValueAtPercentile(50) / 1e6,
            histogram.getValueAtPercentile(99) / 1e6,
            histogram.getMaxValue() / 1e6);
      }
    } finally {
      List<CompletableFuture<Void>> stops = new ArrayList<>();
      for (GrpcRunner runner : runners) {
        stops.add(CompletableFuture.runAsync(runner::close));
      }
      CompletableFuture.allOf(stops.toArray(new CompletableFuture[0])).get(2, TimeUnit.MINUTES);
    }
  }
}
