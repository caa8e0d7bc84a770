package org.modelrunner.transport.grpc.crosslang;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.modelrunner.client.CallFailure;
import org.modelrunner.client.CallOutcome;
import org.modelrunner.client.CallStatus;
import org.modelrunner.client.FanOut;
import org.modelrunner.client.FleetEvent;
import org.modelrunner.client.ModelArguments;
import org.modelrunner.client.ModelFleet;
import org.modelrunner.client.StaticModelDirectory;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelDirectory;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.TransportSettings;
import org.modelrunner.spi.Variant;
import org.modelrunner.spi.VariantType;
import org.modelrunner.transport.grpc.GrpcTransportProvider;

/**
 * A Java coordinator ({@link ModelFleet} over {@code grpc://}) calls a model served by a Python
 * runner, {@code src/test/python/serve_model.py}, written with the stubs Debian's protoc generates
 * from our protos: setup (with a keyword argument), calls with every value type both ways, the
 * statuses of a model that raises and of a method that does not exist, a base class the runner
 * cannot find, and a model that overruns its deadline (the Python runner answers {@code Server
 * busy} until it returns).
 */
class PythonRunnerCrossLanguageTest {
  static final String BASE = "crosslang.tracker.TrackerBase";
  static final Duration WAIT = PythonPeer.TIMEOUT;

  @BeforeEach
  void python() {
    PythonPeer.require();
  }

  @Test
  void the_java_fleet_calls_a_model_served_by_python() throws InterruptedException {
    List<FleetEvent> events = new CopyOnWriteArrayList<>();
    try (PythonPeer.PythonServer python = PythonPeer.serveModel();
        ModelFleet fleet =
            fleet(python, BASE, events)
                .setupArguments(Arguments.builder().add("scale", Variant.ofDouble(2.0)).build())
                .build()) {
      String id = "127.0.0.1:" + python.port();
      assertThat(fleet.awaitConnected(1, WAIT))
          .as("connected; events %s; %s", events, python)
          .isTrue();
      assertThat(fleet.connectedModelIds()).containsExactly(id);
      // Listeners run on the fleet's executor: the event may follow awaitConnected.
      FleetEvent connected = awaitEvent(events, e -> e.kind() == FleetEvent.Kind.CONNECTED, python);
      assertThat(connected.reason()).isEqualTo("Instance created successfully");

      // tick: a JSON argument, no result (methodResponse unset).
      CallOutcome tick =
          only(fleet, FanOut.of("tick", Map.of("price", 101.5, "symbol", "BTC")), python);
      assertThat(tick.variant()).isEmpty();

      // predict: a DOUBLE, 101.5 scaled by the setup's keyword argument.
      CallOutcome predict = only(fleet, FanOut.of("predict"), python);
      assertThat(predict.variant().orElseThrow().type()).isEqualTo(VariantType.DOUBLE);
      assertThat(predict.as(Double.class)).isEqualTo(203.0);

      // int (and bool) results are INT.
      CallOutcome ticks = only(fleet, FanOut.of("ticks_seen"), python);
      assertThat(ticks.variant().orElseThrow().type()).isEqualTo(VariantType.INT);
      assertThat(ticks.as(Long.class)).isEqualTo(1L);
      CallOutcome ready = only(fleet, FanOut.of("ready"), python);
      assertThat(ready.variant().orElseThrow().type()).isEqualTo(VariantType.INT);
      assertThat(ready.as(Long.class)).isEqualTo(1L);

      // Java int, double and String arrive as Python int, float and str; a str comes back as
      // STRING.
      CallOutcome described = only(fleet, FanOut.of("describe", "Zoë", 3, 2.5), python);
      assertThat(described.variant().orElseThrow().type()).isEqualTo(VariantType.STRING);
      assertThat(described.as(String.class)).isEqualTo("Zoë|int:3|float:2.5");

      // Keywords fill the parameters not filled by position; the others are dropped by the runner.
      CallOutcome keywords =
          only(
              fleet,
              FanOut.builder("describe")
                  .arguments("k")
                  .keyword("count", 4)
                  .keyword("factor", 0.5)
                  .keyword("name", "already filled")
                  .keyword("unknown", true)
                  .build(),
              python);
      assertThat(keywords.as(String.class)).isEqualTo("k|int:4|float:0.5");

      // dict results are JSON, with Python's bare NaN and Infinity tokens.
      CallOutcome stats = only(fleet, FanOut.of("stats"), python);
      assertThat(stats.variant().orElseThrow().type()).isEqualTo(VariantType.JSON);
      assertThat(new String(stats.variant().orElseThrow().toByteArray(), StandardCharsets.UTF_8))
          .contains("NaN", "Infinity", "-Infinity");
      Map<?, ?> map = stats.as(Map.class);
      assertThat(map.get("price")).isEqualTo(101.5);
      assertThat(map.get("ticks")).isEqualTo(1L);
      assertThat((Double) map.get("gap")).isNaN();
      assertThat(map.get("up")).isEqualTo(Double.POSITIVE_INFINITY);
      assertThat(map.get("down")).isEqualTo(Double.NEGATIVE_INFINITY);
      assertThat(map.get("tags")).isEqualTo(Arrays.asList("a", 1L, 2.5, null, true));

      // None is no value.
      CallOutcome nothing = only(fleet, FanOut.of("nothing"), python);
      assertThat(nothing.variant()).isEmpty();
      assertThat(nothing.value()).isNull();

      // A model that raises: a FAILURE with the runner's status, whole.
      CallOutcome raised = outcome(fleet, FanOut.of("explode"), python);
      assertThat(raised.status()).as("%s", raised).isEqualTo(CallStatus.FAILURE);
      assertThat(raised.failure())
          .contains(
              new CallFailure(
                  CallFailure.Source.MODEL,
                  "MODEL_FAILED",
                  "The model raised an exception: boom from Python"));
      assertThat(only(fleet, FanOut.of("predict"), python).as(Double.class)).isEqualTo(203.0);

      // A method the model does not have: BAD_IMPLEMENTATION, and the fleet disconnects it at once.
      CallOutcome unknown = outcome(fleet, FanOut.of("nope"), python);
      assertThat(unknown.status()).as("%s", unknown).isEqualTo(CallStatus.FAILURE);
      assertThat(unknown.failure())
          .contains(
              new CallFailure(
                  CallFailure.Source.MODEL,
                  "BAD_IMPLEMENTATION",
                  "Method \"nope\" not found in class \"Model\""));
      FleetEvent disconnected =
          awaitEvent(events, e -> e.kind() == FleetEvent.Kind.DISCONNECTED, python);
      assertThat(disconnected.code()).isEqualTo("BAD_IMPLEMENTATION");
      assertThat(disconnected.modelId()).isEqualTo(id);
      assertThat(fleet.connectedModelIds()).isEmpty();
    }
  }

  @Test
  void a_python_runner_without_an_implementation_of_the_base_class_is_disconnected_at_setup()
      throws InterruptedException {
    List<FleetEvent> events = new CopyOnWriteArrayList<>();
    try (PythonPeer.PythonServer python = PythonPeer.serveModel();
        ModelFleet fleet = fleet(python, "crosslang.tracker.OtherBase", events).build()) {
      FleetEvent event = awaitEvent(events, e -> e.kind() != FleetEvent.Kind.CONNECTED, python);
      assertThat(event.kind()).as("%s", event).isEqualTo(FleetEvent.Kind.DISCONNECTED);
      assertThat(event.code()).isEqualTo("BAD_IMPLEMENTATION");
      assertThat(event.reason())
          .isEqualTo("No Inherited class found from <class 'crosslang.tracker.OtherBase'>.");
      assertThat(fleet.connectedModelIds()).isEmpty();
    }
  }

  @Test
  void a_python_model_whose_constructor_throws_is_reported_multiple_failed_at_once()
      throws InterruptedException {
    List<FleetEvent> events = new CopyOnWriteArrayList<>();
    Reports reports = new Reports("grpc://127.0.0.1:%d");
    try (PythonPeer.PythonServer python = PythonPeer.serveModel();
        ModelFleet fleet =
            fleet(python, BASE, events)
                .directory(reports.directory(python.port()))
                .setupArguments(Arguments.builder().add("scale", Variant.ofString("big")).build())
                .build()) {
      FleetEvent event = awaitEvent(events, e -> e.kind() != FleetEvent.Kind.CONNECTED, python);
      assertThat(event.kind()).as("%s", event).isEqualTo(FleetEvent.Kind.DISCONNECTED);
      assertThat(event.code()).isEqualTo("MULTIPLE_FAILED");
      assertThat(event.reason())
          .isEqualTo("setup answered SETUP_FAILED: scale must be a number, got 'big'");
      assertThat(reports.codes()).containsExactly("MULTIPLE_FAILED");
      assertThat(fleet.models().get(0).lastError().orElseThrow()).contains("setup attempt 1:");
    }
  }

  @Test
  void a_python_runner_that_lost_its_instance_is_set_up_again_and_nothing_is_counted()
      throws Exception {
    List<FleetEvent> events = new CopyOnWriteArrayList<>();
    Reports reports = new Reports("grpc://127.0.0.1:%d");
    try (PythonPeer.PythonServer python = PythonPeer.serveModel();
        ModelFleet fleet =
            fleet(python, BASE, events).directory(reports.directory(python.port())).build()) {
      assertThat(fleet.awaitConnected(1, WAIT))
          .as("connected; events %s; %s", events, python)
          .isTrue();
      only(fleet, FanOut.of("tick", Map.of("price", 10.0)), python);

      // A stranger's Rest: the Python runner drops its instance.
      try (ModelTransport transport =
              new GrpcTransportProvider().create(TransportSettings.defaults());
          ModelConnection stranger =
              transport.connect(URI.create("grpc://127.0.0.1:" + python.port()))) {
        assertThat(
                stranger
                    .reset(Duration.ofSeconds(10))
                    .get(WAIT.toSeconds(), TimeUnit.SECONDS)
                    .status()
                    .message())
            .isEqualTo("Instance successfully reset");
      }
      CallOutcome lost = outcome(fleet, FanOut.of("ticks_seen"), python);
      assertThat(lost.status()).isEqualTo(CallStatus.FAILURE);
      assertThat(lost.failure().orElseThrow().code()).isEqualTo("FAILED_PRECONDITION");
      assertThat(lost.failure().orElseThrow().message()).isEqualTo("Setup has not been called yet");

      FleetEvent restarted = awaitEvent(events, e -> e.kind() == FleetEvent.Kind.RESTARTED, python);
      assertThat(restarted.reason()).contains("no instance");
      CallOutcome again = only(fleet, FanOut.of("ticks_seen"), python);
      assertThat(again.as(Long.class)).as("a clean new instance").isZero();
      assertThat(fleet.models().get(0).consecutiveFailures()).isZero();
      assertThat(reports.codes()).isEmpty();
    }
  }

  @Test
  void null_arguments_and_per_model_keywords_reach_python() throws InterruptedException {
    List<FleetEvent> events = new CopyOnWriteArrayList<>();
    try (PythonPeer.PythonServer python = PythonPeer.serveModel();
        ModelFleet fleet = fleet(python, BASE, events).build()) {
      assertThat(fleet.awaitConnected(1, WAIT))
          .as("connected; events %s; %s", events, python)
          .isTrue();
      assertThat(only(fleet, FanOut.of("kind_of", (Object) null), python).as(String.class))
          .isEqualTo("NoneType|None");
      CallOutcome perModel =
          only(
              fleet,
              FanOut.builder("kind_of")
                  .perModel(
                      model -> ModelArguments.of(7).keyword("metrics", "for " + model.modelId()))
                  .build(),
              python);
      assertThat(perModel.as(String.class)).isEqualTo("int|for 127.0.0.1:" + python.port());
    }
  }

  /** A static directory of one endpoint that records the failure reports it gets. */
  private static final class Reports {
    private final String template;
    private final List<String> codes = new CopyOnWriteArrayList<>();

    Reports(String template) {
      this.template = template;
    }

    ModelDirectory directory(int port) {
      StaticModelDirectory endpoints = StaticModelDirectory.of(template.formatted(port));
      return new ModelDirectory() {
        @Override
        public void start(Listener listener) {
          endpoints.start(listener);
        }

        @Override
        public void reportFailure(ModelEndpoint endpoint, String failureCode, String reason) {
          codes.add(failureCode);
        }

        @Override
        public void close() {
          endpoints.close();
        }
      };
    }

    List<String> codes() {
      return List.copyOf(codes);
    }
  }

  @Test
  void a_python_model_that_overruns_the_deadline_times_out_then_answers_busy_until_it_returns()
      throws Exception {
    List<FleetEvent> events = new CopyOnWriteArrayList<>();
    try (PythonPeer.PythonServer python = PythonPeer.serveModel();
        // Timeouts and the cooldown disabled: this test polls a busy runner, which counts as
        // timeouts.
        ModelFleet fleet =
            fleet(python, BASE, events).maxConsecutiveTimeouts(0).timeoutCooldown(false).build()) {
      assertThat(fleet.awaitConnected(1, WAIT))
          .as("connected; events %s; %s", events, python)
          .isTrue();

      // The Python runner keeps running the model after the client's deadline, holding its lock.
      CallOutcome slow =
          outcome(
              fleet,
              FanOut.builder("sleep").arguments(3.0).timeout(Duration.ofMillis(300)).build(),
              python);
      assertThat(slow.status()).as("%s", slow).isEqualTo(CallStatus.TIMEOUT);
      CallOutcome busy = outcome(fleet, FanOut.of("ticks_seen"), python);
      assertThat(busy.status()).as("%s", busy).isEqualTo(CallStatus.FAILURE);
      CallFailure failure = busy.failure().orElseThrow();
      assertThat(failure.source()).isEqualTo(CallFailure.Source.TRANSPORT);
      assertThat(failure.code()).isEqualTo("BUSY");
      assertThat(failure.message()).contains("Server busy");

      // The Python health service answers meanwhile, to our client's health check (as to the
      // fleet's own,
      // sent after the timeout: SERVING, so the fleet does not reconnect).
      try (ModelTransport transport =
              new GrpcTransportProvider().create(TransportSettings.defaults());
          ModelConnection connection =
              transport.connect(URI.create("grpc://127.0.0.1:" + python.port()))) {
        assertThat(
                connection
                    .checkHealth(Duration.ofSeconds(30))
                    .get(WAIT.toSeconds(), TimeUnit.SECONDS))
            .isEqualTo(HealthStatus.SERVING);
      }

      // Once the model returns, the runner answers again.
      long deadline = System.nanoTime() + WAIT.toNanos();
      CallOutcome after = outcome(fleet, FanOut.of("ticks_seen"), python);
      while (!after.isSuccess() && System.nanoTime() < deadline) {
        assertThat(after.failure().map(CallFailure::code)).as("%s", after).contains("BUSY");
        Thread.sleep(200);
        after = outcome(fleet, FanOut.of("ticks_seen"), python);
      }
      assertThat(after.status()).as("%s", after).isEqualTo(CallStatus.SUCCESS);
      assertThat(after.as(Long.class)).isZero();
      assertThat(fleet.connectedModelIds()).containsExactly("127.0.0.1:" + python.port());
    }
  }

  private static ModelFleet.Builder fleet(
      PythonPeer.PythonServer python, String base, List<FleetEvent> events) {
    return ModelFleet.builder()
        .directory(StaticModelDirectory.of("grpc://127.0.0.1:" + python.port()))
        .baseClass(base)
        .callTimeout(Duration.ofSeconds(30))
        .setupTimeout(Duration.ofSeconds(30))
        .setupRetries(3, Duration.ofMillis(500))
        .listener(events::add);
  }

  /** The single outcome of a fan-out to the one model. */
  private static CallOutcome outcome(ModelFleet fleet, FanOut call, PythonPeer.PythonServer python)
      throws InterruptedException {
    List<CallOutcome> outcomes = fleet.callAndWait(call).outcomes();
    assertThat(outcomes).as("outcomes of %s; %s", call, python).hasSize(1);
    return outcomes.get(0);
  }

  /** The single outcome of a fan-out, which must be a success. */
  private static CallOutcome only(ModelFleet fleet, FanOut call, PythonPeer.PythonServer python)
      throws InterruptedException {
    CallOutcome outcome = outcome(fleet, call, python);
    assertThat(outcome.status())
        .as("%s of %s; %s", outcome, call, python)
        .isEqualTo(CallStatus.SUCCESS);
    return outcome;
  }

  private static FleetEvent awaitEvent(
      List<FleetEvent> events, Predicate<FleetEvent> wanted, PythonPeer.PythonServer python)
      throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      for (FleetEvent event : events) {
        if (wanted.test(event)) {
          return event;
        }
      }
      Thread.sleep(20);
    }
    throw new AssertionError(
        "No such fleet event within " + WAIT + "; events " + events + "; " + python);
  }
}
