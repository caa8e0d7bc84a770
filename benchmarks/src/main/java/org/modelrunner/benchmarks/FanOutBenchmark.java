package org.modelrunner.benchmarks;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.modelrunner.client.CallStatus;
import org.modelrunner.client.FanOut;
import org.modelrunner.client.FanOutResult;
import org.modelrunner.client.ModelFleet;
import org.modelrunner.metrics.FleetMetrics;
import org.modelrunner.transport.inprocess.InProcessModels;
import org.modelrunner.transport.inprocess.InProcessRunner;

/**
 * The fleet's fan-out cost: N in-process models that answer at once, one fan-out ("predict") per
 * tick; prints the time from building the fleet to all models connected, the first tick's time (a
 * coordinator's first fan-out: cold only for the first size a run measures), per-tick latency
 * percentiles, the overhead per model, the process's CPU time and the bytes its threads allocated
 * per model call over the measured ticks, the heap each connected model costs, and the time to
 * close the models once the fleet is closed.
 *
 * <p>Run: {@code java -jar benchmarks/target/model-runner-benchmarks.jar [N ...]} (default 10 100
 * 1000 10000). Options as system properties: {@code -Dticks=} measured ticks per size (default
 * 2000, fewer for large N), {@code -Dwarmup=} warm-up ticks (the first tick among them), {@code
 * -Dmetrics=true} binds the fleet's metrics ({@code FleetMetrics}, to a simple registry) to measure
 * their cost, {@code -Disolated=true} hosts every model as a submission of its own (a folder
 * holding the model's class, loaded by a class loader of its own for each model, as a platform
 * hosts participants' code) rather than the class on the class path shared by all.
 */
public final class FanOutBenchmark {
  private FanOutBenchmark() {}

  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  private static final boolean ISOLATED = Boolean.getBoolean("isolated");

  /** The performance goals this run measures, printed at its end. */
  private static final Goals GOALS = new Goals();

  /** Runs the benchmark for each fleet size given (or the default sizes). */
  public static void main(String[] args) throws Exception {
    int[] sizes = args.length == 0 ? new int[] {10, 100, 1_000, 10_000} : parse(args);
    // One INFO line per model set up would drown the figures.
    java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
    System.out.printf(
        Locale.ROOT,
        "Fan-out over in-process models that answer at once (%d cores, Java %s)%s%s%n",
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"),
        ISOLATED ? ", each a submission of its own" : "",
        Boolean.getBoolean("metrics") ? ", with the fleet's metrics bound" : "");
    System.out.printf(
        Locale.ROOT,
        "%8s %10s %10s %8s %10s %10s %10s %14s %12s %10s %14s %10s%n",
        "models",
        "connect ms",
        "first ms",
        "ticks",
        "p50 ms",
        "p99 ms",
        "max ms",
        "µs/model p50",
        "CPU µs/call",
        "B/call",
        "heap/model KiB",
        "close ms");
    Path code = ISOLATED ? Processes.submission(WorkDirectory.create("modelrunner-fanout")) : null;
    for (int size : sizes) {
      run(size, code);
    }
    GOALS.print();
  }

  private static int[] parse(String[] args) {
    int[] sizes = new int[args.length];
    for (int i = 0; i < args.length; i++) {
      sizes[i] = Integer.parseInt(args[i].replace("_", "").replace(",", ""));
    }
    return sizes;
  }

  /** Runs one size: the models from the submission folder {@code code}, or the class if null. */
  private static void run(int size, Path code) throws Exception {
    int ticks = Integer.getInteger("ticks", Math.max(50, Math.min(2_000, 2_000_000 / size)));
    int warmup = Integer.getInteger("warmup", Math.max(20, ticks / 2));
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    long heapBefore = usedHeap(memory);
    List<InProcessRunner> runners = new ArrayList<>(size);
    String row;
    long closed;
    for (int i = 0; i < size; i++) {
      String name = "bench-" + size + "-" + i;
      runners.add(
          code == null
              ? InProcessModels.register(name, InstantModel.class)
              : InProcessModels.register(name, code));
    }
    long building = System.nanoTime();
    try (ModelFleet fleet =
        ModelFleet.builder()
            .directory(InProcessModels.directory())
            .baseClass(BenchBase.class.getName())
            .callTimeout(Duration.ofSeconds(10))
            .build()) {
      if (Boolean.getBoolean("metrics")) {
        FleetMetrics.bind(fleet, new SimpleMeterRegistry());
      }
      if (!fleet.awaitConnected(size, Duration.ofMinutes(5))) {
        throw new IllegalStateException(
            "Only " + fleet.connectedModelIds().size() + " of " + size + " connected");
      }
      long connected = System.nanoTime() - building;
      long heapConnected = usedHeap(memory);
      FanOut predict = FanOut.of("predict");
      long firstStart = System.nanoTime();
      check(fleet.callAndWait(predict), size);
      long first = System.nanoTime() - firstStart;
      for (int i = 1; i < warmup; i++) {
        check(fleet.callAndWait(predict), size);
      }
      Histogram histogram = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
      long cpuBefore = OS.getProcessCpuTime();
      long bytesBefore = THREADS.getTotalThreadAllocatedBytes();
      for (int i = 0; i < ticks; i++) {
        long start = System.nanoTime();
        FanOutResult result = fleet.callAndWait(predict);
        histogram.recordValue(System.nanoTime() - start);
        check(result, size);
      }
      double calls = (double) ticks * size;
      double cpuMicros = (OS.getProcessCpuTime() - cpuBefore) / 1e3 / calls;
      double bytes = (THREADS.getTotalThreadAllocatedBytes() - bytesBefore) / calls;
      double p50 = histogram.getValueAtPercentile(50) / 1e6;
      row =
          String.format(
              Locale.ROOT,
              "%8d %10.0f %10.2f %8d %10.3f %10.3f %10.3f %14.2f %12.2f %10.0f %14.1f",
              size,
              connected / 1e6,
              first / 1e6,
              ticks,
              p50,
              histogram.getValueAtPercentile(99) / 1e6,
              histogram.getMaxValue() / 1e6,
              p50 * 1_000 / size,
              cpuMicros,
              bytes,
              (heapConnected - heapBefore) / 1024.0 / size);
      // The goal for 10,000 models is for isolated submissions: one class shared by all is much
      // cheaper (its code, its metadata and the fleet's look-ups stay in the processor's caches).
      if (size == 1_000 || (size == 10_000 && code != null)) {
        GOALS.millis(
            String.format(
                Locale.ROOT,
                "in-process fan-out over %,d models%s: tick p50",
                size,
                code == null ? "" : ", each a submission of its own"),
            p50,
            size == 1_000 ? 1 : 15,
            String.format(Locale.ROOT, "(CPU %.2f µs per call)", cpuMicros));
      }
    } finally {
      long closing = System.nanoTime();
      runners.forEach(InProcessRunner::close);
      closed = System.nanoTime() - closing;
    }
    System.out.printf(Locale.ROOT, "%s %10.0f%n", row, closed / 1e6);
  }

  private static void check(FanOutResult result, int size) {
    if (result.size() != size || result.successes().size() != size) {
      throw new IllegalStateException(
          "A tick did not succeed for every model: "
              + result
              + " "
              + result.withStatus(CallStatus.FAILURE).stream().limit(3).toList());
    }
  }

  private static long usedHeap(MemoryMXBean memory) throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(100);
    }
    return memory.getHeapMemoryUsage().getUsed();
  }
}
