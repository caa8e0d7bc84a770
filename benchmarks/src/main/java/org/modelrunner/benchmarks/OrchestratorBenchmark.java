package org.modelrunner.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.modelrunner.client.CallOutcome;
import org.modelrunner.client.CallStatus;
import org.modelrunner.client.FanOut;
import org.modelrunner.client.FanOutResult;
import org.modelrunner.client.FleetEvent;
import org.modelrunner.client.FleetListener;
import org.modelrunner.client.ModelFleet;
import org.modelrunner.client.ModelStatus;
import org.modelrunner.client.OrchestratorDirectory;
import org.modelrunner.testsupport.FakeOrchestrator;

/**
 * How the fleet keeps up with the Model Orchestrator's churn: a real {@link FakeOrchestrator} (a
 * Jetty WebSocket server on loopback) feeds an {@link OrchestratorDirectory} that a {@link
 * ModelFleet} follows, all in this JVM; the models are {@link SimulatedTransportProvider simulated}
 * ({@code simulated://} endpoints, via {@link OrchestratorDirectory.Builder#endpointScheme}): each
 * setup succeeds after a delay D, calls answer at once. Prints three figures:
 *
 * <ol>
 *   <li><b>Settle time</b>: the orchestrator's {@code init} lists N models whose setups take D
 *       each; the time from {@code build()} to {@link ModelFleet#awaitSettled} returning true, also
 *       as a multiple of D (the Python client applies events one at a time, so it would need about
 *       N × D).
 *   <li><b>Update throughput</b>: K {@code update} frames for connected models, alternately a
 *       duplicate (no event) and new infos (one {@link FleetEvent.Kind#INFOS_UPDATED}); frames per
 *       second from the first frame sent until the fleet emitted the last expected event. The
 *       frames are written ahead and sent with {@link FakeOrchestrator#send}, so that the fake's
 *       own JSON writing is not measured.
 *   <li><b>Redeploy storm while ticking</b>: every model gets a new deployment (new deployment id,
 *       new ip) at once, setups taking D, while the coordinator runs a fan-out ({@code predict(x)},
 *       call timeout 1 s) every 100 ms; prints the ticks run, the outcomes that were not {@code
 *       SUCCESS} (expected 0: the old deployment serves until the new one is set up), model slots
 *       missing from ticks, the tick latency (p50, max) and the time until every model was {@link
 *       FleetEvent.Kind#REPLACED}.
 * </ol>
 *
 * <p>Run: {@code java -cp benchmarks/target/model-runner-benchmarks.jar
 * org.modelrunner.benchmarks.OrchestratorBenchmark [models [setup-ms [updates]]]} (defaults 1000,
 * 1000 and 20000; under 10 s on 2 cores). Where the time goes is printed too: when the orchestrator
 * accepted the WebSocket, and when the first and last setups were sent.
 */
public final class OrchestratorBenchmark {
  private static final String CRUNCH = "bench-crunch";
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(1);
  private static final long TICK_PERIOD_MS = 100;

  private OrchestratorBenchmark() {}

  /** Runs the three measurements; arguments: {@code [models [setup-ms [updates]]]}. */
  public static void main(String[] args) throws Exception {
    int models = args.length > 0 ? parse(args[0]) : 1_000;
    int setupMillis = args.length > 1 ? parse(args[1]) : 1_000;
    int updates = args.length > 2 ? parse(args[2]) : 20_000;
    if (models < 1 || setupMillis < 0 || updates < 0 || args.length > 3) {
      throw new IllegalArgumentException(
          "Usage: OrchestratorBenchmark [models >= 1 [setup-ms >= 0 [updates >= 0]]]");
    }
    // One INFO line per model set up would drown the figures.
    java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
    System.out.printf(
        Locale.ROOT,
        "Orchestrator churn: FakeOrchestrator (WebSocket on loopback) -> OrchestratorDirectory -> ModelFleet"
            + " over simulated models (%d cores, Java %s)%n",
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"));
    new Run(models, Duration.ofMillis(setupMillis), updates).run();
  }

  private static int parse(String arg) {
    return Integer.parseInt(arg.replace("_", "").replace(",", ""));
  }

  /** One run of the three measurements over the same fleet. */
  private static final class Run {
    private final int models;
    private final Duration setup;
    private final int updates;
    private final Events events = new Events();

    /** The entry the orchestrator holds for each model now. */
    private final JsonNode[] current;

    /** Made by {@link #settle}; closed by {@link #run}. */
    private ModelFleet fleet;

    Run(int models, Duration setup, int updates) {
      this.models = models;
      this.setup = setup;
      this.updates = updates;
      this.current = new JsonNode[models];
    }

    void run() throws Exception {
      ScheduledExecutorService setups =
          Executors.newScheduledThreadPool(1, daemon("simulated-setups"));
      ScheduledExecutorService ticker =
          Executors.newSingleThreadScheduledExecutor(daemon("bench-ticker"));
      FakeOrchestrator orchestrator = new FakeOrchestrator();
      try {
        orchestrator.start();
        SimulatedTransportProvider.configure(setups, setup);
        if (settle(orchestrator)) {
          if (updates > 0) {
            updateThroughput(orchestrator);
          }
          storm(orchestrator, ticker);
          unexpected();
        }
      } finally {
        if (fleet != null) {
          fleet.close(); // closes the directory too
        }
        orchestrator.close();
        ticker.shutdownNow();
        setups.shutdownNow();
        ticker.awaitTermination(5, TimeUnit.SECONDS);
        setups.awaitTermination(5, TimeUnit.SECONDS);
      }
    }

    // -------------------------------------------------------------------------------------------
    // 1. Settle

    /** Returns whether the fleet settled. */
    private boolean settle(FakeOrchestrator orchestrator) throws InterruptedException {
      System.out.printf(
          Locale.ROOT,
          "%n1. Settle: the init lists %,d models, each setup takes %s%n",
          models,
          seconds(setup.toNanos()));
      for (int i = 0; i < models; i++) {
        current[i] = entry(i, 1, 0);
        orchestrator.put(CRUNCH, current[i]);
      }
      OrchestratorDirectory directory =
          OrchestratorDirectory.builder(orchestrator.uri(), CRUNCH)
              .endpointScheme(SimulatedTransportProvider.SCHEME)
              .build();
      long setupsBefore = SimulatedTransportProvider.setups();
      SimulatedTransportProvider.resetSetupTimes();
      long start = System.nanoTime();
      fleet =
          ModelFleet.builder()
              .directory(directory)
              .baseClass(BenchBase.class.getName())
              .callTimeout(CALL_TIMEOUT)
              .listener(events)
              .build();
      boolean opened = orchestrator.awaitConnections(1, Duration.ofMinutes(1));
      long connectedAt = System.nanoTime() - start;
      boolean settled = fleet.awaitSettled(setup.multipliedBy(3).plusMinutes(2));
      long elapsed = System.nanoTime() - start;
      int connected = fleet.connectedModelIds().size();
      if (!settled) {
        System.out.printf(
            Locale.ROOT,
            "   NOT settled after %s (%,d of %,d connected)%n",
            seconds(elapsed),
            connected,
            models);
        return false;
      }
      System.out.printf(
          Locale.ROOT,
          "   %-34s %10s  = %s the setup time; %,d/%,d connected, %,d setups sent%n",
          "build() -> awaitSettled true",
          seconds(elapsed),
          times(elapsed),
          connected,
          models,
          SimulatedTransportProvider.setups() - setupsBefore);
      System.out.printf(
          Locale.ROOT,
          "   %-34s %10s  after build()%n",
          "WebSocket accepted by orchestrator",
          opened ? seconds(connectedAt) : "never");
      System.out.printf(
          Locale.ROOT,
          "   %-34s %10s  to %s after build()%n",
          "setups sent from",
          seconds(SimulatedTransportProvider.firstSetupAt() - start),
          seconds(SimulatedTransportProvider.lastSetupAt() - start));
      System.out.printf(
          Locale.ROOT,
          "   %-34s %10s  (N x D: the Python client applies events one at a time)%n",
          "one at a time, for comparison",
          "~" + seconds(setup.toNanos() * models));
      return true;
    }

    private void awaitConnected() throws InterruptedException {
      if (!fleet.awaitConnected(models, setup.multipliedBy(3).plusMinutes(1))) {
        throw new IllegalStateException(
            "Only " + fleet.connectedModelIds().size() + " of " + models + " models connected");
      }
    }

    // -------------------------------------------------------------------------------------------
    // 2. Update throughput

    private void updateThroughput(FakeOrchestrator orchestrator) throws InterruptedException {
      int changes = updates / 2;
      System.out.printf(
          Locale.ROOT,
          "%n2. Update throughput: %,d update frames for connected models (%,d new infos, %,d duplicates)%n",
          updates,
          changes,
          updates - changes);
      // Frame j goes to model (j / 2) % N: first a duplicate of its entry (no event), then new
      // infos (one).
      // The frames are written ahead (what FakeOrchestrator.update sends), so that the time
      // measured is the
      // fleet's and the socket's rather than the fake's JSON writing; the table is brought up to
      // date after.
      String[] frames = new String[updates];
      int[] revision = new int[models];
      for (int j = 0; j < updates; j++) {
        int i = (j / 2) % models;
        if (j % 2 == 1) {
          current[i] = entry(i, 1, ++revision[i]);
        }
        frames[j] = "{\"event\":\"update\",\"data\":[" + current[i] + "]}";
      }
      int target = events.count(FleetEvent.Kind.INFOS_UPDATED) + changes;
      long start = System.nanoTime();
      for (String frame : frames) {
        orchestrator.send(frame);
      }
      long sent = System.nanoTime() - start;
      long last =
          events.awaitCount(
              FleetEvent.Kind.INFOS_UPDATED, target, Duration.ofSeconds(60 + updates / 1_000));
      if (last < 0) {
        System.out.printf(
            Locale.ROOT,
            "   only %,d of %,d INFOS_UPDATED events within the timeout%n",
            events.count(FleetEvent.Kind.INFOS_UPDATED) - (target - changes),
            changes);
        return;
      }
      long applied = last - start;
      for (JsonNode entry : current) {
        orchestrator.put(CRUNCH, entry);
      }
      Thread.sleep(
          300); // any event beyond the expected ones (a duplicate taken as a change) shows up here
      int extra = events.count(FleetEvent.Kind.INFOS_UPDATED) - target;
      System.out.printf(
          Locale.ROOT,
          "   %-34s %10s  %,12.0f frames/s%n",
          "frames written by the orchestrator",
          seconds(sent),
          updates / (sent / 1e9));
      System.out.printf(
          Locale.ROOT,
          "   %-34s %10s  %,12.0f frames/s  (%,d INFOS_UPDATED, %,d beyond the expected)%n",
          "until the last expected event",
          seconds(applied),
          updates / (applied / 1e9),
          changes,
          extra);
    }

    // -------------------------------------------------------------------------------------------
    // 3. Redeploy storm while ticking

    private void storm(FakeOrchestrator orchestrator, ScheduledExecutorService ticker)
        throws Exception {
      System.out.printf(
          Locale.ROOT,
          "%n3. Redeploy storm: %,d new deployments (new deployment id, new ip) at once, each setup takes %s;"
              + " a fan-out every %d ms (call timeout %s)%n",
          models,
          seconds(setup.toNanos()),
          TICK_PERIOD_MS,
          seconds(CALL_TIMEOUT.toNanos()));
      awaitConnected();
      Ticks ticks = new Ticks(fleet, models);
      ScheduledFuture<?> ticking =
          ticker.scheduleAtFixedRate(ticks::tick, 0, TICK_PERIOD_MS, TimeUnit.MILLISECONDS);
      Thread.sleep(3 * TICK_PERIOD_MS); // a few ticks before the storm
      int target = events.count(FleetEvent.Kind.REPLACED) + models;
      long setupsBefore = SimulatedTransportProvider.setups();
      SimulatedTransportProvider.resetSetupTimes();
      long start = System.nanoTime();
      for (int i = 0; i < models; i++) {
        current[i] = entry(i, 2, 0);
        orchestrator.update(CRUNCH, current[i]);
      }
      long sent = System.nanoTime() - start;
      long last =
          events.awaitCount(FleetEvent.Kind.REPLACED, target, setup.multipliedBy(3).plusMinutes(2));
      Thread.sleep(3 * TICK_PERIOD_MS); // a few ticks after the storm
      ticking.cancel(false);
      ticker.submit(() -> {}).get(); // the tick running, if any, is over
      int onNew = 0;
      for (ModelStatus status : fleet.models()) {
        if (status.state() == ModelStatus.State.CONNECTED
            && status.model().deploymentId().endsWith("_d2")) {
          onNew++;
        }
      }
      if (last < 0) {
        System.out.printf(
            Locale.ROOT,
            "   only %,d of %,d models REPLACED within the timeout%n",
            events.count(FleetEvent.Kind.REPLACED) - (target - models),
            models);
      } else {
        System.out.printf(
            Locale.ROOT,
            "   %-34s %10s  = %s the setup time; %,d/%,d connected on the new deployment, %,d setups sent%n",
            "until every model was REPLACED",
            seconds(last - start),
            times(last - start),
            onNew,
            models,
            SimulatedTransportProvider.setups() - setupsBefore);
      }
      System.out.printf(
          Locale.ROOT,
          "   %-34s %10s  to %s after the first (all written in %s)%n",
          "setups sent from",
          seconds(SimulatedTransportProvider.firstSetupAt() - start),
          seconds(SimulatedTransportProvider.lastSetupAt() - start),
          seconds(sent));
      System.out.printf(
          Locale.ROOT,
          "   %-34s %10s  (N x D, one event at a time)%n",
          "one at a time, for comparison",
          "~" + seconds(setup.toNanos() * models));
      ticks.print();
    }

    private void unexpected() {
      Map<FleetEvent.Kind, Integer> others = new EnumMap<>(FleetEvent.Kind.class);
      for (FleetEvent.Kind kind : FleetEvent.Kind.values()) {
        if (kind != FleetEvent.Kind.CONNECTED
            && kind != FleetEvent.Kind.INFOS_UPDATED
            && kind != FleetEvent.Kind.REPLACED
            && events.count(kind) > 0) {
          others.put(kind, events.count(kind));
        }
      }
      System.out.printf(
          Locale.ROOT,
          "%nOther fleet events: %s%n",
          others.isEmpty() ? "none" : others + "; the first: " + events.firstOther());
    }

    private static JsonNode entry(int model, int deployment, int revision) {
      Map<String, String> infos = new LinkedHashMap<>();
      infos.put("model_name", "model-" + model);
      infos.put("cruncher_name", "cruncher-" + model);
      infos.put("revision", Integer.toString(revision));
      return FakeOrchestrator.entry(
          "m" + model,
          "m" + model + "_d" + deployment,
          "RUNNING",
          deployment == 1 ? "m" + model : "m" + model + "-v" + deployment,
          1,
          infos);
    }

    private String times(long nanos) {
      return setup.isZero()
          ? "n/a x"
          : String.format(Locale.ROOT, "%.2f x", nanos / (double) setup.toNanos());
    }
  }

  /** The coordinator's ticks during the storm: one fan-out per run, on the ticker thread only. */
  private static final class Ticks {
    private final ModelFleet fleet;
    private final int models;
    private final Histogram latency = new Histogram(TimeUnit.MINUTES.toNanos(1), 3);
    private final Map<String, Integer> notSuccess = new LinkedHashMap<>();
    private final List<String> examples = new ArrayList<>();
    private int ticks;
    private int outcomes;
    private int failed;
    private long missing;
    private int ticksMissing;
    private String error;

    Ticks(ModelFleet fleet, int models) {
      this.fleet = fleet;
      this.models = models;
    }

    void tick() {
      try {
        long start = System.nanoTime();
        FanOutResult result = fleet.callAndWait(FanOut.of("predict", (double) ticks));
        latency.recordValue(
            Math.min(latency.getHighestTrackableValue(), System.nanoTime() - start));
        ticks++;
        outcomes += result.size();
        if (result.size() < models) {
          missing += models - result.size();
          ticksMissing++;
        }
        for (CallOutcome outcome : result.outcomes()) {
          if (outcome.status() != CallStatus.SUCCESS) {
            failed++;
            String what = outcome.status() + outcome.failure().map(f -> " " + f.code()).orElse("");
            notSuccess.merge(what, 1, Integer::sum);
            if (examples.size() < 3) {
              examples.add(outcome.toString());
            }
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        if (error == null) {
          error = e.toString();
        }
      }
    }

    void print() {
      System.out.printf(
          Locale.ROOT, "   %-34s %,10d  (%,d outcomes)%n", "ticks run", ticks, outcomes);
      System.out.printf(
          Locale.ROOT,
          "   %-34s %,10d  %s%n",
          "outcomes not SUCCESS",
          failed,
          notSuccess.isEmpty() ? "(expected 0)" : notSuccess + " e.g. " + examples);
      System.out.printf(
          Locale.ROOT,
          "   %-34s %,10d  (in %,d ticks: model slots that no tick targeted)%n",
          "models missing from ticks",
          missing,
          ticksMissing);
      System.out.printf(
          Locale.ROOT,
          "   %-34s %10s  p50 %.2f ms, max %.2f ms%n",
          "tick latency",
          "",
          latency.getValueAtPercentile(50) / 1e6,
          latency.getMaxValue() / 1e6);
      if (error != null) {
        System.out.printf(Locale.ROOT, "   a tick failed: %s%n", error);
      }
    }
  }

  /** Counts the fleet's events by kind and remembers when the last of each kind arrived. */
  private static final class Events implements FleetListener {
    private final int[] counts = new int[FleetEvent.Kind.values().length];
    private final long[] lastAt = new long[FleetEvent.Kind.values().length];
    private FleetEvent firstOther;

    @Override
    public synchronized void onEvent(FleetEvent event) {
      int k = event.kind().ordinal();
      counts[k]++;
      lastAt[k] = System.nanoTime();
      if (firstOther == null
          && event.kind() != FleetEvent.Kind.CONNECTED
          && event.kind() != FleetEvent.Kind.INFOS_UPDATED
          && event.kind() != FleetEvent.Kind.REPLACED) {
        firstOther = event;
      }
      notifyAll();
    }

    synchronized int count(FleetEvent.Kind kind) {
      return counts[kind.ordinal()];
    }

    synchronized FleetEvent firstOther() {
      return firstOther;
    }

    /**
     * Waits for {@code target} events of the kind in all; returns when the last came, or -1 on
     * timeout.
     */
    synchronized long awaitCount(FleetEvent.Kind kind, int target, Duration timeout)
        throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      int k = kind.ordinal();
      while (counts[k] < target) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return -1;
        }
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
      return lastAt[k];
    }
  }

  private static String seconds(long nanos) {
    double s = nanos / 1e9;
    if (s < 1) {
      return String.format(Locale.ROOT, "%.0f ms", nanos / 1e6);
    }
    return String.format(Locale.ROOT, s < 100 ? "%.3f s" : "%,.0f s", s);
  }

  private static ThreadFactory daemon(String name) {
    return runnable -> {
      Thread thread = new Thread(runnable, name);
      thread.setDaemon(true);
      return thread;
    };
  }
}
