package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.modelrunner.transport.grpc.Futures.BOUND;
import static org.modelrunner.transport.grpc.Futures.failure;
import static org.modelrunner.transport.grpc.Futures.since;
import static org.modelrunner.transport.grpc.Futures.value;

import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.ServerCallStreamObserver;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.modelrunner.spi.Argument;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.KeywordArgument;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.PreparedCall;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.Status;
import org.modelrunner.spi.StatusCode;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.TransportException.Kind;
import org.modelrunner.spi.TransportSettings;
import org.modelrunner.spi.Variant;
import org.modelrunner.spi.VariantType;
import org.modelrunner.transport.grpc.proto.CallRequest;
import org.modelrunner.transport.grpc.proto.CallResponse;
import org.modelrunner.transport.grpc.proto.DynamicSubclassServiceGrpc;
import org.modelrunner.transport.grpc.proto.SetupRequest;

/**
 * The client transport against a stub runner: answers, deadlines, connection errors, status
 * mapping.
 */
@Timeout(60)
class GrpcConnectionTest {
  private static final Duration QUICK = Duration.ofSeconds(5);
  private static final org.modelrunner.spi.Arguments NONE = org.modelrunner.spi.Arguments.none();

  private final List<AutoCloseable> toClose = new ArrayList<>();
  private GrpcTransport transport = open(new GrpcTransport(TransportSettings.defaults()));

  private <T extends AutoCloseable> T open(T closeable) {
    toClose.add(closeable);
    return closeable;
  }

  private StubRunner runner(StubService service) {
    return open(StubRunner.start(service));
  }

  private ModelConnection connect(URI endpoint) {
    return open(transport.connect(endpoint));
  }

  @AfterEach
  void closeEverything() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Answers

  @Test
  void setupCallAndResetCarryTheRunnersAnswersWhole() {
    StubService service = new StubService();
    service.call =
        (request, response) -> {
          switch (request.getMethodName()) {
            case "nothing" ->
                StubService.answer(
                    response,
                    CallResponse.newBuilder().setStatus(StubService.status("SUCCESS", "")).build());
            case "custom" ->
                StubService.answer(
                    response,
                    CallResponse.newBuilder()
                        .setStatus(StubService.status("SOME_NEW_CODE", "été ✓ 🚀"))
                        .build());
            default ->
                StubService.answer(
                    response,
                    CallResponse.newBuilder()
                        .setStatus(StubService.status("SUCCESS", ""))
                        .setMethodResponse(request.getMethodKwArguments(0).getData())
                        .build());
          }
        };
    ModelConnection connection = connect(runner(service).endpoint());

    org.modelrunner.spi.Arguments setupArguments =
        org.modelrunner.spi.Arguments.of(
            List.of(new Argument(3, Variant.ofString("c")), new Argument(-1, Variant.ofLong(7))),
            List.of(new KeywordArgument("name", Variant.ofString("alice"))));
    Reply setup = value(connection.setup("com.example.Base", setupArguments, QUICK));
    assertThat(setup).isEqualTo(Reply.of(StatusCode.SUCCESS, "Instance created successfully"));
    SetupRequest sent = (SetupRequest) service.received.get(0);
    assertThat(sent.getClassName()).isEqualTo("com.example.Base");
    assertThat(Protos.arguments(sent.getInstanceArgumentsList(), sent.getInstanceKwArgumentsList()))
        .isEqualTo(setupArguments);

    Variant json = Variant.of(VariantType.JSON, "{\"a\": NaN}".getBytes(StandardCharsets.UTF_8));
    Reply echoed =
        value(
            connection.call(
                transport.prepare(
                    "echo", org.modelrunner.spi.Arguments.builder().add("value", json).build()),
                QUICK));
    assertThat(echoed).isEqualTo(Reply.success(json));
    assertThat(value(connection.call(transport.prepare("nothing", NONE), QUICK)).value()).isEmpty();
    assertThat(value(connection.call(transport.prepare("custom", NONE), QUICK)))
        .isEqualTo(Reply.of(new Status("SOME_NEW_CODE", "été ✓ 🚀")));
    assertThat(value(connection.reset(QUICK)))
        .isEqualTo(Reply.of(StatusCode.SUCCESS, "Instance successfully reset"));
  }

  @Test
  void aNullClassNameIsSentEmpty() {
    StubService service = new StubService();
    ModelConnection connection = connect(runner(service).endpoint());
    value(connection.setup(null, NONE, QUICK));
    assertThat(((SetupRequest) service.received.get(0)).getClassName()).isEmpty();
  }

  @Test
  void aPreparedCallIsBuiltOnceAndSentAsIsOnEveryConnection() {
    StubService first = new StubService();
    StubService second = new StubService();
    ModelConnection a = connect(runner(first).endpoint());
    ModelConnection b = connect(runner(second).endpoint());
    PreparedCall prepared =
        transport.prepare(
            "echo", org.modelrunner.spi.Arguments.builder().add(Variant.ofDouble(1.5)).build());
    assertThat(prepared).isInstanceOf(GrpcPreparedCall.class);
    CallRequest request = ((GrpcPreparedCall) prepared).request();
    assertThat(transport.requestOf(prepared)).isSameAs(request);

    assertThat(value(a.call(prepared, QUICK))).isEqualTo(Reply.success(Variant.ofDouble(1.5)));
    assertThat(value(b.call(prepared, QUICK))).isEqualTo(Reply.success(Variant.ofDouble(1.5)));
    assertThat(first.received).containsExactly(request);
    assertThat(second.received).containsExactly(request);

    PreparedCall plain =
        PreparedCall.of(
            "echo", org.modelrunner.spi.Arguments.builder().add(Variant.ofLong(3)).build());
    assertThat(value(a.call(plain, QUICK))).isEqualTo(Reply.success(Variant.ofLong(3)));
  }

  @Test
  void aRequestOverTheClientsLimitIsRefusedBeforeItIsSent() {
    GrpcTransport limited =
        open(new GrpcTransport(TransportSettings.defaults().withMaxMessageBytes(1024)));
    StubService service = new StubService();
    ModelConnection connection = open(limited.connect(runner(service).endpoint()));
    org.modelrunner.spi.Arguments big =
        org.modelrunner.spi.Arguments.builder().add(Variant.ofString("x".repeat(2048))).build();

    assertThatThrownBy(() -> limited.prepare("echo", big))
        .isInstanceOfSatisfying(
            TransportException.class,
            e -> {
              assertThat(e.kind()).isEqualTo(Kind.MESSAGE_TOO_LARGE);
              assertThat(e.getMessage()).contains("call echo", "1024 bytes");
            });
    failure(connection.call(PreparedCall.of("echo", big), QUICK), Kind.MESSAGE_TOO_LARGE);
    // prepared by a transport with a larger limit: still checked against this one's
    failure(connection.call(transport.prepare("echo", big), QUICK), Kind.MESSAGE_TOO_LARGE);
    failure(connection.setup("com.example.Base", big, QUICK), Kind.MESSAGE_TOO_LARGE);
    assertThat(service.received).isEmpty();

    org.modelrunner.spi.Arguments small =
        org.modelrunner.spi.Arguments.builder().add(Variant.ofString("x".repeat(900))).build();
    assertThat(value(connection.call(limited.prepare("echo", small), QUICK)).status().isSuccess())
        .isTrue();
  }

  @Test
  void aResponseOverTheClientsLimitIsMessageTooLarge() {
    GrpcTransport limited =
        open(new GrpcTransport(TransportSettings.defaults().withMaxMessageBytes(4096)));
    ModelConnection connection = open(limited.connect(runner(new StubService()).endpoint()));
    Variant large = Variant.ofString("y".repeat(3000));
    // the request fits, the echoed response does too; twice as large does not fit either way
    assertThat(
            value(
                connection.call(
                    limited.prepare(
                        "echo", org.modelrunner.spi.Arguments.builder().add(large).build()),
                    QUICK)))
        .isEqualTo(Reply.success(large));

    StubService big = new StubService();
    big.call =
        (request, response) ->
            StubService.answer(
                response,
                CallResponse.newBuilder()
                    .setStatus(StubService.status("SUCCESS", ""))
                    .setMethodResponse(Protos.toProto(Variant.ofString("z".repeat(8192))))
                    .build());
    ModelConnection toBig = open(limited.connect(runner(big).endpoint()));
    TransportException tooLarge =
        failure(toBig.call(limited.prepare("text", NONE), QUICK), Kind.MESSAGE_TOO_LARGE);
    assertThat(tooLarge.getMessage()).contains("RESOURCE_EXHAUSTED");
  }

  @Test
  void aMalformedAnswerIsInternal() {
    StubService service = new StubService();
    service.call =
        (request, response) -> {
          if (request.getMethodName().equals("noStatus")) {
            StubService.answer(response, CallResponse.getDefaultInstance());
          } else {
            StubService.answer(
                response,
                CallResponse.newBuilder()
                    .setStatus(StubService.status("SUCCESS", ""))
                    .setMethodResponse(
                        org.modelrunner.transport.grpc.proto.Variant.newBuilder().setTypeValue(42))
                    .build());
          }
        };
    ModelConnection connection = connect(runner(service).endpoint());
    assertThat(
            failure(connection.call(transport.prepare("noStatus", NONE), QUICK), Kind.INTERNAL)
                .getMessage())
        .contains("no status");
    failure(connection.call(transport.prepare("unknownType", NONE), QUICK), Kind.INTERNAL);
  }

  // ---------------------------------------------------------------------------------------------
  // Deadlines

  @ParameterizedTest(name = "{0}")
  @MethodSource("requestKinds")
  void everyRequestHasADeadline(String kind) throws InterruptedException {
    StubService service = new StubService();
    service.setup = StubService.hang();
    service.call = StubService.hang();
    service.rest = StubService.hang();
    ModelConnection connection = connect(runner(service).endpoint());
    value(connection.checkHealth(QUICK)); // connected: the deadline runs while the runner works
    Duration timeout = Duration.ofMillis(300);
    long start = System.nanoTime();
    CompletableFuture<Reply> request =
        switch (kind) {
          case "setup" -> connection.setup("com.example.Base", NONE, timeout);
          case "call" -> connection.call(transport.prepare("work", NONE), timeout);
          default -> connection.reset(timeout);
        };
    TransportException failure = failure(request, Kind.DEADLINE_EXCEEDED);
    Duration took = since(start);
    assertThat(took).isBetween(timeout.minusMillis(20), timeout.plus(BOUND));
    assertThat(failure.getMessage()).contains(kind, "DEADLINE_EXCEEDED", "deadline");
    // the runner saw the deadline too: gRPC cancelled the call on its side
    assertThat(service.cancelled.poll(5, TimeUnit.SECONDS))
        .isEqualTo(
            switch (kind) {
              case "setup" -> "Setup";
              case "call" -> "Call";
              default -> "Rest";
            });
  }

  static Stream<String> requestKinds() {
    return Stream.of("setup", "call", "reset");
  }

  @Test
  void aTimeoutThatIsNotPositiveFailsAtOnce() {
    StubService service = new StubService();
    ModelConnection connection = connect(runner(service).endpoint());
    failure(connection.setup("com.example.Base", NONE, Duration.ZERO), Kind.DEADLINE_EXCEEDED);
    failure(
        connection.call(transport.prepare("x", NONE), Duration.ofMillis(-1)),
        Kind.DEADLINE_EXCEEDED);
    assertThat(service.received).isEmpty();
  }

  @Test
  void aRequestWaitsForARunnerThatStartsLateWithinItsDeadline() {
    int port = StubRunner.freePort();
    ModelConnection connection = connect(StubRunner.endpoint(port));
    long start = System.nanoTime();
    CompletableFuture<Reply> setup =
        connection.setup("com.example.Base", NONE, Duration.ofSeconds(20));
    Executor later = CompletableFuture.delayedExecutor(500, TimeUnit.MILLISECONDS);
    CompletableFuture<StubRunner> started =
        CompletableFuture.supplyAsync(() -> open(StubRunner.start(new StubService(), port)), later);
    assertThat(value(setup))
        .isEqualTo(Reply.of(StatusCode.SUCCESS, "Instance created successfully"));
    assertThat(started).isCompleted();
    assertThat(since(start)).isGreaterThanOrEqualTo(Duration.ofMillis(500));
  }

  @Test
  void aDeadlinePassedWhileTheRunnerCannotBeReachedIsUnavailableWithTheConnectionError() {
    int port = StubRunner.freePort();
    ModelConnection connection = connect(StubRunner.endpoint(port));
    Duration timeout = Duration.ofMillis(1500);
    long start = System.nanoTime();
    TransportException failure =
        failure(connection.setup("com.example.Base", NONE, timeout), Kind.UNAVAILABLE);
    assertThat(since(start))
        .as("it waited for the runner until the deadline")
        .isBetween(timeout.minusMillis(20), timeout.plus(BOUND));
    assertThat(failure.getMessage())
        .contains("setup", "cannot connect to 127.0.0.1:" + port, "Connection refused", "1500 ms")
        .doesNotContain("Last Pick Failure");

    // a health check does not wait: it fails at once with the connection error
    long healthStart = System.nanoTime();
    TransportException health = failure(connection.checkHealth(QUICK), Kind.UNAVAILABLE);
    assertThat(since(healthStart)).isLessThan(BOUND);
    assertThat(health.getMessage()).contains("health check", "UNAVAILABLE", "Connection refused");
  }

  @Test
  void aDeadlineThatPassesBeforeTheRunnerAnswersIsDeadlineExceededEvenAfterConnectionErrors() {
    int port = StubRunner.freePort();
    ModelConnection connection = connect(StubRunner.endpoint(port));
    failure(connection.reset(Duration.ofMillis(300)), Kind.UNAVAILABLE);
    StubService service = new StubService();
    service.call = StubService.hang();
    open(StubRunner.start(service, port));
    value(connection.setup("com.example.Base", NONE, QUICK));
    failure(
        connection.call(transport.prepare("work", NONE), Duration.ofMillis(300)),
        Kind.DEADLINE_EXCEEDED);
  }

  @Test
  void aStoppedRunnerIsUnavailableOnOldAndNewConnections() {
    StubRunner runner = StubRunner.start(new StubService());
    URI endpoint = runner.endpoint();
    ModelConnection connection = connect(endpoint);
    value(connection.setup("com.example.Base", NONE, QUICK));
    runner.close();
    failure(connection.call(transport.prepare("x", NONE), Duration.ofSeconds(1)), Kind.UNAVAILABLE);
    long start = System.nanoTime();
    ModelConnection fresh = connect(endpoint);
    assertThat(since(start)).as("connect() never blocks").isLessThan(Duration.ofMillis(200));
    failure(fresh.setup("com.example.Base", NONE, Duration.ofSeconds(1)), Kind.UNAVAILABLE);
  }

  // ---------------------------------------------------------------------------------------------
  // gRPC statuses

  @ParameterizedTest(name = "{0} {1} -> {2}")
  @MethodSource("statuses")
  void grpcErrorsMapToKindsAndKeepTheirDescription(
      io.grpc.Status.Code code, String description, Kind kind) {
    StubService service = new StubService();
    service.call = StubService.fail(io.grpc.Status.fromCode(code).withDescription(description));
    ModelConnection connection = connect(runner(service).endpoint());
    TransportException failure =
        failure(connection.call(transport.prepare("predict", NONE), QUICK), kind);
    assertThat(failure.getMessage())
        .contains("call predict", connection.endpoint().toString(), code.name(), description);
  }

  static Stream<Arguments> statuses() {
    return Stream.of(
        Arguments.of(io.grpc.Status.Code.RESOURCE_EXHAUSTED, "Server busy", Kind.BUSY),
        Arguments.of(
            io.grpc.Status.Code.RESOURCE_EXHAUSTED,
            "gRPC message exceeds maximum size 1048576: 2097170",
            Kind.MESSAGE_TOO_LARGE),
        Arguments.of(
            io.grpc.Status.Code.RESOURCE_EXHAUSTED,
            "Sent message larger than max (2097160 vs. 1048576)",
            Kind.MESSAGE_TOO_LARGE),
        Arguments.of(
            io.grpc.Status.Code.DEADLINE_EXCEEDED, "call time limit", Kind.DEADLINE_EXCEEDED),
        Arguments.of(
            io.grpc.Status.Code.UNAVAILABLE, "The runner is shutting down", Kind.UNAVAILABLE),
        Arguments.of(io.grpc.Status.Code.UNAUTHENTICATED, "bad token", Kind.UNAUTHENTICATED),
        Arguments.of(io.grpc.Status.Code.CANCELLED, "cancelled by the runner", Kind.CANCELLED),
        Arguments.of(io.grpc.Status.Code.INTERNAL, "Failed to parse", Kind.INTERNAL),
        Arguments.of(io.grpc.Status.Code.UNKNOWN, "Exception calling application", Kind.INTERNAL),
        Arguments.of(io.grpc.Status.Code.PERMISSION_DENIED, "no", Kind.INTERNAL),
        Arguments.of(io.grpc.Status.Code.UNIMPLEMENTED, "Method not found", Kind.INTERNAL));
  }

  @Test
  void aBusyRunnerAnswersEveryKindOfRequestBusy() {
    StubService service = new StubService();
    io.grpc.Status busy = io.grpc.Status.RESOURCE_EXHAUSTED.withDescription("Server busy");
    service.setup = StubService.fail(busy);
    service.call = StubService.fail(busy);
    service.rest = StubService.fail(busy);
    ModelConnection connection = connect(runner(service).endpoint());
    assertThat(failure(connection.setup("b.B", NONE, QUICK), Kind.BUSY).getMessage())
        .contains("Server busy");
    assertThat(
            failure(connection.call(transport.prepare("m", NONE), QUICK), Kind.BUSY).getMessage())
        .contains("Server busy");
    assertThat(failure(connection.reset(QUICK), Kind.BUSY).getMessage()).contains("Server busy");
  }

  // ---------------------------------------------------------------------------------------------
  // Health

  @Test
  void healthReportsTheRunnersStatus() {
    StubRunner runner = runner(new StubService());
    ModelConnection connection = connect(runner.endpoint());
    assertThat(value(connection.checkHealth(QUICK))).isEqualTo(HealthStatus.SERVING);
    runner.health.setStatus("", ServingStatus.NOT_SERVING);
    assertThat(value(connection.checkHealth(QUICK))).isEqualTo(HealthStatus.NOT_SERVING);
    runner.health.setStatus("", ServingStatus.SERVICE_UNKNOWN);
    assertThat(value(connection.checkHealth(QUICK))).isEqualTo(HealthStatus.SERVICE_UNKNOWN);
    runner.health.clearStatus(""); // the runner does not know the service: gRPC NOT_FOUND
    assertThat(value(connection.checkHealth(QUICK))).isEqualTo(HealthStatus.SERVICE_UNKNOWN);
  }

  @Test
  void healthIsCheckedOnAChannelOfItsOwnWhileACallHangs() {
    StubService service = new StubService();
    service.call = service.hold();
    StubRunner runner = runner(service);
    ModelConnection connection = connect(runner.endpoint());
    CompletableFuture<Reply> hanging =
        connection.call(transport.prepare("work", NONE), Duration.ofSeconds(30));
    long start = System.nanoTime();
    assertThat(value(connection.checkHealth(QUICK))).isEqualTo(HealthStatus.SERVING);
    assertThat(since(start)).isLessThan(BOUND);
    assertThat(hanging).isNotDone();

    // The call reaches the runner on the main channel, which may still be connecting when the
    // health check (on a channel of its own) has already been answered: wait for the call first.
    ServerCallStreamObserver<?> held;
    try {
      held = service.held.poll(BOUND.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    assertThat(held).isNotNull();
    List<java.net.SocketAddress> calls =
        runner.remotes(DynamicSubclassServiceGrpc.getCallMethod().getFullMethodName());
    List<java.net.SocketAddress> checks =
        runner.remotes(HealthGrpc.getCheckMethod().getFullMethodName());
    assertThat(calls).hasSize(1);
    assertThat(checks).isNotEmpty().doesNotContain(calls.get(0));

    held.onError(io.grpc.Status.ABORTED.asRuntimeException());
    failure(hanging, Kind.INTERNAL);
  }

  // ---------------------------------------------------------------------------------------------
  // Closing and threads

  @Test
  void closingAConnectionCancelsItsRequestsAndLeavesTheChannelToTheOthers()
      throws InterruptedException {
    StubService service = new StubService();
    service.call = StubService.hang();
    StubRunner runner = runner(service);
    ModelConnection closing = connect(runner.endpoint());
    ModelConnection other = connect(runner.endpoint());
    CompletableFuture<Reply> hanging =
        closing.call(transport.prepare("work", NONE), Duration.ofSeconds(30));
    CompletableFuture<HealthStatus> health = closing.checkHealth(QUICK);
    value(health);
    awaitReceived(service, 1);

    long start = System.nanoTime();
    closing.close();
    assertThat(failure(hanging, Kind.CANCELLED).getMessage()).contains("closed");
    assertThat(since(start)).isLessThan(BOUND);
    assertThat(service.cancelled.poll(5, TimeUnit.SECONDS)).isEqualTo("Call");
    assertThat(((GrpcConnection) closing).inFlight()).isZero();

    failure(closing.setup("b.B", NONE, QUICK), Kind.CANCELLED);
    failure(closing.checkHealth(QUICK), Kind.CANCELLED);
    closing.close();
    assertThat(value(other.setup("b.B", NONE, QUICK)).status().isSuccess()).isTrue();
  }

  @Test
  void cancellingAFutureCancelsItsCall() throws InterruptedException {
    StubService service = new StubService();
    service.call = StubService.hang();
    ModelConnection connection = connect(runner(service).endpoint());
    CompletableFuture<Reply> hanging =
        connection.call(transport.prepare("work", NONE), Duration.ofSeconds(30));
    awaitReceived(service, 1);
    assertThat(hanging.cancel(true)).isTrue();
    assertThat(service.cancelled.poll(5, TimeUnit.SECONDS)).isEqualTo("Call");
  }

  @Test
  void futuresCompleteOnTheTransportsThreads() {
    ModelConnection connection = connect(runner(new StubService()).endpoint());
    assertThat(completingThread(connection.setup("b.B", NONE, QUICK)))
        .startsWith(transport.threadNamePrefix() + "callbacks-");
    assertThat(completingThread(connection.reset(QUICK)))
        .startsWith(transport.threadNamePrefix() + "callbacks-");
  }

  /** Waits for a future and returns the name of the thread that completed it. */
  private static String completingThread(CompletableFuture<?> future) {
    AtomicReference<String> thread = new AtomicReference<>();
    value(future.thenRun(() -> thread.set(Thread.currentThread().getName())));
    return thread.get();
  }

  @Test
  void aCallsAnswerCompletesOnTheEventLoopThatReceivedIt() {
    ModelConnection connection = connect(runner(new StubService()).endpoint());
    assertThat(completingThread(connection.call(transport.prepare("predict", NONE), QUICK)))
        .as("no hand-off to a callback thread on the hot path")
        .startsWith(transport.threadNamePrefix() + "io-");
  }

  @Test
  void theWarmUpEncodesACallAndDecodesAnAnswerWithoutARunner() {
    // Run on a callback thread by every new transport, where a failure would only be logged.
    assertThatCode(GrpcTransport::warmUp).doesNotThrowAnyException();
  }

  @Test
  void withCallCredentialsACallsAnswerStaysOnTheCallbackThreads() {
    // gRPC gives call credentials the call's executor for their blocking work (a token fetched
    // over the network): it must not be an event loop.
    io.grpc.CallCredentials credentials =
        new io.grpc.CallCredentials() {
          @Override
          public void applyRequestMetadata(
              RequestInfo info,
              java.util.concurrent.Executor appExecutor,
              MetadataApplier applier) {
            appExecutor.execute(() -> applier.apply(new io.grpc.Metadata()));
          }
        };
    GrpcTransport withCredentials =
        open(
            new GrpcTransport(
                TransportSettings.defaults(),
                new ClientSecurity(null, null, false, null, null, null, List.of(), credentials)));
    ModelConnection connection =
        open(withCredentials.connect(runner(new StubService()).endpoint()));
    assertThat(completingThread(connection.call(withCredentials.prepare("predict", NONE), QUICK)))
        .startsWith(withCredentials.threadNamePrefix() + "callbacks-");
  }

  @Test
  void connectionsToOneEndpointShareItsChannels() {
    StubRunner first = runner(new StubService());
    StubRunner second = runner(new StubService());
    ModelConnection a = connect(first.endpoint());
    ModelConnection b = connect(URI.create("GRPC://127.0.0.1:" + first.port()));
    ModelConnection c = connect(second.endpoint());
    for (ModelConnection connection : List.of(a, b, c)) {
      value(connection.setup("b.B", NONE, QUICK));
    }
    assertThat(first.remotes(DynamicSubclassServiceGrpc.getSetupMethod().getFullMethodName()))
        .as("one TCP connection for both connections to the first runner")
        .hasSize(2)
        .satisfies(remotes -> assertThat(remotes.get(0)).isEqualTo(remotes.get(1)));
    assertThat(transport.cachedChannels(new GrpcAddress("127.0.0.1", first.port())))
        .isNotSameAs(transport.cachedChannels(new GrpcAddress("127.0.0.1", second.port())));
  }

  @Test
  void connectRejectsForeignSchemesAndMalformedEndpoints() {
    assertThatThrownBy(() -> transport.connect(URI.create("inproc://alice")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> transport.connect(URI.create("grpc://127.0.0.1")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no port");
  }

  private static void awaitReceived(StubService service, int count) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (service.received.size() < count) {
      assertThat(System.nanoTime()).as("the runner received the request").isLessThan(deadline);
      Thread.sleep(10);
    }
  }
}
