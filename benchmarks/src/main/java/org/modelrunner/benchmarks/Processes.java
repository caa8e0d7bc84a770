package org.modelrunner.benchmarks;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Starts the benchmarks' server processes (our gRPC runner hosting {@link InstantModel}, or the
 * {@link TrivialServer}) from this jar, on loopback, and reads their CPU time.
 */
final class Processes {
  private Processes() {}

  /**
   * The JVM options of every server process; {@code -DserverOptions="..."} adds more (separated by
   * spaces), such as a flight recording of the servers.
   */
  static final List<String> SERVER_JVM = serverJvm();

  private static List<String> serverJvm() {
    List<String> options = new ArrayList<>(List.of("-Xmx128m", "-XX:+UseSerialGC"));
    String extra = System.getProperty("serverOptions", "").strip();
    if (!extra.isEmpty()) {
      options.addAll(List.of(extra.split("\\s+")));
    }
    return List.copyOf(options);
  }

  /** A submission folder with the instant model, whose base class the runner's host provides. */
  static Path submission(Path work) throws IOException {
    Path dir = work.resolve("code/org/modelrunner/benchmarks");
    Files.createDirectories(dir);
    try (InputStream in = InstantModel.class.getResourceAsStream("InstantModel.class")) {
      if (in == null) {
        throw new IllegalStateException("InstantModel.class is not on the class path");
      }
      Files.copy(in, dir.resolve("InstantModel.class"));
    }
    return work.resolve("code");
  }

  /** Returns this jar (or class folder). */
  static String classPath() {
    try {
      return Path.of(Processes.class.getProtectionDomain().getCodeSource().getLocation().toURI())
          .toString();
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Starts our runner on {@code port}, its output in {@code log}. */
  static Process runner(Path code, int port, Path log) throws IOException {
    return runner(code, port, log, List.of());
  }

  /** Starts our runner on {@code port} with more JVM options, its output in {@code log}. */
  static Process runner(Path code, int port, Path log, List<String> jvmOptions) throws IOException {
    return runner(code, port, log, jvmOptions, List.of());
  }

  /**
   * Starts our runner on {@code port} with more JVM options and more runner options ({@code
   * --call-time-limit 10s}, say), its output in {@code log}.
   */
  static Process runner(
      Path code, int port, Path log, List<String> jvmOptions, List<String> runnerOptions)
      throws IOException {
    List<String> command = new ArrayList<>(java(jvmOptions));
    command.addAll(
        List.of(
            "org.modelrunner.transport.grpc.RunnerMain",
            "--code-directory",
            code.toString(),
            "--class-path",
            classPath(),
            "--address",
            "127.0.0.1:" + port,
            "--log-level",
            "WARNING"));
    command.addAll(runnerOptions);
    return start(command, log);
  }

  /** Starts the trivial server on {@code port}, its output in {@code log}. */
  static Process trivial(int port, Path log) throws IOException {
    return trivial(port, false, log);
  }

  /**
   * Starts a {@link TrivialServer}; {@code pooled} for one that runs its handler on grpc-java's
   * default executor rather than on the event loop.
   */
  static Process trivial(int port, boolean pooled, Path log) throws IOException {
    List<String> command = new ArrayList<>(java(List.of()));
    command.addAll(List.of(TrivialServer.class.getName(), Integer.toString(port)));
    if (pooled) {
      command.add("pooled");
    }
    return start(command, log);
  }

  /**
   * Starts a client process, {@code main} of this jar with {@code args}, on the JVM's defaults (not
   * the servers' options: a coordinator runs as this process does), its output in {@code log}.
   */
  static Process client(Class<?> main, List<String> args, Path log) throws IOException {
    List<String> command = new ArrayList<>(java(null));
    command.add(main.getName());
    command.addAll(args);
    return start(command, log);
  }

  /**
   * The command that starts a JVM on this jar: with the servers' options and more, or none if null.
   */
  private static List<String> java(List<String> jvmOptions) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    if (jvmOptions != null) {
      command.addAll(SERVER_JVM);
      command.addAll(jvmOptions);
    }
    command.add("-cp");
    command.add(classPath());
    return command;
  }

  /** Starts {@code command}, its output in {@code log}; it is killed when this JVM exits. */
  static Process start(List<String> command, Path log) throws IOException {
    Process process =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (HOOKED.compareAndSet(false, true)) {
      Runtime.getRuntime()
          .addShutdownHook(new Thread(Processes::stopAll, "modelrunner-benchmark-processes"));
    }
    STARTED.add(process);
    return process;
  }

  /**
   * Every process started here: killed when this JVM exits, so that a benchmark stopped by a signal
   * (or failing outside its own clean-up) leaves no server running.
   */
  private static final Set<Process> STARTED = ConcurrentHashMap.newKeySet();

  private static final AtomicBoolean HOOKED = new AtomicBoolean();

  /** Kills every process started here that still runs, and waits for them. */
  static void stopAll() {
    stop(List.copyOf(STARTED));
  }

  /**
   * Returns the CPU time the JIT compiler threads of {@code processes} have used so far, in
   * nanoseconds, from Linux's {@code /proc} (HotSpot names those threads {@code C1 CompilerThre…}
   * and {@code C2 CompilerThre…}; the kernel counts in hundredths of a second); -1 where {@code
   * /proc} cannot tell. A compiler thread that has ended no longer counts.
   */
  static long compilerCpuNanos(List<Process> processes) {
    long ticks = 0;
    for (Process process : processes) {
      Path tasks = Path.of("/proc", Long.toString(process.pid()), "task");
      try (var threads = Files.newDirectoryStream(tasks)) {
        for (Path thread : threads) {
          String name = Files.readString(thread.resolve("comm")).strip();
          if (name.startsWith("C1 Compiler") || name.startsWith("C2 Compiler")) {
            String stat = Files.readString(thread.resolve("stat"));
            // After the command's closing parenthesis: state is field 3, utime 14, stime 15.
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            ticks += Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
          }
        }
      } catch (IOException | RuntimeException e) {
        if (!Files.isDirectory(tasks) && process.isAlive()) {
          return -1; // no /proc here
        }
        // a thread or the process ended meanwhile: counted as far as read
      }
    }
    return ticks * 10_000_000L;
  }

  /** Returns the CPU time {@code processes} have used so far, all together, in nanoseconds. */
  static long cpuNanos(List<Process> processes) {
    long nanos = 0;
    for (Process process : processes) {
      nanos += cpuNanos(process);
    }
    return nanos;
  }

  /** Returns the CPU time the process has used so far, in nanoseconds. */
  static long cpuNanos(Process process) {
    return process
        .toHandle()
        .info()
        .totalCpuDuration()
        .map(Duration::toNanos)
        .orElseThrow(() -> new IllegalStateException("No CPU time for process " + process.pid()));
  }

  /** The ports {@link #freePort()} handed out in this run. */
  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

  /**
   * Returns a port free now on loopback, and never one it returned before in this run: the system
   * may give a port just closed again, and a benchmark that starts 100 servers then had two take
   * the same one (about one run in six, for 100 picks among the ephemeral ports).
   */
  static int freePort() throws IOException {
    for (; ; ) {
      try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        if (HANDED_OUT.add(socket.getLocalPort())) {
          return socket.getLocalPort();
        }
      }
    }
  }

  /** Kills the processes and waits for them. */
  static void stop(List<Process> processes) {
    for (Process process : processes) {
      process.destroyForcibly();
      STARTED.remove(process);
    }
    for (Process process : processes) {
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
