package org.modelrunner.benchmarks;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.HdrHistogram.Histogram;
import org.modelrunner.client.FanOut;
import org.modelrunner.client.ModelFleet;
import org.modelrunner.transport.grpc.proto.DynamicSubclassServiceGrpc;

/**
 * A coordinator that has just started, in a process of its own: {@link GrpcBaselineBenchmark}
 * starts one over servers that are warm by then, so that its ticks show the client's own warm-up
 * (the benchmark's process has made thousands of calls before its fan-out phase: its client is
 * warm). Either our fleet over runners or the raw client over trivial servers; it connects to every
 * server first (our fleet's Setup, the raw client's health check), then times {@code ticks}
 * fan-outs and prints one line: {@code fresh <first> <p50 of ticks 2-100> <p50 of ticks 500-600>
 * <p50 of the last 100>}, in microseconds.
 */
final class FreshCoordinator {
  private FreshCoordinator() {}

  /** The fewest ticks a fresh coordinator times: its last 100 come after ticks 500-600. */
  static final int MIN_TICKS = 700;

  /** What a fresh coordinator measured, in microseconds. */
  record Ticks(double first, double early, double afterFiveHundred, double last) {}

  /**
   * Runs a fresh coordinator in a new process and returns its figures.
   *
   * @param raw the raw client over trivial servers rather than our fleet over runners
   * @param ports the servers' ports
   * @param ticks how many ticks it times (at least {@link #MIN_TICKS})
   * @param log the file that takes the process's output
   */
  static Ticks run(boolean raw, List<Integer> ports, int ticks, Path log)
      throws IOException, InterruptedException {
    List<String> args = new ArrayList<>(List.of(raw ? "raw" : "fleet", Integer.toString(ticks)));
    ports.forEach(port -> args.add(port.toString()));
    Process process = Processes.client(FreshCoordinator.class, args, log);
    if (!process.waitFor(10, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      throw new IllegalStateException("A fresh coordinator did not finish: see " + log);
    }
    for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
      if (line.startsWith("fresh ")) {
        double[] values =
            Arrays.stream(line.substring(6).strip().split(" "))
                .mapToDouble(Double::parseDouble)
                .toArray();
        return new Ticks(values[0], values[1], values[2], values[3]);
      }
    }
    throw new IllegalStateException(
        "A fresh coordinator ended with " + process.exitValue() + " and no figures: see " + log);
  }

  /** {@code fleet|raw <ticks> <port>...}. */
  public static void main(String[] args) throws Exception {
    boolean raw = args[0].equals("raw");
    int ticks = Integer.parseInt(args[1]);
    List<Integer> ports = new ArrayList<>();
    for (int i = 2; i < args.length; i++) {
      ports.add(Integer.parseInt(args[i]));
    }
    java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.SEVERE);
    if (raw) {
      EventLoopGroup loops = GrpcBaselineBenchmark.eventLoops();
      List<ManagedChannel> channels = new ArrayList<>();
      try {
        List<DynamicSubclassServiceGrpc.DynamicSubclassServiceFutureStub> stubs = new ArrayList<>();
        for (int port : ports) {
          ManagedChannel channel = GrpcBaselineBenchmark.channel(loops, port);
          channels.add(channel);
          GrpcBaselineBenchmark.awaitServing(channel, System.nanoTime());
          stubs.add(DynamicSubclassServiceGrpc.newFutureStub(channel));
        }
        print(ticks, () -> GrpcBaselineBenchmark.time(() -> GrpcBaselineBenchmark.rawTick(stubs)));
      } finally {
        channels.forEach(ManagedChannel::shutdownNow);
        loops.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      }
    } else {
      try (ModelFleet fleet = GrpcBaselineBenchmark.connectedFleet(ports)) {
        FanOut predict = FanOut.of("predict");
        print(ticks, () -> GrpcBaselineBenchmark.time(() -> fleet.callAndWait(predict)));
      }
    }
  }

  /** Times {@code ticks} ticks and prints the line the benchmark reads. */
  private static void print(int ticks, LongSupplier tick) {
    if (ticks < MIN_TICKS) {
      throw new IllegalArgumentException(
          "At least " + MIN_TICKS + " ticks (the last 100 after ticks 500-600), got " + ticks);
    }
    long first = tick.getAsLong() / 1_000;
    Histogram early = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
    Histogram afterFiveHundred = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
    Histogram last = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
    for (int i = 1; i < ticks; i++) {
      long took = tick.getAsLong() / 1_000;
      if (i < 100) {
        early.recordValue(took);
      }
      if (i >= 500 && i < 600) {
        afterFiveHundred.recordValue(took);
      }
      if (i >= ticks - 100) {
        last.recordValue(took);
      }
    }
    System.out.printf(
        Locale.ROOT,
        "fresh %d %d %d %d%n",
        first,
        early.getValueAtPercentile(50),
        afterFiveHundred.getValueAtPercentile(50),
        last.getValueAtPercentile(50));
  }
}
