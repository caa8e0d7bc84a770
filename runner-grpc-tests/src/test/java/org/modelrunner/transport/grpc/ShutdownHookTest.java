package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The runner's shutdown hook: who called System.exit, and a shutdown bounded in time. */
class ShutdownHookTest {
  private final ExecutorService background = Executors.newCachedThreadPool();

  @AfterEach
  void stop() {
    background.shutdownNow();
  }

  private static StackTraceElement frame(String className, String method, String file, int line) {
    return new StackTraceElement(className, method, file, line);
  }

  /** A frame as the JVM gives it for a class of a named loader (a submission's). */
  private static StackTraceElement submissionFrame(String className, String method, int line) {
    return new StackTraceElement(
        "submission-1:alice",
        null,
        null,
        className,
        method,
        className.substring(className.lastIndexOf('.') + 1) + ".java",
        line);
  }

  /** The stack of a thread blocked in System.exit while the shutdown hooks run (JDK 17). */
  private static StackTraceElement[] exitingFrom(StackTraceElement... callers) {
    StackTraceElement[] jdk = {
      frame("java.lang.Object", "wait", "Object.java", -2),
      frame("java.lang.Thread", "join", "Thread.java", 1300),
      frame("java.lang.ApplicationShutdownHooks", "runHooks", "ApplicationShutdownHooks.java", 107),
      frame("java.lang.Shutdown", "runHooks", "Shutdown.java", 130),
      frame("java.lang.Shutdown", "exit", "Shutdown.java", 173),
      frame("java.lang.Runtime", "exit", "Runtime.java", 115),
      frame("java.lang.System", "exit", "System.java", 1873)
    };
    StackTraceElement[] stack = new StackTraceElement[jdk.length + callers.length];
    System.arraycopy(jdk, 0, stack, 0, jdk.length);
    System.arraycopy(callers, 0, stack, jdk.length, callers.length);
    return stack;
  }

  @Test
  void namesTheCallerOfSystemExitOutsideTheJdk() {
    Thread model = new Thread(() -> {}, "modelrunner-grpc-model");
    Thread other = new Thread(() -> {}, "modelrunner-grpc-io-1");
    StackTraceElement[] exiting =
        exitingFrom(
            submissionFrame("com.example.Model", "quit", 12),
            frame("jdk.internal.reflect.NativeMethodAccessorImpl", "invoke0", null, -2),
            frame("java.lang.reflect.Method", "invoke", "Method.java", 568),
            frame("org.modelrunner.loader.HostedModel", "callClaimed", "HostedModel.java", 480));
    assertThat(
            ShutdownHook.exitCaller(
                Map.of(
                    other,
                    new StackTraceElement[] {frame("sun.nio.ch.EPoll", "wait", null, -2)},
                    model,
                    exiting)))
        .contains("com.example.Model.quit(Model.java:12) on thread modelrunner-grpc-model");
  }

  @Test
  void aCallOfRuntimeExitThroughALibraryNamesTheFirstFrameOutsideTheJdk() {
    StackTraceElement[] stack = {
      frame("java.lang.Shutdown", "exit", "Shutdown.java", 173),
      frame("java.lang.Runtime", "exit", "Runtime.java", 115),
      frame("java.util.concurrent.FutureTask", "run", "FutureTask.java", 264),
      frame("com.example.lib.Fatal", "die", "Fatal.java", 3),
      frame("com.example.Model", "predict", "Model.java", 20)
    };
    assertThat(ShutdownHook.exitCaller(Map.of(new Thread(() -> {}, "worker"), stack)))
        .contains("com.example.lib.Fatal.die(Fatal.java:3) on thread worker");
  }

  @Test
  void aSignalIsNoExitCall() {
    StackTraceElement[] sigterm = {
      frame("java.lang.Shutdown", "exit", "Shutdown.java", 173),
      frame("java.lang.Terminator$1", "handle", "Terminator.java", 51),
      frame("jdk.internal.misc.Signal$1", "run", "Signal.java", 219),
      frame("java.lang.Thread", "run", "Thread.java", 833)
    };
    assertThat(ShutdownHook.exitCaller(Map.of(new Thread(() -> {}, "SIGTERM handler"), sigterm)))
        .isEmpty();
    assertThat(ShutdownHook.exitCaller(Thread.getAllStackTraces())).isEmpty();
  }

  @Test
  void haltsWhenShutdownLastsLongerThanTheGracePeriodAndTheMargin() throws Exception {
    CountDownLatch hung = new CountDownLatch(1);
    CompletableFuture<Duration> stopped = new CompletableFuture<>();
    CompletableFuture<Integer> halted = new CompletableFuture<>();
    ShutdownHook hook =
        new ShutdownHook(
            grace -> {
              stopped.complete(grace);
              try {
                hung.await(); // a shutdown that never ends
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            Duration.ofMillis(200),
            Duration.ofMillis(100),
            halted::complete);
    long started = System.nanoTime();
    background.execute(hook);
    assertThat(stopped.get(10, TimeUnit.SECONDS)).isEqualTo(Duration.ofMillis(200));
    assertThat(halted.get(10, TimeUnit.SECONDS)).isEqualTo(ShutdownHook.HALTED).isEqualTo(1);
    assertThat(Duration.ofNanos(System.nanoTime() - started))
        .as("not before the grace period and the margin")
        .isGreaterThanOrEqualTo(Duration.ofMillis(300));
    hung.countDown();
  }

  @Test
  void theWatchdogIsADaemonThatDoesNotKeepTheJvmAlive() {
    CompletableFuture<Integer> halted = new CompletableFuture<>();
    ShutdownHook hook =
        new ShutdownHook(grace -> {}, Duration.ofHours(1), Duration.ZERO, halted::complete);
    hook.run();
    Thread watchdog =
        Thread.getAllStackTraces().keySet().stream()
            .filter(thread -> thread.getName().equals("modelrunner-grpc-halt"))
            .findFirst()
            .orElseThrow();
    assertThat(watchdog.isDaemon()).isTrue();
    watchdog.interrupt();
    await().atMost(Duration.ofSeconds(10)).until(() -> !watchdog.isAlive());
    assertThat(halted).isNotDone();
  }
}
