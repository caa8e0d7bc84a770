package org.modelrunner.transport.grpc;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The runner's JVM shutdown hook ({@link RunnerMain}): it says why the JVM stops, naming the caller
 * when code (a model's, say) called {@code System.exit}, stops the runner within its grace period,
 * and bounds the whole shutdown: if the JVM is still shutting down {@value #HALT_MARGIN_SECONDS} s
 * after the grace period (a model's own shutdown hook that never returns, say), it halts the JVM
 * with status {@value #HALTED}.
 */
final class ShutdownHook implements Runnable {
  private static final Logger LOG = Logger.getLogger(RunnerMain.class.getName());

  /** How long after the grace period a JVM that is still shutting down is halted, in seconds. */
  static final long HALT_MARGIN_SECONDS = 5;

  /** The exit status of a JVM halted because its shutdown did not end in time. */
  static final int HALTED = 1;

  /** Ends the JVM at once, without shutdown hooks; tests replace it. */
  interface Halt {
    /** Halts with {@code status}. */
    void halt(int status);
  }

  private final Consumer<Duration> stop;
  private final Duration grace;
  private final Duration margin;
  private final Halt halt;

  /**
   * A hook that stops the runner with {@code stop} (given the grace period), and halts with {@code
   * halt} if shutdown lasts longer than the grace period plus {@code margin}.
   */
  ShutdownHook(Consumer<Duration> stop, Duration grace, Duration margin, Halt halt) {
    this.stop = Objects.requireNonNull(stop, "stop");
    this.grace = Objects.requireNonNull(grace, "grace");
    this.margin = Objects.requireNonNull(margin, "margin");
    this.halt = Objects.requireNonNull(halt, "halt");
  }

  /** The hook of the real process: stops {@code runner}, halts with {@link Runtime#halt}. */
  static ShutdownHook of(GrpcRunner runner, Duration grace) {
    return new ShutdownHook(
        runner::shutdown,
        grace,
        Duration.ofSeconds(HALT_MARGIN_SECONDS),
        status -> Runtime.getRuntime().halt(status));
  }

  @Override
  public void run() {
    Optional<String> exit = exitCaller(Thread.getAllStackTraces());
    if (exit.isPresent()) {
      LOG.warning("Stop requested: System.exit called by " + exit.get());
    } else {
      LOG.info("Stop requested (SIGTERM, SIGINT or exit)");
    }
    Thread watchdog = new Thread(this::haltWhenLate, "modelrunner-grpc-halt");
    watchdog.setDaemon(true);
    watchdog.start();
    stop.accept(grace);
  }

  /** Waits out the grace period and the margin; the JVM is still shutting down then: halts it. */
  private void haltWhenLate() {
    Duration bound = grace.plus(margin);
    try {
      TimeUnit.NANOSECONDS.sleep(Durations.saturatedNanos(bound));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    LOG.log(
        Level.SEVERE,
        "The JVM is still shutting down {0} after the stop was requested (the grace period of {1}"
            + " and {2} more; a shutdown hook that does not return, such as a model''s?): halting it"
            + " with status {3}",
        new Object[] {
          Durations.describe(bound),
          Durations.describe(grace),
          Durations.describe(margin),
          String.valueOf(HALTED)
        });
    for (Handler handler : Logger.getLogger("").getHandlers()) {
      handler.flush();
    }
    halt.halt(HALTED);
  }

  /**
   * Finds the thread that called {@code System.exit} (or {@code Runtime.exit}) in {@code stacks},
   * and describes its caller: the first frame below the exit call outside the JDK, and the thread.
   *
   * @return the caller, as {@code com.example.Model.quit(Model.java:12) on thread
   *     modelrunner-grpc-model}, or empty when no thread is in {@code Runtime.exit} (a signal
   *     stopped the JVM)
   */
  static Optional<String> exitCaller(Map<Thread, StackTraceElement[]> stacks) {
    for (Map.Entry<Thread, StackTraceElement[]> entry : stacks.entrySet()) {
      StackTraceElement[] stack = entry.getValue();
      int exit = -1;
      for (int i = 0; i < stack.length; i++) {
        if (isExit(stack[i])) {
          exit = i; // the last one: System.exit calls Runtime.exit
        }
      }
      if (exit < 0) {
        continue;
      }
      String caller = "code of the JDK";
      for (int i = exit + 1; i < stack.length; i++) {
        if (!isJdk(stack[i].getClassName())) {
          caller = describe(stack[i]);
          break;
        }
      }
      return Optional.of(caller + " on thread " + entry.getKey().getName());
    }
    return Optional.empty();
  }

  /** Returns {@code com.example.Model.quit(Model.java:12)}, without class loader or module. */
  private static String describe(StackTraceElement frame) {
    String file = frame.getFileName();
    String where =
        file == null
            ? "Unknown Source"
            : frame.getLineNumber() >= 0 ? file + ":" + frame.getLineNumber() : file;
    return frame.getClassName() + "." + frame.getMethodName() + "(" + where + ")";
  }

  private static boolean isExit(StackTraceElement frame) {
    return frame.getMethodName().equals("exit")
        && (frame.getClassName().equals("java.lang.Runtime")
            || frame.getClassName().equals("java.lang.System"));
  }

  private static boolean isJdk(String className) {
    return className.startsWith("java.")
        || className.startsWith("javax.")
        || className.startsWith("jdk.")
        || className.startsWith("sun.")
        || className.startsWith("com.sun.");
  }
}
