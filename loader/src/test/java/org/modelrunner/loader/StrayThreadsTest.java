package org.modelrunner.loader;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.Reply;
import org.modelrunner.testsupport.LogCapture;

/**
 * Model code run on the submission's threads starts its threads in the submission's thread group;
 * those it leaves running are reported at reset and close.
 */
class StrayThreadsTest {
  static final String BASE = "org.modelrunner.loader.fixtures.TrackerBase";

  @TempDir static Path shared;
  static Path submission;

  private LogCapture capture;
  private List<String> warnings;

  private HostedModel model;

  @BeforeAll
  static void compile() throws IOException {
    submission =
        Sources.create()
            .add(
                "com.example.stray.Model",
                """
                package com.example.stray;
                public class Model extends org.modelrunner.loader.fixtures.TrackerBase
                    implements AutoCloseable {
                  private volatile Thread tidy;
                  public void tick(Object data) {}
                  public Object predict() { return 1L; }
                  public String leak() {
                    Thread ticker = new Thread(() -> {
                      try { new java.util.concurrent.CountDownLatch(1).await(); } catch (InterruptedException e) { }
                    }, "leaked-ticker");
                    ticker.start();
                    return ticker.getThreadGroup().getName();
                  }
                  public void startTidy() {
                    tidy = new Thread(() -> {
                      try { new java.util.concurrent.CountDownLatch(1).await(); } catch (InterruptedException e) { }
                    }, "tidy-worker");
                    tidy.start();
                  }
                  @Override public void close() {
                    Thread worker = tidy;
                    if (worker != null) { worker.interrupt(); }
                  }
                }
                """)
            .compileTo(shared.resolve("stray"));
  }

  @BeforeEach
  void open() {
    capture = LogCapture.start(HostedModel.class.getName(), Level.WARNING);
    warnings = capture.messages();
    model = HostedModel.open(submission);
  }

  @AfterEach
  void close() {
    capture.close();
    for (Thread stray : model.submission().strayThreads()) {
      stray.interrupt();
    }
    model.close();
  }

  /** Runs {@code work} on a new runner thread of the submission, as the gRPC runner does. */
  private Reply onRunnerThread(Callable<Reply> work) throws Exception {
    FutureTask<Reply> task = new FutureTask<>(work);
    Thread thread = model.submission().newThread(task, "test-runner");
    assertThat(thread.getThreadGroup()).isSameAs(model.submission().threadGroup());
    assertThat(thread.isDaemon()).isTrue();
    thread.start();
    return task.get(30, TimeUnit.SECONDS);
  }

  @Test
  void threadsTheModelLeavesRunningAreReportedAtRestAndClose() throws Exception {
    onRunnerThread(() -> model.setup(BASE, Arguments.none()));
    Reply leaked = onRunnerThread(() -> model.call("leak", Arguments.none()));
    assertThat(leaked.value().orElseThrow().asString())
        .as("the model's thread is in the submission's group")
        .isEqualTo(model.submission().threadGroup().getName());
    assertThat(model.submission().strayThreads())
        .extracting(Thread::getName)
        .containsExactly("leaked-ticker");

    onRunnerThread(model::reset);
    assertThat(warnings).hasSize(1);
    assertThat(warnings.get(0))
        .startsWith("The model left 1 thread(s) running after Rest: 'leaked-ticker' (WAITING, at ")
        .contains(".park(")
        .endsWith(
            "They keep running (and keep the submission's classes): a model should stop the"
                + " threads it starts, in close() if it is AutoCloseable");

    model.close();
    assertThat(warnings).hasSize(2);
    assertThat(warnings.get(1)).startsWith("The model left 1 thread(s) running after close: ");
  }

  @Test
  void threadsTheModelStopsInCloseAreNotReported() throws Exception {
    onRunnerThread(() -> model.setup(BASE, Arguments.none()));
    onRunnerThread(() -> model.call("startTidy", Arguments.none()));
    assertThat(model.submission().strayThreads())
        .extracting(Thread::getName)
        .containsExactly("tidy-worker");
    onRunnerThread(model::reset);
    assertThat(warnings).isEmpty();
    assertThat(model.submission().strayThreads()).isEmpty();
  }

  @Test
  void modelsRunOnSharedThreadsAddNoThreadGroupAndTheirStraysAreStillFound() throws Exception {
    // As the in-process transport hosts models: opened, set up and called on threads of the host
    // (here, of a group of the test's own), never on threads of the submission.
    ThreadGroup host = new ThreadGroup("stray-test-host");
    FutureTask<List<String>> hosting =
        new FutureTask<>(
            () -> {
              for (int i = 0; i < 20; i++) {
                try (HostedModel other = HostedModel.open(submission)) {
                  other.setup(BASE, Arguments.none());
                  other.call("predict", Arguments.none());
                  other.reset();
                }
              }
              try (HostedModel leaking = HostedModel.open(submission)) {
                leaking.setup(BASE, Arguments.none());
                leaking.call("leak", Arguments.none());
                List<String> strays =
                    leaking.submission().strayThreads().stream().map(Thread::getName).toList();
                leaking.submission().strayThreads().forEach(Thread::interrupt);
                return strays;
              }
            });
    Thread opener = new Thread(host, hosting, "stray-test-opener");
    opener.start();
    assertThat(hosting.get(30, TimeUnit.SECONDS))
        .as("a thread the model started on a host thread is known by its context class loader")
        .containsExactly("leaked-ticker");
    opener.join(TimeUnit.SECONDS.toMillis(30));
    // A group for each, kept by its parent on Java 17, made every look for the JVM's threads (at
    // each model's reset and close) walk as many groups as models were ever hosted.
    assertThat(host.activeGroupCount()).as("thread groups made under the host's").isZero();
  }
}
