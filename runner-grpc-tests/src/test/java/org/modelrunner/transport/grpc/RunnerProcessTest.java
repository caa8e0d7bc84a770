package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.modelrunner.transport.grpc.RunnerClient.assertStatus;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The executable in a JVM of its own: a model that calls {@code System.exit} is named in the log,
 * and a model's shutdown hook that never returns cannot keep the process alive past the grace
 * period and the margin.
 */
class RunnerProcessTest {
  private static final Pattern SERVING = Pattern.compile(" on 127\\.0\\.0\\.1:(\\d+) ");

  @TempDir static Path shared;
  static Path code;
  static Path apiJar;

  private final List<String> log = new CopyOnWriteArrayList<>();
  private Process process;
  private RunnerClient client;

  @BeforeAll
  static void compile() {
    apiJar = RunnerSources.baseApiJar("com.example.quitapi", shared.resolve("api.jar"));
    code =
        RunnerSources.create()
            .classPath(apiJar)
            .add(
                "com.example.quit.Model",
                """
                package com.example.quit;
                public class Model extends com.example.quitapi.Base {
                  public long value() { return 7; }
                  public void quit() {
                    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                      while (true) {
                        java.util.concurrent.locks.LockSupport.park(); // interrupts only wake it
                      }
                    }, "a-model-hook-that-never-returns"));
                    System.exit(3);
                  }
                }
                """)
            .compileTo(shared.resolve("code"));
  }

  @AfterEach
  void stop() {
    if (client != null) {
      client.close();
    }
    if (process != null) {
      process.destroyForcibly();
    }
  }

  @Test
  void aModelThatCallsSystemExitIsNamedAndAHangingHookIsCutShortByAHalt() throws Exception {
    process =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                RunnerMain.class.getName(),
                "--code-directory",
                code.toString(),
                "--class-path",
                apiJar.toString(),
                "--address",
                "127.0.0.1:0",
                "--shutdown-grace",
                "1s")
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    CompletableFuture<Integer> port = new CompletableFuture<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader lines =
                  new BufferedReader(
                      new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
                for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                  log.add(line);
                  Matcher serving = SERVING.matcher(line);
                  if (line.contains("GrpcRunner: Serving") && serving.find()) {
                    port.complete(Integer.parseInt(serving.group(1)));
                  }
                }
              } catch (IOException e) {
                port.completeExceptionally(e);
              }
              port.completeExceptionally(new IllegalStateException("the runner ended: " + log));
            },
            "runner-stderr");
    reader.setDaemon(true);
    reader.start();

    client = new RunnerClient(port.get(60, TimeUnit.SECONDS));
    assertStatus(
        client.setup("com.example.quitapi.Base").getStatus(),
        "SUCCESS",
        "Instance created successfully");
    CompletableFuture.runAsync(
        () -> {
          try {
            client.call("quit");
          } catch (RuntimeException expected) {
            // the process ends under the call
          }
        });

    long started = System.nanoTime();
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("the process ended").isTrue();
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
    reader.join(10_000);
    assertThat(process.exitValue()).as("halted: %s", log).isEqualTo(ShutdownHook.HALTED);
    assertThat(seconds)
        .as(
            "the grace period (1 s) and the margin (%s s), with room",
            ShutdownHook.HALT_MARGIN_SECONDS)
        .isLessThan(1 + ShutdownHook.HALT_MARGIN_SECONDS + 20);
    assertThat(log)
        .anySatisfy(
            line ->
                assertThat(line)
                    .contains(
                        "Stop requested: System.exit called by com.example.quit.Model.quit(Model.java:")
                    .endsWith(") on thread modelrunner-grpc-model"))
        .anySatisfy(
            line ->
                assertThat(line)
                    .contains("The JVM is still shutting down 6 s after the stop was requested")
                    .endsWith("halting it with status 1"));
  }
}
