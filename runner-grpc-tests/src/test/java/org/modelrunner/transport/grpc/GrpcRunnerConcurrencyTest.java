package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.modelrunner.transport.grpc.RunnerClient.assertBusy;
import static org.modelrunner.transport.grpc.RunnerClient.assertStatus;
import static org.modelrunner.transport.grpc.RunnerClient.grpcError;
import static org.modelrunner.transport.grpc.RunnerModels.BASE;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.modelrunner.loader.HostedModel;
import org.modelrunner.loader.RunnerCore;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.TransportSettings;
import org.modelrunner.spi.Variant;
import org.modelrunner.testsupport.Gate;
import org.modelrunner.transport.grpc.proto.CallRequest;
import org.modelrunner.transport.grpc.proto.CallResponse;
import org.modelrunner.transport.grpc.proto.DynamicSubclassServiceGrpc;
import org.modelrunner.transport.grpc.runnerfixtures.CountingTracker;

/**
 * One request at a time ({@code Server busy} at once), health answered while a model call runs, the
 * call time limit, the client's deadline, and what shutdown does to health and to the request in
 * flight.
 */
class GrpcRunnerConcurrencyTest {
  /**
   * Far below the time a rejection may take if it queued behind the model (never), far above
   * jitter.
   */
  private static final long PROMPT_MILLIS = 2_000;

  private final ExecutorService background = Executors.newCachedThreadPool();
  private GrpcRunner runner;
  private RunnerClient client;

  @BeforeEach
  void arm() {
    Gate.arm();
  }

  @AfterEach
  void stop() throws Exception {
    Gate.open();
    if (client != null) {
      client.close();
    }
    if (runner != null) {
      runner.shutdown(Duration.ofSeconds(5));
    }
    background.shutdownNow();
  }

  private void start(GrpcRunner.Builder builder) throws Exception {
    runner = builder.build().start();
    client = new RunnerClient(runner);
    assertStatus(client.setup(BASE).getStatus(), "SUCCESS", "Instance created successfully");
  }

  /** Sends {@code hold} in the background and returns once the model is inside it. */
  private Future<CallResponse> hold(RunnerClient holder) throws Exception {
    Future<CallResponse> held = background.submit(() -> holder.call("hold"));
    assertThat(Gate.awaitEntered()).as("the model entered hold()").isTrue();
    return held;
  }

  @Test
  void aRequestWhileAnotherRunsIsRejectedAtOnceWithServerBusy() throws Exception {
    start(RunnerModels.runner());
    Future<CallResponse> held = hold(client);
    try (RunnerClient other = new RunnerClient(runner)) {
      long started = System.nanoTime();
      assertBusy(() -> other.call("answer"));
      assertBusy(() -> other.setup(BASE));
      assertBusy(other::rest);
      assertBusy(() -> client.call("answer")); // the same channel too
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started))
          .isLessThan(PROMPT_MILLIS);
    }
    Gate.open();
    CallResponse response = held.get(20, TimeUnit.SECONDS);
    assertStatus(response.getStatus(), "SUCCESS", "");
    assertThat(response.getMethodResponse().getValue().toStringUtf8()).isEqualTo("held");
    assertStatus(client.call("answer").getStatus(), "SUCCESS", "");
  }

  @Test
  void healthIsServingAndAnsweredAtOnceWhileACallRuns() throws Exception {
    start(RunnerModels.runner());
    assertThat(client.health("")).isEqualTo(ServingStatus.SERVING);
    Future<CallResponse> held = hold(client);
    try (RunnerClient healthChannel = new RunnerClient(runner)) {
      long started = System.nanoTime();
      for (int i = 0; i < 20; i++) {
        assertThat(healthChannel.health("")).isEqualTo(ServingStatus.SERVING);
        assertThat(client.health("")).isEqualTo(ServingStatus.SERVING);
      }
      assertThat(healthChannel.health("dynamic_subclass.DynamicSubclassService"))
          .isEqualTo(ServingStatus.SERVING);
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started))
          .isLessThan(PROMPT_MILLIS);
    }
    assertThat(held.isDone()).isFalse();
    Gate.open();
    assertStatus(held.get(20, TimeUnit.SECONDS).getStatus(), "SUCCESS", "");
  }

  @Test
  void healthOfAnUnknownServiceIsNotFound() throws Exception {
    start(RunnerModels.runner());
    io.grpc.Status status = grpcError(() -> client.health("no.such.Service"));
    assertThat(status.getCode()).isEqualTo(io.grpc.Status.Code.NOT_FOUND);
  }

  @Test
  void theNextRequestSentOnAnAnswerIsNeverBusy() throws Exception {
    start(RunnerModels.runner());
    for (int i = 0; i < 300; i++) {
      assertStatus(client.call("tick", Variant.ofLong(i)).getStatus(), "SUCCESS", "");
    }
    assertThat(Protos.fromProto(client.call("predict").getMethodResponse()).asLong())
        .isEqualTo(300);
  }

  @Test
  void aCallOverTheCallTimeLimitIsDeadlineExceededAndTheRunnerStaysBusyUntilTheModelReturns()
      throws Exception {
    start(RunnerModels.runner().callTimeLimit(Duration.ofMillis(300)));
    assertStatus(client.call("sleep", Variant.ofLong(10)).getStatus(), "SUCCESS", "");

    long started = System.nanoTime();
    io.grpc.Status status = grpcError(() -> client.call("hold"));
    long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertThat(status.getCode()).isEqualTo(io.grpc.Status.Code.DEADLINE_EXCEEDED);
    assertThat(status.getDescription())
        .contains("call time limit of 300 ms")
        .contains("keeps running");
    assertThat(elapsed).isBetween(250L, 10_000L);
    assertThat(Gate.awaitEntered()).isTrue();

    // The model still runs: requests are busy, health is served.
    assertBusy(() -> client.call("answer"));
    assertBusy(() -> client.setup(BASE));
    assertThat(client.health("")).isEqualTo(ServingStatus.SERVING);

    Gate.open();
    assertStatus(awaitNotBusy(() -> client.call("answer")).getStatus(), "SUCCESS", "");
  }

  @Test
  void answersAreWrittenFromTheEventLoopTheRequestCameOn() throws Exception {
    // The thread that writes a Call's answer also serialises it, drawing its buffers from the
    // allocator: from the event loop, as a handler that runs there does, not the model thread.
    List<String> writers = new CopyOnWriteArrayList<>();
    ServerInterceptor recorder =
        new ServerInterceptor() {
          @Override
          public <Q, R> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            if (!call.getMethodDescriptor()
                .getFullMethodName()
                .equals(DynamicSubclassServiceGrpc.getCallMethod().getFullMethodName())) {
              return next.startCall(call, headers);
            }
            return next.startCall(
                new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                  @Override
                  public void close(io.grpc.Status status, Metadata trailers) {
                    writers.add(Thread.currentThread().getName());
                    super.close(status, trailers);
                  }
                },
                headers);
          }
        };
    start(
        RunnerModels.runner()
            .callTimeLimit(Duration.ofMillis(300))
            .maxSendMessageBytes(1024)
            .interceptor(recorder));

    assertStatus(client.call("answer").getStatus(), "SUCCESS", "");
    assertThat(client.call("fail").getStatus().getCode()).isEqualTo("MODEL_FAILED");
    assertThat(grpcError(() -> client.call("big", Variant.ofLong(2000))).getCode())
        .as("over the send limit: answered by the runner")
        .isEqualTo(io.grpc.Status.Code.RESOURCE_EXHAUSTED);
    assertThat(grpcError(() -> client.call("hold")).getCode())
        .as("the time limit's answer")
        .isEqualTo(io.grpc.Status.Code.DEADLINE_EXCEEDED);
    Gate.open();
    assertStatus(awaitNotBusy(() -> client.call("answer")).getStatus(), "SUCCESS", "");

    assertThat(writers)
        .hasSize(5)
        .allSatisfy(name -> assertThat(name).startsWith("modelrunner-grpc-io"));
  }

  @Test
  void aSetupOverTheSetupTimeLimitIsDeadlineExceededAndTheRunnerStaysBusyUntilItReturns()
      throws Exception {
    runner = RunnerModels.runner().setupTimeLimit(Duration.ofMillis(300)).build().start();
    client = new RunnerClient(runner);

    long started = System.nanoTime();
    io.grpc.Status status =
        grpcError(() -> client.setup(BASE, RunnerClient.arg(1, Variant.ofString("hold"))));
    long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertThat(status.getCode()).isEqualTo(io.grpc.Status.Code.DEADLINE_EXCEEDED);
    assertThat(status.getDescription())
        .isEqualTo(
            "The model's setup (its constructor) did not return within the runner's setup time"
                + " limit of 300 ms; it keeps running and the runner is busy until it returns");
    assertThat(elapsed).isBetween(250L, 10_000L);
    assertThat(Gate.awaitEntered()).isTrue();

    // The constructor still runs: requests are busy, health is served.
    assertBusy(() -> client.setup(BASE));
    assertBusy(() -> client.call("answer"));
    assertBusy(() -> client.rest());
    assertThat(client.health("")).isEqualTo(ServingStatus.SERVING);

    Gate.open();
    // It returned: its instance is the model's, as if the setup had answered in time.
    assertStatus(
        awaitNotBusy(() -> client.setup(BASE)).getStatus(), "SUCCESS", "Instance already exists");
    assertThat(Protos.fromProto(client.call("name").getMethodResponse()).asString())
        .isEqualTo("hold");
  }

  @Test
  void modelCodeRunsInTheSubmissionsThreadGroup() throws Exception {
    start(RunnerModels.runner());
    assertThat(Protos.fromProto(client.call("threadGroup").getMethodResponse()).asString())
        .isEqualTo(runner.model().submission().threadGroup().getName())
        .startsWith("submission-");
  }

  @Test
  void setupAndRestHaveNoCallTimeLimit() throws Exception {
    runner = RunnerModels.runner().callTimeLimit(Duration.ofMillis(1)).build().start();
    client = new RunnerClient(runner);
    for (int i = 0; i < 20; i++) {
      assertStatus(
          client.setup(BASE).getStatus(),
          "SUCCESS",
          i == 0 ? "Instance created successfully" : "Instance already exists");
    }
    assertStatus(client.rest().getStatus(), "SUCCESS", "Instance successfully reset");
  }

  @Test
  void whenTheClientsDeadlinePassesTheModelKeepsRunningAndTheRunnerStaysBusy() throws Exception {
    start(RunnerModels.runner());
    io.grpc.Status status =
        grpcError(
            () ->
                client
                    .stub()
                    .withDeadlineAfter(300, TimeUnit.MILLISECONDS)
                    .call(CallRequest.newBuilder().setMethodName("hold").build()));
    assertThat(status.getCode()).isEqualTo(io.grpc.Status.Code.DEADLINE_EXCEEDED);
    assertThat(Gate.awaitEntered()).isTrue();
    assertBusy(() -> client.call("answer"));
    Gate.open();
    assertStatus(awaitNotBusy(() -> client.call("answer")).getStatus(), "SUCCESS", "");
  }

  @Test
  void aRequestWhoseDeadlinePassedBeforeTheModelThreadTookItNeverReachesTheModel()
      throws Exception {
    HostedModel model = HostedModel.forImplementation(CountingTracker.class);
    assertThat(model.setup(BASE, Arguments.none()).status().isSuccess()).isTrue();
    ExecutorService modelThread = Executors.newSingleThreadExecutor();
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    try {
      RunnerService service =
          new RunnerService(
              RunnerCore.of(model), modelThread, TransportSettings.DEFAULT_MAX_MESSAGE_BYTES);
      CountingTracker.CALLS.set(0);
      CallRequest predict = CallRequest.newBuilder().setMethodName("predict").build();

      // Expired when it arrives: refused on the handler thread.
      Recorder<CallResponse> expired = new Recorder<>();
      Context.CancellableContext past =
          Context.current().withDeadline(Deadline.after(-1, TimeUnit.SECONDS), scheduler);
      past.run(() -> service.call(predict, expired));
      assertThat(expired.error(5).getCode()).isEqualTo(io.grpc.Status.Code.DEADLINE_EXCEEDED);
      assertThat(expired.error(5).getDescription()).contains("before the model was called");

      // Expires while it waits for the model thread: refused there, and the claim is released.
      CountDownLatch blocker = new CountDownLatch(1);
      modelThread.execute(
          () -> {
            try {
              blocker.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          });
      Recorder<CallResponse> waited = new Recorder<>();
      Context.CancellableContext soon =
          Context.current().withDeadline(Deadline.after(100, TimeUnit.MILLISECONDS), scheduler);
      soon.run(() -> service.call(predict, waited));
      Thread.sleep(300);
      blocker.countDown();
      assertThat(waited.error(5).getCode()).isEqualTo(io.grpc.Status.Code.DEADLINE_EXCEEDED);
      assertThat(CountingTracker.CALLS.get()).as("calls that reached the model").isZero();
      assertThat(service.isBusy()).isFalse();

      // A live request runs.
      Recorder<CallResponse> live = new Recorder<>();
      service.call(predict, live);
      assertThat(live.value(5).getStatus().getCode()).isEqualTo("SUCCESS");
      assertThat(CountingTracker.CALLS.get()).isEqualTo(1);
    } finally {
      modelThread.shutdownNow();
      scheduler.shutdownNow();
      model.close();
    }
  }

  @Test
  void shutdownTurnsHealthNotServingRefusesNewRequestsAndLetsTheCallInFlightFinish()
      throws Exception {
    start(RunnerModels.runner());
    Future<CallResponse> held = hold(client);
    try (RunnerClient other = new RunnerClient(runner)) {
      assertThat(other.health("")).isEqualTo(ServingStatus.SERVING);
      Future<?> stopping = background.submit(() -> runner.shutdown(Duration.ofSeconds(20)));

      ServingStatus seen = awaitHealth(other, ServingStatus.NOT_SERVING);
      assertThat(seen).isEqualTo(ServingStatus.NOT_SERVING);
      assertThat(other.health("dynamic_subclass.DynamicSubclassService"))
          .isEqualTo(ServingStatus.NOT_SERVING);
      io.grpc.Status refused = grpcError(() -> other.call("answer"));
      assertThat(refused.getCode()).isEqualTo(io.grpc.Status.Code.UNAVAILABLE);
      assertThat(refused.getDescription()).isEqualTo(RunnerCore.SHUTTING_DOWN);
      assertThat(runner.isTerminated()).isFalse();

      Gate.open();
      CallResponse response = held.get(20, TimeUnit.SECONDS);
      assertStatus(response.getStatus(), "SUCCESS", "");
      assertThat(response.getMethodResponse().getValue().toStringUtf8()).isEqualTo("held");
      stopping.get(20, TimeUnit.SECONDS);
      assertThat(runner.isTerminated()).isTrue();
      assertThat(grpcError(() -> other.health("")).getCode())
          .isEqualTo(io.grpc.Status.Code.UNAVAILABLE);
    }
  }

  @Test
  void aHealthWatchSeesNotServingAndDoesNotDelayTheStop() throws Exception {
    start(RunnerModels.runner());
    BlockingQueue<Object> events = new LinkedBlockingQueue<>();
    HealthGrpc.newStub(client.channel)
        .watch(
            HealthCheckRequest.newBuilder().setService("").build(),
            new StreamObserver<>() {
              @Override
              public void onNext(HealthCheckResponse value) {
                events.add(value.getStatus());
              }

              @Override
              public void onError(Throwable t) {
                events.add(io.grpc.Status.fromThrowable(t).getCode());
              }

              @Override
              public void onCompleted() {
                events.add("completed");
              }
            });
    assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo(ServingStatus.SERVING);
    long started = System.nanoTime();
    runner.shutdown(Duration.ofSeconds(20));
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started)).isLessThan(5_000);
    assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(events.poll(10, TimeUnit.SECONDS)).isNotNull(); // the stream ends
  }

  @Test
  void shutdownStopsAfterTheGracePeriodWhenTheModelDoesNotReturn() throws Exception {
    start(RunnerModels.runner());
    Future<CallResponse> held = hold(client);
    long started = System.nanoTime();
    runner.shutdown(Duration.ofMillis(300));
    long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertThat(elapsed).isBetween(250L, 8_000L);
    assertThat(runner.isTerminated()).isTrue();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    try {
      held.get(20, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      failure.set(e.getCause());
    }
    assertThat(failure.get())
        .as("the held call fails: the server stopped")
        .isInstanceOf(io.grpc.StatusRuntimeException.class);
  }

  @Test
  void shutdownIsIdempotentAndAwaitTerminationReturns() throws Exception {
    start(RunnerModels.runner());
    Future<?> first = background.submit(() -> runner.shutdown(Duration.ofSeconds(5)));
    runner.shutdown(Duration.ofSeconds(5));
    first.get(10, TimeUnit.SECONDS);
    runner.awaitTermination();
    assertThat(runner.awaitTermination(Duration.ZERO)).isTrue();
    runner.close();
  }

  /** Repeats a request while it is answered Server busy, for at most 20 s. */
  private static <T> T awaitNotBusy(java.util.concurrent.Callable<T> request) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      try {
        return request.call();
      } catch (io.grpc.StatusRuntimeException e) {
        if (e.getStatus().getCode() != io.grpc.Status.Code.RESOURCE_EXHAUSTED
            || System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(10);
      }
    }
  }

  private static ServingStatus awaitHealth(RunnerClient client, ServingStatus expected)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    ServingStatus seen = client.health("");
    while (seen != expected && System.nanoTime() < deadline) {
      Thread.sleep(5);
      seen = client.health("");
    }
    return seen;
  }

  /** A response observer that records what it is given. */
  static final class Recorder<T> implements StreamObserver<T> {
    private final BlockingQueue<Object> events = new LinkedBlockingQueue<>();

    @Override
    public void onNext(T value) {
      events.add(value);
    }

    @Override
    public void onError(Throwable t) {
      events.add(io.grpc.Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {}

    io.grpc.Status error(int seconds) throws InterruptedException {
      Object event = events.poll(seconds, TimeUnit.SECONDS);
      assertThat(event).as("an error").isInstanceOf(io.grpc.Status.class);
      events.add(event); // so that it can be read again
      return (io.grpc.Status) event;
    }

    @SuppressWarnings("unchecked")
    T value(int seconds) throws InterruptedException {
      Object event = events.poll(seconds, TimeUnit.SECONDS);
      assertThat(event).as("a response").isNotNull().isNotInstanceOf(io.grpc.Status.class);
      return (T) event;
    }
  }
}
