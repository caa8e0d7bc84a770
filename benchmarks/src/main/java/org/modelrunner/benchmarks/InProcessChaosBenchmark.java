package org.modelrunner.benchmarks;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.modelrunner.client.CallOutcome;
import org.modelrunner.client.CallStatus;
import org.modelrunner.client.FanOut;
import org.modelrunner.client.FanOutResult;
import org.modelrunner.client.FleetEvent;
import org.modelrunner.client.ModelFleet;
import org.modelrunner.transport.inprocess.InProcessModels;
import org.modelrunner.transport.inprocess.InProcessRunner;

/**
 * Chaos in one JVM: a fleet of in-process models of which some hang for good (a {@code predict}
 * that never returns and ignores interruption), some throw and a few are slow (four times the
 * deadline), ticked back to back with a short deadline. Prints the tick wall time against the
 * deadline, the outcomes per tick, the healthy models' success rate, the disconnections by code,
 * and the threads and heap at the start and the end.
 *
 * <p>Run: {@code java -cp benchmarks/target/model-runner-benchmarks.jar
 * org.modelrunner.benchmarks.InProcessChaosBenchmark}. Options as system properties: {@code
 * -Dmodels=1000}, {@code -Dticks=300}, {@code -DdeadlineMs=50}, {@code -DhungPercent=10}, {@code
 * -DthrowingPercent=10}, {@code -Dslow=4}, {@code -Dwarmup=200} (ticks of a fleet of healthy models
 * first, closed before the run: the figures are about misbehaving models, not a cold JVM), {@code
 * -Dverbose=true} (the first ticks one by one).
 */
public final class InProcessChaosBenchmark {
  private InProcessChaosBenchmark() {}

  /** Runs the benchmark once. */
  public static void main(String[] args) throws Exception {
    int models = Integer.getInteger("models", 1_000);
    int ticks = Integer.getInteger("ticks", 300);
    long deadlineMs = Long.getLong("deadlineMs", 50);
    int hungPercent = Integer.getInteger("hungPercent", 10);
    int throwingPercent = Integer.getInteger("throwingPercent", 10);
    int slow = Integer.getInteger("slow", 4);
    ChaosModels.Slow.slowMillis = 4 * deadlineMs;
    java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.SEVERE);

    warmUp(models, Integer.getInteger("warmup", 200), deadlineMs);
    int hung = models * hungPercent / 100;
    int throwing = models * throwingPercent / 100;
    Set<String> healthy = ConcurrentHashMap.newKeySet();
    List<InProcessRunner> runners = new ArrayList<>(models);
    int threadsAtStart = ManagementFactory.getThreadMXBean().getThreadCount();
    long heapAtStart = usedHeap();
    for (int i = 0; i < models; i++) {
      // Spread the kinds over the fleet, so that misbehaving models sit between healthy ones.
      int slot = (int) ((i * 7919L) % models);
      Class<?> type;
      String kind;
      if (slot < hung) {
        type = ChaosModels.Hung.class;
        kind = "hung";
      } else if (slot < hung + throwing) {
        type = ChaosModels.Throwing.class;
        kind = "throwing";
      } else if (slot < hung + throwing + slow) {
        type = ChaosModels.Slow.class;
        kind = "slow";
      } else {
        type = InstantModel.class;
        kind = "healthy";
      }
      String name = kind + "-" + i;
      if (kind.equals("healthy")) {
        healthy.add(name);
      }
      runners.add(InProcessModels.register(name, type));
    }
    Map<String, Integer> disconnects = new TreeMap<>();
    Set<String> healthyDisconnected = ConcurrentHashMap.newKeySet();
    try (ModelFleet fleet =
        ModelFleet.builder()
            .directory(InProcessModels.directory())
            .baseClass(BenchBase.class.getName())
            .callTimeout(Duration.ofMillis(deadlineMs))
            .listener(
                event -> {
                  if (event.kind() == FleetEvent.Kind.DISCONNECTED) {
                    synchronized (disconnects) {
                      disconnects.merge(String.valueOf(event.code()), 1, Integer::sum);
                    }
                    if (healthy.contains(event.modelId())) {
                      healthyDisconnected.add(event.modelId());
                    }
                  }
                })
            .build()) {
      if (!fleet.awaitConnected(models, Duration.ofMinutes(2))) {
        throw new IllegalStateException(
            "Only " + fleet.connectedModelIds().size() + " of " + models + " connected");
      }
      Histogram wall = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
      long healthyCalls = 0;
      long healthySuccesses = 0;
      int minOutcomes = Integer.MAX_VALUE;
      int maxOutcomes = 0;
      int overDeadlinePlus5 = 0;
      FanOut predict = FanOut.of("predict");
      for (int t = 0; t < ticks; t++) {
        long start = System.nanoTime();
        FanOutResult result = fleet.callAndWait(predict);
        long took = System.nanoTime() - start;
        wall.recordValue(took);
        if (took > TimeUnit.MILLISECONDS.toNanos(deadlineMs + 5)) {
          overDeadlinePlus5++;
        }
        if (Boolean.getBoolean("verbose") && t < 12) {
          long ok = 0;
          long timeouts = 0;
          for (CallOutcome outcome : result.outcomes()) {
            if (healthy.contains(outcome.modelId())) {
              ok += outcome.status() == CallStatus.SUCCESS ? 1 : 0;
              timeouts += outcome.status() == CallStatus.TIMEOUT ? 1 : 0;
            }
          }
          System.out.printf(
              Locale.ROOT,
              "tick %d: %.1f ms (fan-out %d ms), healthy %d ok, %d timeouts, outcomes %d%n",
              t,
              took / 1e6,
              result.elapsed().toMillis(),
              ok,
              timeouts,
              result.size());
        }
        minOutcomes = Math.min(minOutcomes, result.size());
        maxOutcomes = Math.max(maxOutcomes, result.size());
        for (CallOutcome outcome : result.outcomes()) {
          if (healthy.contains(outcome.modelId())) {
            healthyCalls++;
            if (outcome.status() == CallStatus.SUCCESS) {
              healthySuccesses++;
            }
          }
        }
      }
      System.out.printf(
          Locale.ROOT,
          "In-process chaos: %d models (%d hung, %d throwing, %d taking %d ms, %d healthy),"
              + " %d ticks, deadline %d ms, %d cores, Java %s%n",
          models,
          hung,
          throwing,
          slow,
          4 * deadlineMs,
          healthy.size(),
          ticks,
          deadlineMs,
          Runtime.getRuntime().availableProcessors(),
          System.getProperty("java.version"));
      System.out.printf(
          Locale.ROOT,
          "tick wall ms: p50 %.2f  p99 %.2f  max %.2f  (deadline %d ms; ticks over deadline + 5 ms:"
              + " %d)%n",
          wall.getValueAtPercentile(50) / 1e6,
          wall.getValueAtPercentile(99) / 1e6,
          wall.getMaxValue() / 1e6,
          deadlineMs,
          overDeadlinePlus5);
      System.out.printf(
          Locale.ROOT, "outcomes per tick: min %d  max %d%n", minOutcomes, maxOutcomes);
      System.out.printf(
          Locale.ROOT,
          "healthy models: %.3f%% success (%d of %d calls), %d disconnected%n",
          healthyCalls == 0 ? 0 : 100.0 * healthySuccesses / healthyCalls,
          healthySuccesses,
          healthyCalls,
          healthyDisconnected.size());
      System.out.printf(Locale.ROOT, "disconnects by code: %s%n", disconnects);
      System.out.printf(
          Locale.ROOT,
          "threads: %d at start, %d at the end; heap: %.1f MiB at start, %.1f MiB at the end%n",
          threadsAtStart,
          ManagementFactory.getThreadMXBean().getThreadCount(),
          heapAtStart / 1048576.0,
          usedHeap() / 1048576.0);
    } finally {
      runners.forEach(InProcessRunner::close);
      ChaosModels.released = true;
    }
  }

  /**
   * Warms the JIT up on a fleet of models that all answer at once (then closed): the figures are
   * about misbehaving models, not about a cold JVM.
   */
  private static void warmUp(int models, int ticks, long deadlineMs) throws Exception {
    List<InProcessRunner> runners = new ArrayList<>(models);
    for (int i = 0; i < models; i++) {
      runners.add(InProcessModels.register("warm-up-" + i, InstantModel.class));
    }
    try (ModelFleet fleet =
        ModelFleet.builder()
            .directory(InProcessModels.directory())
            .baseClass(BenchBase.class.getName())
            .callTimeout(Duration.ofMillis(10 * deadlineMs))
            .build()) {
      if (!fleet.awaitConnected(models, Duration.ofMinutes(2))) {
        throw new IllegalStateException("The warm-up fleet did not connect");
      }
      FanOut predict = FanOut.of("predict");
      for (int t = 0; t < ticks; t++) {
        fleet.callAndWait(predict);
      }
    } finally {
      runners.forEach(InProcessRunner::close);
    }
  }

  private static long usedHeap() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(100);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }
}
