package org.modelrunner.transport.inprocess;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.modelrunner.transport.inprocess.TestModels.TIMEOUT;
import static org.modelrunner.transport.inprocess.TestModels.await;
import static org.modelrunner.transport.inprocess.TestModels.call;
import static org.modelrunner.transport.inprocess.TestModels.failure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.Status;
import org.modelrunner.spi.StatusCode;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.Variant;
import org.modelrunner.transport.inprocess.fixtures.Gates;

/** Every kind of injected fault, set at registration or at run time; faults touch calls only. */
@ExtendWith(TestModels.NoLeaks.class)
class FaultsTest {
  private static final Reply INJECTED =
      Reply.of(StatusCode.MODEL_FAILED, "The model raised an exception: injected failure");

  /** Calls {@code tick} {@code count} times, one after the other; returns 'S' or 'F' for each. */
  private static String ticks(ModelTransport transport, ModelConnection connection, int count) {
    StringBuilder outcomes = new StringBuilder();
    for (int i = 0; i < count; i++) {
      Reply reply = await(call(transport, connection, "tick", Variant.NONE));
      if (reply.equals(Reply.success(null))) {
        outcomes.append('S');
      } else {
        assertThat(reply).isEqualTo(INJECTED);
        outcomes.append('F');
      }
    }
    return outcomes.toString();
  }

  private static long predict(ModelTransport transport, ModelConnection connection) {
    return await(call(transport, connection, "predict")).value().orElseThrow().asLong();
  }

  @Test
  void latencyIsAddedBeforeEachCallOnly() {
    Duration latency = Duration.ofMillis(300);
    try (InProcessRunner runner =
            InProcessModels.submission("latency", TestModels.submission())
                .faults(Faults.builder().latency(latency).build())
                .register();
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      long start = System.nanoTime();
      assertThat(await(call(transport, connection, "echo", Variant.ofString("late"))))
          .isEqualTo(Reply.success(Variant.ofString("late")));
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(latency);
      // A deadline shorter than the latency expires; the model is busy until the latency has
      // passed.
      assertThat(
              failure(
                      call(
                          transport,
                          connection,
                          "echo",
                          Duration.ofMillis(50),
                          Variant.ofString("x")))
                  .kind())
          .isEqualTo(TransportException.Kind.DEADLINE_EXCEEDED);

      runner.clearFaults();
      long resetStart = System.nanoTime();
      Reply reset = retryWhileBusy(() -> connection.reset(TIMEOUT));
      assertThat(reset.status().isSuccess()).isTrue();
      assertThat(Duration.ofNanos(System.nanoTime() - resetStart))
          .isLessThan(Duration.ofSeconds(5));
    }
  }

  @Test
  void everyNthCallFailsWithoutReachingTheModel() {
    try (InProcessRunner runner =
            InProcessModels.submission("fail-every", TestModels.submission())
                .faults(Faults.builder().failEvery(3).build())
                .register();
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      assertThat(ticks(transport, connection, 8)).isEqualTo("SSFSSFSS");
      runner.clearFaults();
      assertThat(predict(transport, connection)).as("ticks that reached the model").isEqualTo(6);
    }
  }

  @Test
  void randomFailuresAreDeterministicForASeed() {
    Faults faults = Faults.builder().failRate(0.5, 42).build();
    try (InProcessRunner first =
            InProcessModels.submission("rate-1", TestModels.submission())
                .faults(faults)
                .register();
        InProcessRunner second = InProcessModels.register("rate-2", TestModels.submission());
        ModelTransport transport = TestModels.transport();
        ModelConnection one = transport.connect(first.endpoint());
        ModelConnection two = transport.connect(second.endpoint())) {
      TestModels.setUp(one);
      TestModels.setUp(two);
      second.setFaults(faults); // at run time, same seed: same sequence
      String pattern = ticks(transport, one, 30);
      assertThat(ticks(transport, two, 30)).isEqualTo(pattern);
      assertThat(pattern).contains("S").contains("F");
      // Setting the faults again starts the sequence again.
      first.setFaults(faults);
      assertThat(ticks(transport, one, 30)).isEqualTo(pattern);

      first.setFaults(Faults.builder().failRate(1, 1).build());
      assertThat(ticks(transport, one, 5)).isEqualTo("FFFFF");
      first.setFaults(Faults.builder().failRate(0, 1).build());
      assertThat(ticks(transport, one, 5)).isEqualTo("SSSSS");
    }
  }

  @Test
  void faultsNeverTouchSetupResetOrHealth() {
    try (InProcessRunner runner =
            InProcessModels.submission("calls-only", TestModels.submission())
                .faults(Faults.builder().failEvery(1).crashAtCall(0).build())
                .register();
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      assertThat(await(connection.reset(TIMEOUT)).status())
          .isEqualTo(Status.of(StatusCode.SUCCESS, "Instance successfully reset"));
      TestModels.setUp(connection);
      assertThat(await(connection.checkHealth(TIMEOUT))).isEqualTo(HealthStatus.SERVING);
      assertThat(await(call(transport, connection, "echo", Variant.ofString("x"))))
          .isEqualTo(INJECTED);

      runner.setFaults(Faults.builder().hang(true).build());
      assertThat(await(connection.reset(TIMEOUT)).status().isSuccess()).isTrue();
      TestModels.setUp(connection);
    }
  }

  @Test
  void aHangingCallNeverReturnsAndKeepsTheModelBusyUntilFaultsChange() {
    try (InProcessRunner runner =
            InProcessModels.submission("hang", TestModels.submission())
                .faults(Faults.builder().hang(true).build())
                .register();
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      assertThat(
              failure(call(transport, connection, "tick", Duration.ofMillis(100), Variant.NONE))
                  .kind())
          .isEqualTo(TransportException.Kind.DEADLINE_EXCEEDED);
      assertThat(await(connection.checkHealth(TIMEOUT))).isEqualTo(HealthStatus.SERVING);
      assertThat(failure(call(transport, connection, "tick", Variant.NONE)).kind())
          .isEqualTo(TransportException.Kind.BUSY);

      runner.clearFaults(); // the hanging call resumes; its caller gave up, so the model never sees
      // it
      assertThat(retryWhileBusy(() -> call(transport, connection, "tick", Variant.NONE)))
          .isEqualTo(Reply.success(null));
      assertThat(predict(transport, connection)).isEqualTo(1);
    }
  }

  @Test
  void aHangingCallResumesWhenFaultsChangeWhileItsCallerWaits() {
    try (InProcessRunner runner =
            InProcessModels.submission("hang-resume", TestModels.submission())
                .faults(Faults.builder().hang(true).build())
                .register();
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      CompletableFuture<Reply> hanging =
          call(transport, connection, "echo", Variant.ofString("late"));
      assertThat(failure(call(transport, connection, "echo", Variant.ofString("x"))).kind())
          .isEqualTo(TransportException.Kind.BUSY);
      assertThat(hanging).isNotDone();
      runner.setFaults(Faults.builder().failEvery(2).build());
      assertThat(await(hanging)).isEqualTo(Reply.success(Variant.ofString("late")));
    }
  }

  @Test
  void closingARunnerFailsItsHangingCallUnavailable() throws Exception {
    ModelTransport transport = TestModels.transport();
    try (transport) {
      InProcessRunner runner =
          InProcessModels.submission("hang-close", TestModels.submission())
              .faults(Faults.builder().hang(true).build())
              .register();
      ModelConnection connection = transport.connect(runner.endpoint());
      TestModels.setUp(connection);
      CompletableFuture<Reply> hanging = call(transport, connection, "tick", Variant.NONE);
      assertThat(hanging).isNotDone();
      HostedRunner hosted = InProcessModels.lookup("hang-close");
      runner.close();
      TransportException failure = failure(hanging);
      assertThat(failure.kind()).isEqualTo(TransportException.Kind.UNAVAILABLE);
      assertThat(failure).hasMessageContaining("inproc://hang-close");
      assertThat(hosted.awaitIdle(Duration.ofSeconds(10)))
          .as("the hanging call no longer holds the model")
          .isTrue();
    }
  }

  @Test
  void aCrashFailsTheCallInFlightAndEveryLaterRequestAndFreesTheName() throws Exception {
    String gate = "crash-" + System.nanoTime();
    try (ModelTransport transport = TestModels.transport()) {
      InProcessRunner runner = InProcessModels.register("crash", TestModels.submission());
      try (runner) {
        ModelConnection connection = transport.connect(runner.endpoint());
        TestModels.setUp(connection);
        CompletableFuture<Reply> inFlight =
            call(transport, connection, "hold", Variant.ofString(gate));
        assertThat(Gates.awaitEntered(gate, 1)).isTrue();

        runner.crash();
        assertThat(runner.isServing()).isFalse();
        TransportException lost = failure(inFlight);
        assertThat(lost.kind()).isEqualTo(TransportException.Kind.UNAVAILABLE);
        assertThat(failure(call(transport, connection, "echo", Variant.ofString("x"))).kind())
            .isEqualTo(TransportException.Kind.UNAVAILABLE);
        assertThat(failure(connection.setup(TestModels.BASE, Arguments.none(), TIMEOUT)).kind())
            .isEqualTo(TransportException.Kind.UNAVAILABLE);
        assertThat(failure(connection.checkHealth(TIMEOUT)).kind())
            .isEqualTo(TransportException.Kind.UNAVAILABLE);
        assertThat(InProcessModels.names()).doesNotContain("crash");

        // The process "restarts": the same name can be registered again, and the old connection
        // reaches it.
        try (InProcessRunner restarted =
            InProcessModels.register("crash", TestModels.submission())) {
          assertThat(await(connection.checkHealth(TIMEOUT))).isEqualTo(HealthStatus.SERVING);
          TestModels.setUp(connection);
          assertThat(await(call(transport, connection, "predict")))
              .isEqualTo(Reply.success(Variant.ofLong(0)));
          runner.close(); // closing the crashed handle leaves the new runner alone
          assertThat(restarted.isServing()).isTrue();
          assertThat(InProcessModels.names()).contains("crash");
        }
      }
    } finally {
      Gates.open(gate);
    }
  }

  @Test
  void aRunnerCanCrashAtItsNthCall() {
    try (InProcessRunner runner =
            InProcessModels.submission("crash-at", TestModels.submission())
                .faults(Faults.builder().crashAtCall(2).build())
                .register();
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      assertThat(await(call(transport, connection, "tick", Variant.NONE)))
          .isEqualTo(Reply.success(null));
      assertThat(failure(call(transport, connection, "tick", Variant.NONE)).kind())
          .isEqualTo(TransportException.Kind.UNAVAILABLE);
      assertThat(runner.isServing()).isFalse();
      assertThat(failure(connection.checkHealth(TIMEOUT)).kind())
          .isEqualTo(TransportException.Kind.UNAVAILABLE);
    }
  }

  @Test
  void faultsAreImmutableValuesWithValidation() {
    Faults faults =
        Faults.builder()
            .latency(Duration.ofMillis(5))
            .failEvery(4)
            .failRate(0.25, 9)
            .hang(true)
            .crashAtCall(3)
            .build();
    assertThat(faults.toBuilder().build()).isEqualTo(faults).hasSameHashCodeAs(faults);
    assertThat(faults.toString())
        .isEqualTo(
            "Faults{latency=PT0.005S, failEvery=4, failRate=0.25 (seed 9), hang, crashAtCall=3}");
    assertThat(Faults.none().isNone()).isTrue();
    assertThat(Faults.none()).hasToString("Faults{none}");
    assertThat(faults.isNone()).isFalse();
    assertThatThrownBy(() -> Faults.builder().latency(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Faults.builder().failEvery(-1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Faults.builder().failRate(1.5, 0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Faults.builder().failRate(Double.NaN, 0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Faults.builder().crashAtCall(-2))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /**
   * Sends a request until it is not refused as busy (a model released a moment ago); 10 s at most.
   */
  private static Reply retryWhileBusy(
      java.util.function.Supplier<CompletableFuture<Reply>> request) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    List<Throwable> refusals = new ArrayList<>();
    while (System.nanoTime() < deadline) {
      try {
        return request.get().get(TestModels.WAIT_SECONDS, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        assertThat(e.getCause()).isInstanceOf(TransportException.class);
        assertThat(((TransportException) e.getCause()).kind())
            .isEqualTo(TransportException.Kind.BUSY);
        refusals.add(e.getCause());
        try {
          Thread.sleep(5);
        } catch (InterruptedException interrupted) {
          throw new AssertionError(interrupted);
        }
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }
    throw new AssertionError("still busy after 10 s: " + refusals.size() + " refusals");
  }
}
