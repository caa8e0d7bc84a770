package org.modelrunner.benchmarks;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
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
import org.modelrunner.client.ModelStatus;
import org.modelrunner.client.StaticModelDirectory;

/**
 * Chaos over the network: N gRPC runner processes on loopback, ticked every 100 ms with a 300 ms
 * deadline, while the benchmark kills three with {@code kill -9}, stops two with {@code SIGSTOP}
 * for 10 s (then {@code SIGCONT}) and restarts one on its port. Prints the tick wall time against
 * the deadline, the outcomes per tick, the untouched runners' success rate and whether any was
 * disconnected, the disconnections by code, the time from a kill to {@code CONNECTION_FAILED} (or
 * another way out of the calls), the time from {@code SIGCONT} and from the restart to being
 * connected again, and the coordinator's threads and heap.
 *
 * <p>Run (after {@code ./mvnw -B -ntp -DskipTests install}): {@code java -cp
 * benchmarks/target/model-runner-benchmarks.jar org.modelrunner.benchmarks.GrpcChaosBenchmark}.
 * Options as system properties: {@code -Drunners=20}, {@code -Dseconds=45}, {@code
 * -DintervalMs=100}, {@code -DdeadlineMs=300}. Needs {@code kill} on the path (Linux, macOS).
 */
public final class GrpcChaosBenchmark {
  private GrpcChaosBenchmark() {}

  /** One runner process. */
  private static final class Runner {
    final int index;
    final int port;
    final String kind;
    Process process;

    Runner(int index, int port, String kind) {
      this.index = index;
      this.port = port;
      this.kind = kind;
    }

    String id() {
      return "127.0.0.1:" + port;
    }
  }

  /** Runs the benchmark once. */
  public static void main(String[] args) throws Exception {
    int count = Integer.getInteger("runners", 20);
    long seconds = Long.getLong("seconds", 45);
    long intervalMs = Long.getLong("intervalMs", 100);
    long deadlineMs = Long.getLong("deadlineMs", 300);
    if (count < 7) {
      throw new IllegalArgumentException("at least 7 runners: 3 killed, 2 stopped, 1 restarted");
    }
    java.util.logging.Logger.getLogger("")
        .setLevel(
            Boolean.getBoolean("verbose")
                ? java.util.logging.Level.WARNING
                : java.util.logging.Level.SEVERE);
    Path work = WorkDirectory.create("modelrunner-grpc-chaos");
    Path code = Processes.submission(work);
    List<Runner> runners = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String kind = i < 3 ? "killed" : i < 5 ? "stopped" : i == 5 ? "restarted" : "untouched";
      runners.add(new Runner(i, Processes.freePort(), kind));
    }
    for (Runner runner : runners) {
      runner.process =
          Processes.runner(code, runner.port, work.resolve("runner-" + runner.index + ".log"));
    }
    // The chaos starts once every runner serves: twenty JVMs starting at once on a small machine
    // can outlast the fleet's connection attempts, which is not what this benchmark measures.
    for (Runner runner : runners) {
      awaitListening(runner.port, TimeUnit.MINUTES.toNanos(2));
    }
    Map<String, Runner> byId = new HashMap<>();
    runners.forEach(runner -> byId.put(runner.id(), runner));
    Map<String, Integer> disconnects = new TreeMap<>();
    Set<String> untouchedOut = ConcurrentHashMap.newKeySet();
    Map<String, Long> outAt = new ConcurrentHashMap<>();
    long[] origin = {System.nanoTime()};
    String[] uris = runners.stream().map(r -> "grpc://" + r.id()).toArray(String[]::new);
    try (ModelFleet fleet =
        ModelFleet.builder()
            .directory(StaticModelDirectory.of(uris))
            .baseClass(BenchBase.class.getName())
            .callTimeout(Duration.ofMillis(deadlineMs))
            .listener(
                event -> {
                  if (event.kind() == FleetEvent.Kind.DISCONNECTED
                      || event.kind() == FleetEvent.Kind.CONNECTION_FAILED) {
                    String code1 =
                        event.kind() == FleetEvent.Kind.CONNECTION_FAILED
                            ? "CONNECTION_FAILED"
                            : String.valueOf(event.code());
                    synchronized (disconnects) {
                      disconnects.merge(code1, 1, Integer::sum);
                    }
                    outAt.putIfAbsent(event.modelId() + " " + code1, System.nanoTime());
                    Runner runner = byId.get(event.modelId());
                    if (runner != null && runner.kind.equals("untouched")) {
                      untouchedOut.add(event.modelId());
                    }
                  }
                })
            .build()) {
      if (!fleet.awaitSettled(Duration.ofMinutes(2)) || fleet.connectedModelIds().size() < count) {
        throw new IllegalStateException(
            "Only " + fleet.connectedModelIds().size() + " of " + count + " runners connected");
      }
      Histogram wall = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
      long untouchedCalls = 0;
      long untouchedSuccesses = 0;
      int minOutcomes = Integer.MAX_VALUE;
      int maxOutcomes = 0;
      int overDeadline = 0;
      long killAt = 0;
      long contAt = 0;
      long restartAt = 0;
      Map<String, Long> backAt = new HashMap<>();
      long[] listeningAfter = {-1}; // when the restarted runner accepted connections
      FanOut predict = FanOut.of("predict");
      origin[0] = System.nanoTime();
      long ticks = seconds * 1000 / intervalMs;
      for (long t = 0; t < ticks; t++) {
        long due = origin[0] + TimeUnit.MILLISECONDS.toNanos(t * intervalMs);
        for (long left; (left = due - System.nanoTime()) > 0; ) {
          TimeUnit.NANOSECONDS.sleep(left);
        }
        long second = t * intervalMs / 1000;
        if (second == 5 && killAt == 0) {
          killAt = System.nanoTime();
          for (Runner runner : runners) {
            if (runner.kind.equals("killed") || runner.kind.equals("restarted")) {
              runner.process.destroyForcibly();
            } else if (runner.kind.equals("stopped")) {
              signal(runner.process, "-STOP");
            }
          }
        }
        if (second == 7 && restartAt == 0) {
          restartAt = System.nanoTime();
          for (Runner runner : runners) {
            if (runner.kind.equals("restarted")) {
              runner.process.waitFor(10, TimeUnit.SECONDS);
              runner.process =
                  Processes.runner(
                      code, runner.port, work.resolve("runner-" + runner.index + ".log"));
              watchListening(runner.port, restartAt, listeningAfter);
            }
          }
        }
        if (second == 15 && contAt == 0) {
          contAt = System.nanoTime();
          for (Runner runner : runners) {
            if (runner.kind.equals("stopped")) {
              signal(runner.process, "-CONT");
            }
          }
        }
        long start = System.nanoTime();
        FanOutResult result = fleet.callAndWait(predict);
        long took = System.nanoTime() - start;
        wall.recordValue(took);
        if (took > TimeUnit.MILLISECONDS.toNanos(deadlineMs + 5)) {
          overDeadline++;
        }
        minOutcomes = Math.min(minOutcomes, result.size());
        maxOutcomes = Math.max(maxOutcomes, result.size());
        for (CallOutcome outcome : result.outcomes()) {
          Runner runner = byId.get(outcome.modelId());
          if (runner != null && runner.kind.equals("untouched")) {
            untouchedCalls++;
            untouchedSuccesses += outcome.status() == CallStatus.SUCCESS ? 1 : 0;
          }
        }
        if (killAt != 0) {
          for (ModelStatus status : fleet.models()) {
            Runner runner = byId.get(status.modelId());
            long since = runner == null ? 0 : runner.kind.equals("stopped") ? contAt : restartAt;
            if (runner != null
                && since != 0
                && (runner.kind.equals("stopped") || runner.kind.equals("restarted"))
                && status.state() == ModelStatus.State.CONNECTED
                && status.counts().successes() > 0
                && result.outcomes().stream()
                    .anyMatch(
                        o ->
                            o.modelId().equals(status.modelId())
                                && o.status() == CallStatus.SUCCESS)) {
              backAt.putIfAbsent(status.modelId(), System.nanoTime() - since);
            }
          }
        }
      }
      System.out.printf(
          Locale.ROOT,
          "gRPC chaos: %d runner processes on loopback, a tick every %d ms with a %d ms deadline, %d"
              + " s; at 5 s kill -9 of 3, SIGSTOP of 2 (SIGCONT at 15 s), kill -9 of 1 restarted on"
              + " its port at 7 s (%d cores, Java %s)%n",
          count,
          intervalMs,
          deadlineMs,
          seconds,
          Runtime.getRuntime().availableProcessors(),
          System.getProperty("java.version"));
      System.out.printf(
          Locale.ROOT,
          "tick wall ms: p50 %.2f  p99 %.2f  max %.2f  (deadline %d ms; ticks over deadline + 5 ms:"
              + " %d of %d)%n",
          wall.getValueAtPercentile(50) / 1e6,
          wall.getValueAtPercentile(99) / 1e6,
          wall.getMaxValue() / 1e6,
          deadlineMs,
          overDeadline,
          ticks);
      System.out.printf(
          Locale.ROOT, "outcomes per tick: min %d  max %d%n", minOutcomes, maxOutcomes);
      System.out.printf(
          Locale.ROOT,
          "untouched runners: %.3f%% success (%d of %d calls), %d disconnected %s%n",
          untouchedCalls == 0 ? 0 : 100.0 * untouchedSuccesses / untouchedCalls,
          untouchedSuccesses,
          untouchedCalls,
          untouchedOut.size(),
          untouchedOut);
      System.out.printf(Locale.ROOT, "out of the calls, by code: %s%n", disconnects);
      for (Runner runner : runners) {
        if (runner.kind.equals("untouched")) {
          continue;
        }
        List<String> ways = new ArrayList<>();
        for (Map.Entry<String, Long> out : outAt.entrySet()) {
          if (out.getKey().startsWith(runner.id() + " ")) {
            ways.add(
                String.format(
                    Locale.ROOT,
                    "%s after %.1f s",
                    out.getKey().substring(runner.id().length() + 1),
                    (out.getValue() - killAt) / 1e9));
          }
        }
        Long back = backAt.get(runner.id());
        System.out.printf(
            Locale.ROOT,
            "  %-9s %s: out %s; %s%n",
            runner.kind,
            runner.id(),
            ways.isEmpty() ? "never" : String.join(", ", ways),
            runner.kind.equals("killed")
                ? "(not restarted)"
                : back == null
                    ? "never back"
                    : String.format(
                        Locale.ROOT,
                        "back %.1f s after %s%s",
                        back / 1e9,
                        runner.kind.equals("stopped") ? "SIGCONT" : "its restart",
                        runner.kind.equals("restarted") && listeningAfter[0] >= 0
                            ? String.format(
                                Locale.ROOT,
                                " (its JVM accepted connections after %.1f s)",
                                listeningAfter[0] / 1e9)
                            : ""));
      }
      System.out.printf(
          Locale.ROOT,
          "coordinator: %d threads at the end, heap %.1f MiB%n",
          ManagementFactory.getThreadMXBean().getThreadCount(),
          ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / 1048576.0);
    } finally {
      for (Runner runner : runners) {
        if (runner.process != null) {
          signal(runner.process, "-CONT");
          runner.process.destroyForcibly();
        }
      }
    }
  }

  private static void signal(Process process, String signal) {
    try {
      new ProcessBuilder("kill", signal, Long.toString(process.pid()))
          .redirectErrorStream(true)
          .start()
          .waitFor(5, TimeUnit.SECONDS);
    } catch (IOException e) {
      throw new IllegalStateException("kill " + signal + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Waits until the port accepts a connection, looking every 20 ms, for at most {@code nanos}. */
  private static void awaitListening(int port, long nanos) throws InterruptedException {
    long until = System.nanoTime() + nanos;
    while (System.nanoTime() < until) {
      try (java.net.Socket socket =
          new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), port)) {
        return;
      } catch (IOException notYet) {
        TimeUnit.MILLISECONDS.sleep(20);
      }
    }
    throw new IllegalStateException("No runner listening on port " + port + " after 2 minutes");
  }

  /**
   * Records in {@code after[0]} how long after {@code since} the port first accepts a connection
   * (the restarted runner's JVM serving), looking every 20 ms from a thread of its own.
   */
  private static void watchListening(int port, long since, long[] after) {
    Thread watcher =
        new Thread(
            () -> {
              while (true) {
                try (java.net.Socket socket =
                    new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), port)) {
                  after[0] = System.nanoTime() - since;
                  return;
                } catch (IOException notYet) {
                  try {
                    TimeUnit.MILLISECONDS.sleep(20);
                  } catch (InterruptedException e) {
                    return;
                  }
                }
              }
            },
            "listening-watch");
    watcher.setDaemon(true);
    watcher.start();
  }
}
