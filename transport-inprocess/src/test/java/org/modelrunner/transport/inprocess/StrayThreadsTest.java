package org.modelrunner.transport.inprocess;

import static org.assertj.core.api.Assertions.assertThat;
import static org.modelrunner.transport.inprocess.TestModels.TIMEOUT;
import static org.modelrunner.transport.inprocess.TestModels.await;
import static org.modelrunner.transport.inprocess.TestModels.call;

import java.nio.file.Path;
import java.util.List;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.modelrunner.loader.HostedModel;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.Reply;
import org.modelrunner.testsupport.LogCapture;

/**
 * Threads a model starts on the shared workers and leaves running are reported at Rest and close,
 * as the gRPC runner reports them: the workers are no thread of the submission, so they are known
 * by the submission's class loader, which they take from the model code that starts them.
 */
@ExtendWith(TestModels.NoLeaks.class)
class StrayThreadsTest {
  @TempDir static Path scratch;
  static Path submission;

  private LogCapture capture;
  private List<String> warnings;

  @BeforeAll
  static void compile() {
    submission =
        Sources.create()
            .add(
                "com.example.stray.Model",
                """
                package com.example.stray;
                public class Model extends org.modelrunner.transport.inprocess.fixtures.TrackerBase {
                  public void tick(Object data) {}
                  public Object predict() { return 1L; }
                  public String leak(String name) {
                    Thread ticker = new Thread(() -> {
                      try { new java.util.concurrent.CountDownLatch(1).await(); } catch (InterruptedException e) { }
                    }, name);
                    ticker.setDaemon(true);
                    ticker.start();
                    return ticker.getName();
                  }
                }
                """)
            .compileTo(scratch.resolve("stray"));
  }

  @BeforeEach
  void capture() {
    capture = LogCapture.start(HostedModel.class.getName(), Level.WARNING);
    warnings = capture.messages();
  }

  @AfterEach
  void stopLeakedThreads() {
    capture.close();
    Thread.getAllStackTraces().keySet().stream()
        .filter(thread -> thread.getName().startsWith("leaked-by-model"))
        .forEach(Thread::interrupt);
  }

  @Test
  void threadsTheModelLeavesRunningAreReportedAtRestAndClose() {
    try (InProcessRunner runner = InProcessModels.register("stray", submission);
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      Reply leaked =
          await(
              call(
                  transport,
                  connection,
                  "leak",
                  org.modelrunner.spi.Variant.ofString("leaked-by-model-1")));
      assertThat(leaked.status().isSuccess()).as("%s", leaked).isTrue();

      Reply reset = await(connection.reset(TIMEOUT));
      assertThat(reset.status().isSuccess()).isTrue();
      assertThat(warnings).hasSize(1);
      assertThat(warnings.get(0))
          .startsWith(
              "The model left 1 thread(s) running after Rest: 'leaked-by-model-1' (WAITING, at ")
          .endsWith(
              "They keep running (and keep the submission's classes): a model should stop the"
                  + " threads it starts, in close() if it is AutoCloseable");

      runner.close();
      assertThat(warnings).hasSize(2);
      assertThat(warnings.get(1))
          .startsWith("The model left 1 thread(s) running after close: 'leaked-by-model-1'");
    }
  }

  @Test
  void noWorkerIsReportedForAModelThatStartsNoThread() {
    try (InProcessRunner runner = InProcessModels.register("no-stray", submission);
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      for (int i = 0; i < 20; i++) {
        assertThat(await(call(transport, connection, "predict")).status().isSuccess()).isTrue();
      }
      assertThat(await(connection.reset(TIMEOUT)).status().isSuccess()).isTrue();
      runner.close();
      assertThat(warnings).isEmpty();
    }
  }
}
