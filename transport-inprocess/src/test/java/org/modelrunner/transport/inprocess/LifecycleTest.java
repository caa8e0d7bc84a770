package org.modelrunner.transport.inprocess;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.modelrunner.transport.inprocess.TestModels.BASE;
import static org.modelrunner.transport.inprocess.TestModels.TIMEOUT;
import static org.modelrunner.transport.inprocess.TestModels.await;
import static org.modelrunner.transport.inprocess.TestModels.call;
import static org.modelrunner.transport.inprocess.TestModels.failure;

import java.lang.ref.WeakReference;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelDirectory;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.ModelState;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.ProviderRegistry;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.StatusCode;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.TransportProvider;
import org.modelrunner.spi.TransportSettings;
import org.modelrunner.spi.Variant;
import org.modelrunner.transport.inprocess.fixtures.ClassPathTracker;
import org.modelrunner.transport.inprocess.fixtures.Gates;

/**
 * Finding the provider, naming endpoints, and what opening and closing runners and transports do.
 */
@ExtendWith(TestModels.NoLeaks.class)
class LifecycleTest {
  @Test
  void serviceLoaderFindsTheProviderOfTheInprocScheme() {
    List<TransportProvider> providers = ProviderRegistry.load(TransportProvider.class).providers();
    assertThat(providers).hasAtLeastOneElementOfType(InProcessTransportProvider.class);
    TransportProvider provider =
        providers.stream()
            .filter(p -> p instanceof InProcessTransportProvider)
            .findFirst()
            .orElseThrow();
    assertThat(provider.schemes()).containsExactly("inproc");
    assertThat(provider.isAvailable()).isTrue();
    try (ModelTransport transport = provider.create(TransportSettings.defaults())) {
      assertThat(transport).isNotNull();
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "grpc://localhost:50051", "inproc:alice", "inproc:///path", "inproc://alice/more",
            "inproc://alice?x=1",
        "inproc://alice#f", "inproc://user@alice", "inproc://al%20ice", "http://alice",
            "inproc://-alice"
      })
  void connectRefusesWhatIsNotInprocName(String uri) {
    try (ModelTransport transport = TestModels.transport()) {
      assertThatThrownBy(() -> transport.connect(URI.create(uri)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining(uri);
    }
  }

  @Test
  void namesAreCheckedAndUniqueAndEndpointsAreInprocName() {
    assertThat(InProcessModels.endpoint("model-1.v2_x"))
        .isEqualTo(URI.create("inproc://model-1.v2_x"));
    for (String bad : new String[] {"", "a b", "a/b", "-a", "a:1", "é"}) {
      assertThatThrownBy(() -> InProcessModels.register(bad, ClassPathTracker.class))
          .as("name '%s'", bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
    try (InProcessRunner runner = InProcessModels.register("unique", ClassPathTracker.class)) {
      assertThat(runner.endpoint()).isEqualTo(URI.create("inproc://unique"));
      assertThat(runner.name()).isEqualTo("unique");
      assertThat(runner.maxMessageBytes()).isEqualTo(TransportSettings.DEFAULT_MAX_MESSAGE_BYTES);
      assertThat(runner.faults()).isEqualTo(Faults.none());
      assertThatThrownBy(() -> InProcessModels.register("unique", TestModels.submission()))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("inproc://unique");
      assertThat(InProcessModels.names()).contains("unique");
    }
    assertThat(InProcessModels.names()).doesNotContain("unique");
    assertThatThrownBy(
            () -> InProcessModels.register("no-such", Path.of("target", "no-such-submission")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(InProcessModels.names()).doesNotContain("no-such");
  }

  @Test
  void anUnknownNameIsUnavailableAndResolvedAgainAtEachRequest() {
    try (ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(URI.create("inproc://later"))) {
      for (CompletableFuture<?> request :
          List.of(
              connection.setup(BASE, Arguments.none(), TIMEOUT),
              call(transport, connection, "echo", Variant.ofString("x")),
              connection.reset(TIMEOUT),
              connection.checkHealth(TIMEOUT))) {
        TransportException failure = failure(request);
        assertThat(failure.kind()).isEqualTo(TransportException.Kind.UNAVAILABLE);
        assertThat(failure).hasMessageContaining("inproc://later");
      }
      try (InProcessRunner runner = InProcessModels.register("later", TestModels.submission())) {
        assertThat(runner.isServing()).isTrue();
        assertThat(await(connection.checkHealth(TIMEOUT))).isEqualTo(HealthStatus.SERVING);
        TestModels.setUp(connection);
      }
      assertThat(failure(connection.checkHealth(TIMEOUT)).kind())
          .isEqualTo(TransportException.Kind.UNAVAILABLE);
    }
  }

  @Test
  void aConnectionReachesTheRunnerRegisteredUnderItsNameNow() {
    try (ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(URI.create("inproc://again"))) {
      try (InProcessRunner first = InProcessModels.register("again", TestModels.submission())) {
        TestModels.setUp(connection);
        assertThat(echo(transport, connection).isSuccess()).isTrue();
      }
      assertThat(failure(call(transport, connection, "echo", Variant.ofString("x"))))
          .hasMessageContaining("No model is registered at inproc://again");
      try (InProcessRunner second = InProcessModels.register("again", TestModels.submission())) {
        assertThat(echo(transport, connection).code())
            .as("the new runner has no instance: the call did reach it")
            .isEqualTo(StatusCode.FAILED_PRECONDITION.name());
        TestModels.setUp(connection);
        assertThat(echo(transport, connection).isSuccess()).isTrue();
      }
    }
  }

  private static org.modelrunner.spi.Status echo(
      ModelTransport transport, ModelConnection connection) {
    return await(call(transport, connection, "echo", Variant.ofString("x"))).status();
  }

  @Test
  void closingATransportCancelsItsRequestsInFlightAndTheModelCallGoesOn() throws Exception {
    String gate = "transport-close-" + System.nanoTime();
    try (InProcessRunner runner =
            InProcessModels.register("transport-close", TestModels.submission());
        ModelTransport other = TestModels.transport();
        ModelConnection observer = other.connect(runner.endpoint())) {
      ModelTransport transport = TestModels.transport();
      ModelConnection connection = transport.connect(runner.endpoint());
      CompletableFuture<Reply> inFlight = heldInGate(transport, connection, gate);

      transport.close();
      assertThat(failure(inFlight).kind()).isEqualTo(TransportException.Kind.CANCELLED);
      assertThat(failure(connection.reset(TIMEOUT)).kind())
          .isEqualTo(TransportException.Kind.CANCELLED);
      assertThat(failure(connection.checkHealth(TIMEOUT)).kind())
          .isEqualTo(TransportException.Kind.CANCELLED);
      assertThatThrownBy(() -> transport.connect(runner.endpoint()))
          .isInstanceOf(IllegalStateException.class);
      transport.close(); // idempotent

      // The model is still running the call, as after a client's cancel over the network.
      assertThat(failure(observer.reset(TIMEOUT)).kind()).isEqualTo(TransportException.Kind.BUSY);
      Gates.open(gate);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (observer.reset(TIMEOUT).handle((reply, error) -> error).get() != null) {
        assertThat(System.nanoTime()).as("model still busy").isLessThan(deadline);
        Thread.sleep(5);
      }
    } finally {
      Gates.open(gate);
    }
  }

  @Test
  void closingAConnectionCancelsOnlyItsOwnRequests() throws Exception {
    String gate = "connection-close-" + System.nanoTime();
    try (InProcessRunner first =
            InProcessModels.register("connection-close-1", TestModels.submission());
        InProcessRunner second =
            InProcessModels.register("connection-close-2", TestModels.submission());
        ModelTransport transport = TestModels.transport();
        ModelConnection kept = transport.connect(second.endpoint())) {
      ModelConnection closed = transport.connect(first.endpoint());
      TestModels.setUp(closed);
      TestModels.setUp(kept);
      CompletableFuture<Reply> cancelled = call(transport, closed, "hold", Variant.ofString(gate));
      CompletableFuture<Reply> untouched = call(transport, kept, "hold", Variant.ofString(gate));
      assertThat(Gates.awaitEntered(gate, 2)).isTrue();
      closed.close();
      closed.close();
      assertThat(failure(cancelled).kind()).isEqualTo(TransportException.Kind.CANCELLED);
      assertThat(untouched).isNotDone();
      Gates.open(gate);
      assertThat(await(untouched)).isEqualTo(Reply.success(Variant.ofString("released")));
    } finally {
      Gates.open(gate);
    }
  }

  @Test
  void closingARunnerFailsItsCallInFlightUnavailable() throws Exception {
    String gate = "runner-close-" + System.nanoTime();
    try (ModelTransport transport = TestModels.transport()) {
      InProcessRunner runner = InProcessModels.register("runner-close", TestModels.submission());
      ModelConnection connection = transport.connect(runner.endpoint());
      CompletableFuture<Reply> inFlight = heldInGate(transport, connection, gate);

      runner.close(); // the gate stays shut: the model code is interrupted
      TransportException lost = failure(inFlight);
      assertThat(lost.kind()).isEqualTo(TransportException.Kind.UNAVAILABLE);
      assertThat(lost).hasMessage("The model at inproc://runner-close was closed");
      assertThat(failure(connection.checkHealth(TIMEOUT)).kind())
          .isEqualTo(TransportException.Kind.UNAVAILABLE);
      assertThat(failure(connection.reset(TIMEOUT)).kind())
          .isEqualTo(TransportException.Kind.UNAVAILABLE);
      assertThat(runner.isServing()).isFalse();
      runner.close(); // idempotent
    } finally {
      Gates.open(gate);
    }
  }

  /** How a call was answered while its model code still runs. */
  enum AnsweredBy {
    CONNECTION_CLOSED,
    DEADLINE
  }

  @ParameterizedTest
  @EnumSource(AnsweredBy.class)
  void closingARunnerInterruptsModelCodeStillRunningForACallAlreadyAnswered(AnsweredBy how)
      throws Exception {
    boolean closes = how == AnsweredBy.CONNECTION_CLOSED;
    String gate = "orphan-" + how + "-" + System.nanoTime();
    try (ModelTransport transport = TestModels.transport()) {
      InProcessRunner runner =
          InProcessModels.register(
              closes ? "orphan-closed" : "orphan-expired", TestModels.submission());
      ModelConnection connection = transport.connect(runner.endpoint());
      TestModels.setUp(connection);
      CompletableFuture<Reply> inFlight =
          call(
              transport,
              connection,
              "hold",
              closes ? TIMEOUT : Duration.ofMillis(100),
              Variant.ofString(gate));
      assertThat(Gates.awaitEntered(gate, 1)).isTrue();
      if (closes) {
        connection.close();
      }
      assertThat(failure(inFlight).kind())
          .isEqualTo(
              closes
                  ? TransportException.Kind.CANCELLED
                  : TransportException.Kind.DEADLINE_EXCEEDED);
      assertThat(Gates.interrupted(gate)).isZero(); // its model code goes on, holding the model

      runner.close(); // the gate stays shut: the model code is interrupted all the same
      Awaitility.await("the model code is interrupted")
          .atMost(Duration.ofSeconds(10))
          .until(() -> Gates.interrupted(gate) == 1);
    } finally {
      Gates.open(gate);
    }
  }

  @Test
  void healthSaysNotServingWhileTheRunnerCloses() throws Exception {
    String name = "gated-close-" + System.nanoTime();
    try (ModelTransport transport = TestModels.transport()) {
      InProcessRunner runner = InProcessModels.register("runner-closing", TestModels.submission());
      ModelConnection connection = transport.connect(runner.endpoint());
      Reply setup =
          await(
              connection.setup(
                  BASE, Arguments.builder().add(Variant.ofString(name)).build(), TIMEOUT));
      assertThat(setup.status().isSuccess()).as("%s", setup).isTrue();

      // The instance's close() waits in a gate: the runner is closing until the gate opens.
      Thread closer = new Thread(runner::close, "closer");
      closer.start();
      assertThat(Gates.awaitEntered(name, 1)).isTrue();
      assertThat(await(connection.checkHealth(TIMEOUT))).isEqualTo(HealthStatus.NOT_SERVING);
      assertThat(failure(connection.reset(TIMEOUT)).kind())
          .isEqualTo(TransportException.Kind.UNAVAILABLE);
      assertThat(runner.isServing()).isFalse();
      Gates.open(name);
      closer.join(10_000);
      assertThat(closer.isAlive()).isFalse();
      assertThat(failure(connection.checkHealth(TIMEOUT)).kind())
          .isEqualTo(TransportException.Kind.UNAVAILABLE);
    } finally {
      Gates.open(name);
    }
  }

  @Test
  void aClosedConnectionIsNotKeptReachableByItsDeadlineOnTheTimer() {
    try (InProcessRunner runner = InProcessModels.register("let-go", TestModels.submission());
        ModelTransport transport = TestModels.transport()) {
      WeakReference<ModelConnection> closed = setUpAndClose(transport, runner);
      awaitCollected("the closed connection", closed);
    }
  }

  @Test
  void aConnectionThatTakesTheSlotOfAClosedOneDoesNotKeepItsCancelledRequests() throws Exception {
    String gate = "slot-reuse-" + System.nanoTime();
    try (InProcessRunner runner = InProcessModels.register("slot-reuse", TestModels.submission());
        ModelTransport transport = TestModels.transport()) {
      InFlightHeads heads = ((InProcessTransport) transport).inFlightHeads;
      WeakReference<CompletableFuture<Reply>> cancelled =
          cancelInFlight(transport, runner, gate, heads);
      Gates.open(gate); // the model returns: nothing on the runner's side holds the request
      assertThat(heads.inUse()).isZero();

      ModelConnection next = transport.connect(runner.endpoint()); // on the slot given back
      assertThat(heads.inUse()).isOne();
      Awaitility.await("the model is free") // BUSY until the cancelled call's model code returns
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(() -> TestModels.setUp(next));
      assertThat(await(call(transport, next, "echo", Variant.ofString("x"))).value())
          .contains(Variant.ofString("x"));
      awaitCollected("the cancelled request", cancelled);
      next.close();
      assertThat(heads.inUse()).isZero();
    } finally {
      Gates.open(gate);
    }
  }

  /**
   * Sets the model up and calls it into {@code gate}; returns the call once its model code waits in
   * the gate.
   */
  private static CompletableFuture<Reply> heldInGate(
      ModelTransport transport, ModelConnection connection, String gate)
      throws InterruptedException {
    TestModels.setUp(connection);
    CompletableFuture<Reply> inFlight = call(transport, connection, "hold", Variant.ofString(gate));
    assertThat(Gates.awaitEntered(gate, 1)).isTrue();
    return inFlight;
  }

  /** Closes a connection with a request in flight (in the gate); returns the request's future. */
  private static WeakReference<CompletableFuture<Reply>> cancelInFlight(
      ModelTransport transport, InProcessRunner runner, String gate, InFlightHeads heads)
      throws InterruptedException {
    ModelConnection connection = transport.connect(runner.endpoint());
    assertThat(heads.inUse()).isOne();
    CompletableFuture<Reply> inFlight = heldInGate(transport, connection, gate);
    connection.close();
    assertThat(failure(inFlight).kind()).isEqualTo(TransportException.Kind.CANCELLED);
    return new WeakReference<>(inFlight);
  }

  /** Sets a model up (its deadline, 10 s away, waits on the timer) and closes the connection. */
  private static WeakReference<ModelConnection> setUpAndClose(
      ModelTransport transport, InProcessRunner runner) {
    ModelConnection connection = transport.connect(runner.endpoint());
    TestModels.setUp(connection);
    connection.close();
    return new WeakReference<>(connection);
  }

  @Test
  void closingARunnerReleasesItsClassLoader() throws Exception {
    awaitCollected("the submission's class loader after close", useAndClose());
  }

  /** Waits until the garbage collector has taken what {@code reference} refers to. */
  private static void awaitCollected(String what, WeakReference<?> reference) {
    Awaitility.await(what + " is collected")
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> {
              System.gc();
              return reference.get() == null;
            });
  }

  private static WeakReference<ClassLoader> useAndClose() {
    try (InProcessRunner runner = InProcessModels.register("release", TestModels.jar());
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      await(call(transport, connection, "tick", Variant.ofString("data")));
      HostedRunner hosted = InProcessModels.lookup("release");
      return new WeakReference<>(hostedModelLoader(hosted));
    }
  }

  private static ClassLoader hostedModelLoader(HostedRunner runner) {
    try {
      java.lang.reflect.Field field = HostedRunner.class.getDeclaredField("model");
      field.setAccessible(true);
      return ((org.modelrunner.loader.HostedModel) field.get(runner)).submission().classLoader();
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void noTransportThreadIsLeftOnceEverythingIsClosed() throws Exception {
    String gate = "threads-" + System.nanoTime();
    InProcessRunner runner = InProcessModels.register("threads-left", TestModels.submission());
    InProcessRunner hanging =
        InProcessModels.implementation("threads-hanging", ClassPathTracker.class)
            .faults(Faults.builder().hang(true).latency(Duration.ofMillis(1)).build())
            .register();
    ModelDirectory directory = InProcessModels.directory();
    directory.start(
        new ModelDirectory.Listener() {
          @Override
          public void snapshot(List<ModelEndpoint> running) {}

          @Override
          public void update(ModelEndpoint endpoint, ModelState state) {}
        });
    ModelTransport transport = TestModels.transport();
    ModelConnection connection = transport.connect(runner.endpoint());
    TestModels.setUp(connection);
    TestModels.setUp(transport.connect(hanging.endpoint()));
    CompletableFuture<Reply> held =
        call(transport, connection, "hold", Duration.ofMillis(100), Variant.ofString(gate));
    call(
        transport,
        transport.connect(hanging.endpoint()),
        "tick",
        Duration.ofMillis(100),
        Variant.NONE);
    assertThat(Gates.awaitEntered(gate, 1)).isTrue();
    assertThat(failure(held).kind()).isEqualTo(TransportException.Kind.DEADLINE_EXCEEDED);
    assertThat(TestModels.transportThreads()).contains("modelrunner-inproc-timer");

    // The gate stays shut: closing the runner interrupts the model code that still runs.
    transport.close();
    directory.close();
    hanging.close();
    assertThat(InProcessModels.awaitThreadsStopped(Duration.ofMillis(50)))
        .as("the runner is still open")
        .isFalse();
    runner.close();
    assertThat(InProcessModels.awaitThreadsStopped(Duration.ofSeconds(10)))
        .as("threads left: %s", TestModels.transportThreads())
        .isTrue();
    assertThat(TestModels.transportThreads()).isEmpty();
    Gates.open(gate);
  }
}
