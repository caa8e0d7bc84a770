package org.modelrunner.benchmarks;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.HdrHistogram.Histogram;
import org.modelrunner.client.FanOut;
import org.modelrunner.client.ModelFleet;
import org.modelrunner.client.StaticModelDirectory;
import org.modelrunner.transport.grpc.proto.CallRequest;
import org.modelrunner.transport.grpc.proto.CallResponse;
import org.modelrunner.transport.grpc.proto.DynamicSubclassServiceGrpc;

/**
 * Our gRPC stack against grpc-java itself, in one run on one machine: the same unary {@code Call}
 * through a raw generated stub to a {@link TrivialServer} process (the baseline), and through our
 * fleet to our runner process hosting {@link InstantModel}, all over the same Netty I/O (native
 * epoll where it loads) on loopback. Prints each figure beside the baseline's, with the ratio: the
 * client's CPU per call (this process, measured phase only) and the bytes its threads allocated per
 * call, the server's CPU per call (its process), the lone round trip p50/p99 (and, for one call at
 * a time, the server's CPU and the round trip against a second trivial server that runs its handler
 * on grpc-java's default executor: one thread hand-off per call, as our runner has), and fan-out
 * ticks over N server processes (N = 10 and 50 by default: N trivial servers and N runners, all
 * running, the two clients taking turns in the measured phase); then the runner's cold start: the
 * time from process start to serving (and the runner's CPU time until then), the first call after
 * setup (beside a fresh trivial server's first and second calls, and a fresh runner's first call
 * once the client is warm), its CPU per call over its first 10,000 calls against steady state, and
 * the client's ticks after 500 against steady state (beside the raw client's ticks after 500 over
 * fresh trivial servers: how far from steady grpc-java itself is then), and, since this process's
 * client is warm by its fan-out phase, a coordinator just started in a new process ({@link
 * FreshCoordinator}) over the lone runner and over each fan-out's runners once they are warm,
 * beside the raw client likewise over the trivial servers: the client's own warm-up.
 *
 * <p>Run (after {@code ./mvnw -B -ntp -DskipTests install}): {@code java -cp
 * benchmarks/target/model-runner-benchmarks.jar org.modelrunner.benchmarks.GrpcBaselineBenchmark}.
 * Options as system properties: {@code -Dcalls=20000} (measured lone calls, in {@code -Drounds=10}
 * turns of each client), {@code -Dwarmup=20000}, {@code -Dticks=2000} (measured fan-out ticks),
 * {@code -DfanOutWarmup} (each client's fan-out ticks before them: half {@code -Dticks}, at least
 * 600), {@code -Dsizes=10,50}, {@code -Dstarts=3} (cold starts with and without a class-data
 * archive; 0 for none), {@code -DfreshTicks=1000} (each fresh coordinator's ticks, at least 700; 0
 * for none), {@code -Dkeep=true} (keep the work folder, with the processes' logs, which a run that
 * fails keeps anyway).
 *
 * <p>The fan-out's servers are fresh JVMs: each compiles for its first 10,000-20,000 calls, so that
 * with the default warm-up, 100 of them on a small machine spend much of the measured ticks in
 * their JIT compilers, as the line after the fan-out's table tells. On two cores, 50 runners ticked
 * from their start settled after about 14,000 ticks; {@code -DfanOutWarmup=15000 -Dsizes=50}
 * measures them (and the trivial servers) warm.
 */
public final class GrpcBaselineBenchmark {
  private GrpcBaselineBenchmark() {}

  private static final CallRequest PREDICT =
      CallRequest.newBuilder().setMethodName("predict").build();
  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  /**
   * How many ticks each fresh coordinator (see {@link FreshCoordinator}) times; 0 for none, at
   * least 700 otherwise.
   */
  private static final int FRESH_TICKS = Integer.getInteger("freshTicks", 1_000);

  /** In how many turns the sides of a comparison share their measured calls or ticks. */
  private static final int ROUNDS = Integer.getInteger("rounds", 10);

  /** The call time limit of the one-call-at-a-time phase's second runner. */
  private static final Duration LIMITED = Duration.ofSeconds(10);

  /** The performance goals this run measures, printed at its end. */
  private static final Goals GOALS = new Goals();

  /** The figures of one side of a comparison, over one or more measured stretches. */
  private static final class Figures {
    final Histogram latency = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
    private long clientNanos;
    private long clientBytes;
    private long serverNanos;
    private long count;

    /** Adds another stretch's figures. */
    void add(Figures other) {
      latency.add(other.latency);
      clientNanos += other.clientNanos;
      clientBytes += other.clientBytes;
      serverNanos += other.serverNanos;
      count += other.count;
    }

    double clientMicros() {
      return clientNanos / 1e3 / count;
    }

    double serverMicros() {
      return serverNanos / 1e3 / count;
    }

    /** The bytes the client's threads allocated per operation, all threads together. */
    double clientBytes() {
      return (double) clientBytes / count;
    }
  }

  /**
   * Whether the raw client uses native epoll: as our transport and runner do, and grpc-java by
   * default (the trivial server's builder picks it). Netty's switch {@code
   * -Dio.grpc.netty.shaded.io.netty.transport.noNative=true} makes all of them use NIO (pass it to
   * the servers too, with {@code -DserverOptions=}).
   */
  private static final boolean EPOLL = Epoll.isAvailable();

  /** Runs the comparison once. */
  public static void main(String[] args) throws Exception {
    int calls = Integer.getInteger("calls", 20_000);
    int warmup = Integer.getInteger("warmup", 20_000);
    int ticks = Integer.getInteger("ticks", 2_000);
    String[] sizes = System.getProperty("sizes", "10,50").split(",");
    if (FRESH_TICKS != 0 && FRESH_TICKS < FreshCoordinator.MIN_TICKS) {
      throw new IllegalArgumentException(
          "-DfreshTicks must be 0 or at least "
              + FreshCoordinator.MIN_TICKS
              + ", got "
              + FRESH_TICKS);
    }
    java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.SEVERE);
    Path work = WorkDirectory.create("modelrunner-grpc-baseline");
    Path code = Processes.submission(work);
    EventLoopGroup loops = eventLoops();
    System.out.printf(
        Locale.ROOT,
        "Our stack against raw grpc-java, %s on loopback (%d cores, Java %s); servers: %s%n",
        EPOLL ? "native epoll" : "NIO",
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"),
        Processes.SERVER_JVM);
    try {
      coldStarts(work, code, loops, Integer.getInteger("starts", 3));
      lone(work, code, loops, calls, warmup);
      for (String size : sizes) {
        if (size.isBlank()) {
          continue;
        }
        fanOut(work, code, loops, Integer.parseInt(size.strip()), ticks);
      }
      GOALS.print();
    } finally {
      loops.shutdownGracefully(0, 0, TimeUnit.SECONDS);
    }
  }

  /**
   * Starts the runner {@code starts} times as it is and as many times with a class-data sharing
   * archive of its classes, made first by a training run (a start, a Setup and 200 calls, a {@code
   * SIGTERM}), as runner-grpc's README tells an image to do; prints each time from process start to
   * serving, and the CPU the process used until then.
   */
  private static void coldStarts(Path work, Path code, EventLoopGroup loops, int starts)
      throws Exception {
    if (starts <= 0) {
      return;
    }
    Path archive = work.resolve("runner.jsa");
    int trainingPort = Processes.freePort();
    Process training =
        Processes.runner(
            code,
            trainingPort,
            work.resolve("training.log"),
            List.of("-XX:ArchiveClassesAtExit=" + archive));
    ManagedChannel probe = channel(loops, trainingPort);
    try {
      awaitServing(probe, System.nanoTime(), training);
    } finally {
      probe.shutdownNow();
    }
    try (ModelFleet fleet = connectedFleet(List.of(trainingPort))) {
      FanOut predict = FanOut.of("predict");
      for (int i = 0; i < 200; i++) {
        fleet.callAndWait(predict);
      }
    }
    training.destroy(); // SIGTERM: the JVM writes the archive as it exits
    if (!training.waitFor(60, TimeUnit.SECONDS) || !Files.isRegularFile(archive)) {
      training.destroyForcibly();
      System.out.println("\nCold start: no class-data archive was written; see " + work);
      return;
    }
    System.out.printf(
        Locale.ROOT,
        "%nCold start, %d starts each: from process start to serving (CPU until then)%n",
        starts);
    double[] medians = new double[2];
    for (List<String> options :
        List.of(List.<String>of(), List.of("-XX:SharedArchiveFile=" + archive))) {
      StringBuilder line = new StringBuilder();
      double[] times = new double[starts];
      for (int i = 0; i < starts; i++) {
        int port = Processes.freePort();
        long started = System.nanoTime();
        Process runner = Processes.runner(code, port, work.resolve("cold-" + i + ".log"), options);
        ManagedChannel channel = channel(loops, port);
        try {
          long serving = awaitServing(channel, started, runner);
          times[i] = (serving - started) / 1e6;
          line.append(
              String.format(
                  Locale.ROOT,
                  " %.0f ms (%.0f ms)",
                  (serving - started) / 1e6,
                  Processes.cpuNanos(runner) / 1e6));
        } finally {
          channel.shutdownNow();
          Processes.stop(List.of(runner));
        }
      }
      System.out.printf(
          Locale.ROOT, "%-28s%s%n", options.isEmpty() ? "as it is" : "class-data archive", line);
      Arrays.sort(times);
      medians[options.isEmpty() ? 0 : 1] = times[starts / 2];
    }
    GOALS.millis(
        "a runner serves after its process starts (class-data archive, median)",
        medians[1],
        500,
        String.format(Locale.ROOT, "(as it is: %.0f ms)", medians[0]));
  }

  private static void lone(Path work, Path code, EventLoopGroup loops, int calls, int warmup)
      throws Exception {
    int trivialPort = Processes.freePort();
    int pooledPort = Processes.freePort();
    int runnerPort = Processes.freePort();
    int limitedPort = Processes.freePort();
    List<Process> processes = new ArrayList<>();
    try {
      // One process starts at a time: a start does not slow the other's measurement.
      long started = System.nanoTime();
      Process runner = Processes.runner(code, runnerPort, work.resolve("runner.log"));
      processes.add(runner);
      ManagedChannel toRunner = channel(loops, runnerPort);
      long serving = awaitServing(toRunner, started, runner);
      long cpuToServing = Processes.cpuNanos(runner);
      Process trivial = Processes.trivial(trivialPort, work.resolve("trivial.log"));
      processes.add(trivial);
      ManagedChannel toTrivial = channel(loops, trivialPort);
      awaitServing(toTrivial, System.nanoTime(), trivial);
      Process pooled = Processes.trivial(pooledPort, true, work.resolve("trivial-pooled.log"));
      processes.add(pooled);
      ManagedChannel toPooled = channel(loops, pooledPort);
      awaitServing(toPooled, System.nanoTime(), pooled);

      // Raw client, trivial server.
      var rawStub = DynamicSubclassServiceGrpc.newBlockingStub(toTrivial);
      long trivialCpuBefore = Processes.cpuNanos(trivial);
      for (int i = 0; i < 10_000; i++) {
        rawStub.call(PREDICT);
      }
      double trivialFirst = (Processes.cpuNanos(trivial) - trivialCpuBefore) / 1e3 / 10_000;
      for (int i = 10_000; i < warmup; i++) {
        rawStub.call(PREDICT);
      }
      var pooledStub = DynamicSubclassServiceGrpc.newBlockingStub(toPooled);
      for (int i = 0; i < warmup; i++) {
        pooledStub.call(PREDICT);
      }

      // The baselines of our first call after Setup: fresh trivial servers' first and second calls
      // (our runner's first call follows its Setup), from this client, warm by now as the fleet's
      // gRPC path is when it makes its first call.
      double[] trivialOnLoop = firstCalls(work, loops, false);
      double[] trivialPooled = firstCalls(work, loops, true);

      List<ModelFleet> fleets = new ArrayList<>();
      try (ModelFleet fleet = connectedFleet(List.of(runnerPort))) {
        FanOut predict = FanOut.of("predict");
        long runnerCpuBefore = Processes.cpuNanos(runner);
        long first = time(() -> fleet.callAndWait(predict));
        for (int i = 1; i < 10_000; i++) {
          fleet.callAndWait(predict);
        }
        double firstTenThousand = (Processes.cpuNanos(runner) - runnerCpuBefore) / 1e3 / 10_000;
        // A runner as a platform runs one against hung models: with a call time limit (started
        // only now, so that its start does not slow the first calls above).
        Process limited =
            Processes.runner(
                code,
                limitedPort,
                work.resolve("runner-limited.log"),
                List.of(),
                List.of("--call-time-limit", LIMITED.toString()));
        processes.add(limited);
        ManagedChannel toLimited = channel(loops, limitedPort);
        try {
          awaitServing(toLimited, System.nanoTime(), limited);
        } finally {
          toLimited.shutdownNow();
        }
        ModelFleet limitedFleet = connectedFleet(List.of(limitedPort));
        fleets.add(limitedFleet);
        for (int i = 10_000; i < warmup; i++) {
          fleet.callAndWait(predict);
        }
        // Raw client, our runner (already set up by the fleet; the fleet is idle meanwhile).
        var toOurs = DynamicSubclassServiceGrpc.newBlockingStub(toRunner);
        for (int i = 0; i < warmup / 4; i++) {
          toOurs.call(PREDICT);
        }
        // Twice the first runner's warm-up: it started last, and its compiler is still busy after
        // as many calls as the first one had.
        for (int i = 0; i < 2 * warmup; i++) {
          limitedFleet.callAndWait(predict);
        }
        Figures raw = new Figures();
        Figures ours = new Figures();
        Figures rawToOurs = new Figures();
        Figures rawToPooled = new Figures();
        Figures oursLimited = new Figures();
        takeTurns(
            calls,
            new Side(raw, List.of(trivial), () -> time(() -> rawStub.call(PREDICT))),
            new Side(rawToPooled, List.of(pooled), () -> time(() -> pooledStub.call(PREDICT))),
            new Side(ours, List.of(runner), () -> time(() -> fleet.callAndWait(predict))),
            new Side(rawToOurs, List.of(runner), () -> time(() -> toOurs.call(PREDICT))),
            new Side(
                oursLimited,
                List.of(limited),
                () -> time(() -> limitedFleet.callAndWait(predict))));

        System.out.printf(Locale.ROOT, "%nOne call at a time, %,d measured calls%n", ours.count);
        header("raw → trivial", "our fleet → runner");
        row("client CPU per call, µs", raw.clientMicros(), ours.clientMicros());
        row("client bytes per call", raw.clientBytes(), ours.clientBytes());
        row("server CPU per call, µs", raw.serverMicros(), ours.serverMicros());
        row("round trip p50, µs", p(raw.latency, 50), p(ours.latency, 50));
        row("round trip p99, µs", p(raw.latency, 99), p(ours.latency, 99));
        System.out.printf(
            Locale.ROOT,
            "raw client → our runner: client %.1f µs, runner %.1f µs (%.2f× the trivial server's),"
                + " p50 %.0f µs%n",
            rawToOurs.clientMicros(),
            rawToOurs.serverMicros(),
            rawToOurs.serverMicros() / raw.serverMicros(),
            p(rawToOurs.latency, 50));
        // A handler that may block cannot run on the event loop: against grpc-java's default
        // executor, the trivial server hands each call to a thread as our runner does.
        System.out.printf(
            Locale.ROOT,
            "raw client → trivial server on grpc-java's default executor (one thread hand-off per"
                + " call, as our runner's model thread): server CPU %.1f µs (our runner %.2f× it),"
                + " round trip p50 %.0f µs (our fleet → runner %.2f× it)%n",
            rawToPooled.serverMicros(),
            ours.serverMicros() / rawToPooled.serverMicros(),
            p(rawToPooled.latency, 50),
            p(ours.latency, 50) / p(rawToPooled.latency, 50));
        System.out.printf(
            Locale.ROOT,
            "our fleet → a runner with a %d s call time limit: runner CPU %.1f µs (%.2f× without),"
                + " round trip p50 %.0f µs (%.2f× without)%n",
            LIMITED.toSeconds(),
            oursLimited.serverMicros(),
            oursLimited.serverMicros() / ours.serverMicros(),
            p(oursLimited.latency, 50),
            p(oursLimited.latency, 50) / p(ours.latency, 50));
        // The same runner on both sides: what our client adds, apart from what the runner adds.
        System.out.printf(
            Locale.ROOT,
            "our fleet against the raw client, both → our runner: round trip p50 %.2f×, p99 %.2f×,"
                + " client CPU %.2f×%n",
            p(ours.latency, 50) / p(rawToOurs.latency, 50),
            p(ours.latency, 99) / p(rawToOurs.latency, 99),
            ours.clientMicros() / rawToOurs.clientMicros());
        System.out.printf(
            Locale.ROOT,
            "%nCold start: the runner served %.0f ms after its process started (%.0f ms of CPU);"
                + " the first call after setup took %.2f ms; the runner's CPU per call over its first 10,000 calls %.1f µs"
                + " = %.2f× steady (%.1f µs)%n",
            (serving - started) / 1e6,
            cpuToServing / 1e6,
            first / 1e6,
            firstTenThousand,
            firstTenThousand / ours.serverMicros(),
            ours.serverMicros());
        System.out.printf(
            Locale.ROOT,
            "The trivial server's CPU per call over its first 10,000 calls (from the raw client) %.1f µs"
                + " = %.2f× its steady (%.1f µs)%n",
            trivialFirst,
            trivialFirst / raw.serverMicros(),
            raw.serverMicros());
        System.out.printf(
            Locale.ROOT,
            "A fresh trivial server's first and second call, from the raw client: %.2f and %.2f ms"
                + " on the event loop, %.2f and %.2f ms on grpc-java's default executor (our first"
                + " call after Setup %.2f× and %.2f× their second)%n",
            trivialOnLoop[0],
            trivialOnLoop[1],
            trivialPooled[0],
            trivialPooled[1],
            first / 1e6 / trivialOnLoop[1],
            first / 1e6 / trivialPooled[1]);
        double freshFirst = freshRunnerFirstCall(work, code, loops);
        System.out.printf(
            Locale.ROOT,
            "A fresh runner's first call after Setup, from this client (warm by now): %.2f ms (%.2f×"
                + " a fresh trivial server's second call on the event loop)%n",
            freshFirst,
            freshFirst / trivialOnLoop[1]);
        GOALS.compare(
            "client CPU per call, one call at a time (against the raw client)",
            ours.clientMicros(),
            raw.clientMicros(),
            1.3,
            "µs");
        againstBothTrivialServers(
            "runner CPU per call, steady",
            ours.serverMicros(),
            raw.serverMicros(),
            rawToPooled.serverMicros(),
            1.1);
        GOALS.ratio(
            "runner CPU per call over its first 10,000 calls (against its steady)",
            firstTenThousand,
            ours.serverMicros(),
            2,
            String.format(
                Locale.ROOT,
                "(the trivial server's: %.2f× its steady)",
                trivialFirst / raw.serverMicros()));
        againstBothTrivialServers(
            "round trip p50, one call at a time",
            p(ours.latency, 50),
            p(raw.latency, 50),
            p(rawToPooled.latency, 50),
            1.2);
        GOALS.millis(
            "the first call after Setup",
            first / 1e6,
            10,
            String.format(
                Locale.ROOT,
                "(a fresh trivial server's first call: %.2f ms on the event loop)",
                trivialOnLoop[0]));
        GOALS.millis(
            "a fresh runner's first call after Setup, the client warm",
            freshFirst,
            10,
            String.format(
                Locale.ROOT,
                "(a fresh trivial server's second call: %.2f ms on the event loop)",
                trivialOnLoop[1]));
        if (FRESH_TICKS > 0) {
          // The other way round: a coordinator that has just started, the runner warm by now.
          FreshCoordinator.Ticks fresh =
              FreshCoordinator.run(
                  false, List.of(runnerPort), FRESH_TICKS, work.resolve("fresh-lone.log"));
          FreshCoordinator.Ticks freshRaw =
              FreshCoordinator.run(
                  true, List.of(trivialPort), FRESH_TICKS, work.resolve("fresh-lone-raw.log"));
          printFresh(fresh, p(ours.latency, 50), freshRaw, p(raw.latency, 50));
          freshGoal("one runner", fresh, p(ours.latency, 50), freshRaw, p(raw.latency, 50));
        }
      } finally {
        fleets.forEach(ModelFleet::close);
        toRunner.shutdownNow();
        toTrivial.shutdownNow();
        toPooled.shutdownNow();
      }
    } finally {
      Processes.stop(processes);
    }
  }

  /** Returns a fleet of the runners on {@code ports}, once it has set every one up. */
  static ModelFleet connectedFleet(List<Integer> ports) throws InterruptedException {
    ModelFleet fleet =
        ModelFleet.builder()
            .directory(
                StaticModelDirectory.of(
                    ports.stream().map(port -> "grpc://127.0.0.1:" + port).toArray(String[]::new)))
            .baseClass(BenchBase.class.getName())
            .callTimeout(Duration.ofSeconds(10))
            .build();
    if (!fleet.awaitConnected(ports.size(), Duration.ofMinutes(2))) {
      String models = String.valueOf(fleet.models());
      fleet.close();
      throw new IllegalStateException(
          "Not every runner connected (" + ports.size() + "): " + models);
    }
    return fleet;
  }

  /**
   * Starts a runner, sets it up through a new fleet once it answers health checks, and returns its
   * first call's round trip in milliseconds; stops the runner.
   */
  private static double freshRunnerFirstCall(Path work, Path code, EventLoopGroup loops)
      throws Exception {
    int port = Processes.freePort();
    Process runner = Processes.runner(code, port, work.resolve("runner-fresh.log"));
    ManagedChannel channel = channel(loops, port);
    try {
      awaitServing(channel, System.nanoTime(), runner);
      try (ModelFleet fleet = connectedFleet(List.of(port))) {
        FanOut predict = FanOut.of("predict");
        return time(() -> fleet.callAndWait(predict)) / 1e6;
      }
    } finally {
      channel.shutdownNow();
      Processes.stop(List.of(runner));
    }
  }

  /**
   * Starts a trivial server, waits until it answers health checks, calls it twice through the raw
   * stub and returns the two calls' round trips in milliseconds; stops the server.
   */
  private static double[] firstCalls(Path work, EventLoopGroup loops, boolean pooled)
      throws Exception {
    int port = Processes.freePort();
    Process server =
        Processes.trivial(
            port, pooled, work.resolve(pooled ? "trivial-pooled-fresh.log" : "trivial-fresh.log"));
    ManagedChannel channel = channel(loops, port);
    try {
      awaitServing(channel, System.nanoTime(), server);
      var stub = DynamicSubclassServiceGrpc.newBlockingStub(channel);
      return new double[] {
        time(() -> stub.call(PREDICT)) / 1e6, time(() -> stub.call(PREDICT)) / 1e6
      };
    } finally {
      channel.shutdownNow();
      Processes.stop(List.of(server));
    }
  }

  private static void fanOut(Path work, Path code, EventLoopGroup loops, int size, int ticks)
      throws Exception {
    // At least 600: the ticks 500-600 are the warm-up figure printed below.
    int warmupTicks = Math.max(600, Integer.getInteger("fanOutWarmup", ticks / 2));
    // Baseline: raw future stubs to N trivial servers, each tick waits for every answer. Ours: the
    // fleet over N runner processes. Both sets of processes run until the end, so that the two
    // take turns in the measured phase (the idle set waits).
    List<Process> processes = new ArrayList<>();
    List<ManagedChannel> channels = new ArrayList<>();
    List<Integer> trivialPorts = new ArrayList<>();
    List<Integer> runnerPorts = new ArrayList<>();
    try {
      for (int i = 0; i < size; i++) {
        int port = Processes.freePort();
        trivialPorts.add(port);
        processes.add(Processes.trivial(port, work.resolve("trivial-" + i + ".log")));
        ManagedChannel channel = channel(loops, port);
        channels.add(channel);
      }
      for (ManagedChannel channel : channels) {
        awaitServing(channel, System.nanoTime());
      }
      List<DynamicSubclassServiceGrpc.DynamicSubclassServiceFutureStub> stubs = new ArrayList<>();
      channels.forEach(channel -> stubs.add(DynamicSubclassServiceGrpc.newFutureStub(channel)));
      // The baseline's warm-up also says how far from steady its servers (and the raw client) are
      // after 500 ticks: fresh trivial servers warm up as fresh runners do.
      Histogram rawAfterFiveHundred = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
      for (int i = 0; i < warmupTicks; i++) {
        long took = time(() -> rawTick(stubs));
        if (i >= 500 && i < 600) {
          rawAfterFiveHundred.recordValue(took / 1_000);
        }
      }

      for (int i = 0; i < size; i++) {
        int port = Processes.freePort();
        runnerPorts.add(port);
        processes.add(Processes.runner(code, port, work.resolve("runner-" + i + ".log")));
      }
      // Many JVMs starting at once on a small machine take a while: the fleet starts once they
      // serve, as the baseline's servers do.
      for (int port : runnerPorts) {
        ManagedChannel probe = channel(loops, port);
        try {
          awaitServing(probe, System.nanoTime());
        } finally {
          probe.shutdownNow();
        }
      }
      Histogram afterFiveHundred = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
      Figures raw = new Figures();
      Figures ours = new Figures();
      FreshCoordinator.Ticks fresh = null;
      FreshCoordinator.Ticks freshRaw = null;
      Figures rawNow = new Figures();
      Figures oursNow = new Figures();
      String trivialJit;
      String runnerJit;
      try (ModelFleet fleet = connectedFleet(runnerPorts)) {
        FanOut predict = FanOut.of("predict");
        for (int i = 0; i < warmupTicks; i++) {
          long took = time(() -> fleet.callAndWait(predict));
          if (i >= 500 && i < 600) {
            afterFiveHundred.recordValue(took / 1_000); // µs, as every histogram here
          }
        }
        List<Process> trivials = processes.subList(0, size);
        List<Process> runners = processes.subList(size, 2 * size);
        long trivialsCpu = Processes.cpuNanos(trivials);
        long trivialsCompilers = Processes.compilerCpuNanos(trivials);
        long runnersCpu = Processes.cpuNanos(runners);
        long runnersCompilers = Processes.compilerCpuNanos(runners);
        takeTurns(
            ticks,
            new Side(raw, trivials, () -> time(() -> rawTick(stubs))),
            new Side(ours, runners, () -> time(() -> fleet.callAndWait(predict))));
        trivialJit = jitShare(trivialsCpu, trivialsCompilers, trivials);
        runnerJit = jitShare(runnersCpu, runnersCompilers, runners);
        if (FRESH_TICKS > 0) {
          // This process's client is warm by now: a coordinator in a new process shows the
          // client's own warm-up, over the same servers (this fleet idle meanwhile). The servers
          // still warm up during the measured phase: this process's clients, measured again once
          // the fresh ones are done, give the steady figures to compare them with.
          fresh =
              FreshCoordinator.run(
                  false, runnerPorts, FRESH_TICKS, work.resolve("fresh-" + size + ".log"));
          freshRaw =
              FreshCoordinator.run(
                  true, trivialPorts, FRESH_TICKS, work.resolve("fresh-raw-" + size + ".log"));
          takeTurns(
              Math.min(ticks, 500),
              new Side(rawNow, List.of(), () -> time(() -> rawTick(stubs))),
              new Side(oursNow, List.of(), () -> time(() -> fleet.callAndWait(predict))));
        }
      }
      System.out.printf(
          Locale.ROOT,
          "%nFan-out over %d server processes, %,d measured ticks (after %,d)%n",
          size,
          ours.count,
          warmupTicks);
      header("raw → trivial", "our fleet → runners");
      row("client CPU per call, µs", raw.clientMicros() / size, ours.clientMicros() / size);
      row("client bytes per call", raw.clientBytes() / size, ours.clientBytes() / size);
      row("servers' CPU per call, µs", raw.serverMicros() / size, ours.serverMicros() / size);
      row("tick p50, ms", p(raw.latency, 50) / 1e3, p(ours.latency, 50) / 1e3);
      row("tick p99, ms", p(raw.latency, 99) / 1e3, p(ours.latency, 99) / 1e3);
      // Fresh JVMs compile for their first 10,000-20,000 calls: 100 of them on a small machine
      // spend much of the measured ticks in their compilers (-DfanOutWarmup= warms up longer).
      System.out.printf(
          Locale.ROOT,
          "servers' JIT compilers in the measured ticks: the trivial servers' %s, the runners' %s%n",
          trivialJit,
          runnerJit);
      System.out.printf(
          Locale.ROOT,
          "our ticks 500-600: p50 %.2f ms = %.2f× steady; the raw client's over fresh trivial"
              + " servers: p50 %.2f ms = %.2f× its steady%n",
          p(afterFiveHundred, 50) / 1e3,
          p(afterFiveHundred, 50) / p(ours.latency, 50),
          p(rawAfterFiveHundred, 50) / 1e3,
          p(rawAfterFiveHundred, 50) / p(raw.latency, 50));
      if (fresh != null) {
        System.out.printf(
            Locale.ROOT,
            "steady, measured again after the fresh coordinators (%,d ticks): p50 raw %.2f ms, ours"
                + " %.2f ms%n",
            oursNow.count,
            p(rawNow.latency, 50) / 1e3,
            p(oursNow.latency, 50) / 1e3);
        printFresh(fresh, p(oursNow.latency, 50), freshRaw, p(rawNow.latency, 50));
        freshGoal(
            size + " runner processes",
            fresh,
            p(oursNow.latency, 50),
            freshRaw,
            p(rawNow.latency, 50));
      }
      GOALS.compare(
          "client CPU per call, fan-out over " + size + " processes (against the raw client)",
          ours.clientMicros() / size,
          raw.clientMicros() / size,
          1.3,
          "µs");
      if (size == 50) {
        GOALS.millis(
            "tick p50 over 50 runner processes",
            p(ours.latency, 50) / 1e3,
            8,
            String.format(
                Locale.ROOT,
                "(raw grpc-java: %.2f ms; runners' compilers: %s)",
                p(raw.latency, 50) / 1e3,
                runnerJit));
        GOALS.millis(
            "tick p99 over 50 runner processes",
            p(ours.latency, 99) / 1e3,
            20,
            String.format(Locale.ROOT, "(raw grpc-java: %.2f ms)", p(raw.latency, 99) / 1e3));
      }
    } finally {
      channels.forEach(ManagedChannel::shutdownNow);
      Processes.stop(processes);
    }
  }

  /**
   * Describes the share of {@code processes}' CPU since {@code cpuBefore} that their JIT compilers
   * used, as a percentage ("unknown" where {@code /proc} cannot tell).
   */
  private static String jitShare(long cpuBefore, long compilersBefore, List<Process> processes) {
    long compilers = Processes.compilerCpuNanos(processes);
    long cpu = Processes.cpuNanos(processes) - cpuBefore;
    if (compilers < 0 || compilersBefore < 0 || cpu <= 0) {
      return "unknown";
    }
    return String.format(
        Locale.ROOT, "%.0f%% of their CPU", 100.0 * (compilers - compilersBefore) / cpu);
  }

  /**
   * Prints fresh coordinators' figures, in milliseconds and against the steady p50 (in µs) of this
   * process's clients over the same servers.
   */
  private static void printFresh(
      FreshCoordinator.Ticks ours,
      double oursSteady,
      FreshCoordinator.Ticks raw,
      double rawSteady) {
    System.out.println("a coordinator just started (a new process), the servers warm:");
    for (int side = 0; side < 2; side++) {
      FreshCoordinator.Ticks ticks = side == 0 ? ours : raw;
      double steady = side == 0 ? oursSteady : rawSteady;
      System.out.printf(
          Locale.ROOT,
          "  %-11s first tick %.2f ms; p50 of ticks 2-100 %.2f ms, 500-600 %.3f ms, the last 100"
              + " %.3f ms; ticks 500-600 = %.2f× steady, %.2f× its own last 100%n",
          side == 0 ? "our fleet:" : "raw client:",
          ticks.first() / 1e3,
          ticks.early() / 1e3,
          ticks.afterFiveHundred() / 1e3,
          ticks.last() / 1e3,
          ticks.afterFiveHundred() / steady,
          ticks.afterFiveHundred() / ticks.last());
    }
  }

  /**
   * Adds a goal (a figure in µs) against the trivial server answering on its event loop and against
   * the one on grpc-java's default executor: which of the two is the baseline is a reading of the
   * goal, so both are printed.
   */
  private static void againstBothTrivialServers(
      String goal, double ours, double onEventLoop, double onDefaultExecutor, double limit) {
    GOALS.compare(
        goal + " (against the trivial server, event loop)", ours, onEventLoop, limit, "µs");
    GOALS.compare(
        goal + " (against the trivial server, default executor)",
        ours,
        onDefaultExecutor,
        limit,
        "µs");
  }

  /**
   * Adds the goal of a coordinator just started: its ticks 500-600 within 20% of steady (the p50 of
   * this process's warm client over the same servers, in µs).
   */
  private static void freshGoal(
      String over,
      FreshCoordinator.Ticks ours,
      double oursSteady,
      FreshCoordinator.Ticks raw,
      double rawSteady) {
    GOALS.ratio(
        "a coordinator just started, " + over + ": ticks 500-600 (against steady)",
        ours.afterFiveHundred(),
        oursSteady,
        1.2,
        String.format(
            Locale.ROOT,
            "(the raw client's: %.2f× its steady)",
            raw.afterFiveHundred() / rawSteady));
  }

  /** One baseline tick: a call to every server at once, then every answer. */
  static void rawTick(List<DynamicSubclassServiceGrpc.DynamicSubclassServiceFutureStub> stubs) {
    CountDownLatch answered = new CountDownLatch(stubs.size());
    AtomicInteger failed = new AtomicInteger();
    for (var stub : stubs) {
      ListenableFuture<CallResponse> future = stub.call(PREDICT);
      future.addListener(
          () -> {
            try {
              future.get();
            } catch (Exception e) {
              failed.incrementAndGet();
            }
            answered.countDown();
          },
          MoreExecutors.directExecutor());
    }
    try {
      answered.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (failed.get() > 0) {
      throw new IllegalStateException(failed.get() + " baseline calls failed");
    }
  }

  /** One side of a comparison: its figures, its server process (or null), its timed operation. */
  /** One client's operation, its figures, and the server processes whose CPU counts for it. */
  private record Side(Figures figures, List<Process> servers, LongSupplier operation) {}

  /**
   * Measures the sides in {@link #ROUNDS} turns of a share of {@code total} operations each: a host
   * whose speed drifts during the run (a shared machine) slows them alike.
   */
  private static void takeTurns(int total, Side... sides) {
    for (int round = 0; round < ROUNDS; round++) {
      for (Side side : sides) {
        side.figures().add(measure(total / ROUNDS, side.servers(), side.operation()));
      }
    }
  }

  /** Runs {@code count} timed operations; the client's and the servers' CPU over them. */
  private static Figures measure(int count, List<Process> servers, LongSupplier operation) {
    Figures figures = new Figures();
    long serverBefore = Processes.cpuNanos(servers);
    long clientBefore = OS.getProcessCpuTime();
    long bytesBefore = THREADS.getTotalThreadAllocatedBytes();
    for (int i = 0; i < count; i++) {
      figures.latency.recordValue(operation.getAsLong() / 1_000); // µs
    }
    figures.clientBytes = THREADS.getTotalThreadAllocatedBytes() - bytesBefore;
    figures.clientNanos = OS.getProcessCpuTime() - clientBefore;
    figures.serverNanos = Processes.cpuNanos(servers) - serverBefore;
    figures.count = count;
    return figures;
  }

  /** An operation that may throw, timed. */
  @FunctionalInterface
  interface Operation {
    void run() throws Exception;
  }

  static long time(Operation operation) {
    long start = System.nanoTime();
    try {
      operation.run();
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    return System.nanoTime() - start;
  }

  /** The raw client's event loops: as many as the transport's (at most four), on the same I/O. */
  static EventLoopGroup eventLoops() {
    return new MultiThreadIoEventLoopGroup(
        Math.min(4, Runtime.getRuntime().availableProcessors()),
        EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
  }

  static ManagedChannel channel(EventLoopGroup loops, int port) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port)
        .eventLoopGroup(loops)
        .channelType(EPOLL ? EpollSocketChannel.class : NioSocketChannel.class)
        .usePlaintext()
        .build();
  }

  /** Waits until the server answers a health check (or a call), and returns when. */
  static long awaitServing(ManagedChannel channel, long since) throws InterruptedException {
    return awaitServing(channel, since, null);
  }

  /** As above, failing at once if {@code process} (when given) has ended. */
  private static long awaitServing(ManagedChannel channel, long since, Process process)
      throws InterruptedException {
    long deadline = since + TimeUnit.SECONDS.toNanos(180);
    awaitListening(channel.authority(), deadline, process);
    while (System.nanoTime() < deadline) {
      checkAlive(process);
      try {
        HealthCheckResponse response =
            HealthGrpc.newBlockingStub(channel)
                .withDeadlineAfter(1, TimeUnit.SECONDS)
                .check(HealthCheckRequest.getDefaultInstance());
        if (response.getStatus() == HealthCheckResponse.ServingStatus.SERVING) {
          return System.nanoTime();
        }
      } catch (io.grpc.StatusRuntimeException e) {
        if (e.getStatus().getCode() == io.grpc.Status.Code.UNIMPLEMENTED) {
          return System.nanoTime(); // the trivial server has no health service: it answered
        }
      }
      TimeUnit.MILLISECONDS.sleep(2);
      // The probe's own channel must not wait out gRPC's reconnect backoff (1 s, then more) after
      // a refused connection: that would be measured as the server's start.
      channel.resetConnectBackoff();
    }
    throw new IllegalStateException("A server did not start serving within 180 s");
  }

  /**
   * Waits until a server accepts connections at {@code authority} ({@code host:port}), trying a
   * plain connection every millisecond. A refused connection costs the prober next to nothing; a
   * refused gRPC attempt costs it a channel's reconnect, an exception and a status: polled every
   * few milliseconds, about half a processor of two, taken from the server that starts beside it.
   */
  private static void awaitListening(String authority, long deadline, Process process)
      throws InterruptedException {
    int colon = authority.lastIndexOf(':');
    InetSocketAddress address =
        new InetSocketAddress(
            authority.substring(0, colon), Integer.parseInt(authority.substring(colon + 1)));
    while (System.nanoTime() < deadline) {
      checkAlive(process);
      try (Socket socket = new Socket()) {
        socket.connect(address, 1_000);
        return;
      } catch (IOException e) {
        TimeUnit.MILLISECONDS.sleep(1);
      }
    }
  }

  /** Fails if {@code process} (when given) has ended. */
  private static void checkAlive(Process process) {
    if (process != null && !process.isAlive()) {
      throw new IllegalStateException(
          "A server process ended with "
              + process.exitValue()
              + " before it served: see its log in the modelrunner-grpc-baseline folder of "
              + System.getProperty("java.io.tmpdir"));
    }
  }

  private static double p(Histogram histogram, double percentile) {
    return histogram.getValueAtPercentile(percentile);
  }

  private static void header(String baseline, String ours) {
    System.out.printf(Locale.ROOT, "%-28s %16s %20s %8s%n", "", baseline, ours, "ratio");
  }

  private static void row(String what, double baseline, double ours) {
    System.out.printf(
        Locale.ROOT, "%-28s %16.1f %20.1f %7.2f×%n", what, baseline, ours, ours / baseline);
  }
}
