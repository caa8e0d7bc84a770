package org.modelrunner.transport.grpc;

import com.google.protobuf.Empty;
import com.google.protobuf.Message;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.modelrunner.loader.HostedModel;
import org.modelrunner.spi.ModelBusyException;
import org.modelrunner.spi.Reply;
import org.modelrunner.transport.grpc.proto.CallRequest;
import org.modelrunner.transport.grpc.proto.CallResponse;
import org.modelrunner.transport.grpc.proto.DynamicSubclassServiceGrpc;
import org.modelrunner.transport.grpc.proto.RestResponse;
import org.modelrunner.transport.grpc.proto.SetupRequest;
import org.modelrunner.transport.grpc.proto.SetupResponse;

/**
 * {@code dynamic_subclass.DynamicSubclassService} over one {@link HostedModel} (PROTOCOL §1.2–1.5).
 *
 * <h2>Threads and the busy rule</h2>
 *
 * A request is handled on the server's transport threads, in the order requests arrive, and never
 * runs model code there: it checks that the runner is serving and that the client's deadline has
 * not passed, and claims the model. One request holds the claim at a time (the Python runner's
 * global lock); any other Setup, Call or Rest gets gRPC {@code RESOURCE_EXHAUSTED} {@code "Server
 * busy"} at once, without queueing. The request holding the claim runs on the dedicated model
 * thread; the claim is released when the model returns, before the response is sent, so a client
 * may send its next request as soon as it has the answer. Health checks and rejections are
 * therefore answered at once whatever the model does.
 *
 * <h2>Limits</h2>
 *
 * <ul>
 *   <li>A response larger than the send limit is answered {@code RESOURCE_EXHAUSTED} (gRPC-java's
 *       server has no outbound limit of its own); requests over the receive limit are refused by
 *       gRPC itself.
 *   <li>With a call time limit, a Call whose model has not returned in time is answered {@code
 *       DEADLINE_EXCEEDED}; the model goes on and keeps the claim (later requests get {@code Server
 *       busy}) until it returns. Setup and Rest have no limit.
 *   <li>A request whose gRPC deadline has passed (or that was cancelled) before the model thread
 *       picks it up never reaches the model.
 *   <li>A request whose bytes are not a valid protobuf message is answered {@code INVALID_ARGUMENT}
 *       {@code "Malformed request: <parser message>"} (see {@link MalformedRequests}).
 *   <li>A request the model cannot be given because a value in it is malformed (an unknown {@code
 *       VariantType} number) is answered in {@code Status}, as an argument that cannot be decoded:
 *       {@code SETUP_FAILED} for Setup (after the {@code INVALID_ARGUMENT} and "Instance already
 *       exists" checks), {@code MODEL_FAILED} for Call (after the {@code FAILED_PRECONDITION} and
 *       {@code INVALID_ARGUMENT} checks).
 * </ul>
 */
final class RunnerService extends DynamicSubclassServiceGrpc.DynamicSubclassServiceImplBase {
  private static final Logger LOG = Logger.getLogger(RunnerService.class.getName());

  /** The gRPC description of a request refused because the runner is stopping. */
  static final String SHUTTING_DOWN = "The runner is shutting down";

  private final HostedModel model;
  private final Executor modelExecutor;
  private final ScheduledExecutorService timer;
  private final long callTimeLimitNanos;
  private final int maxSendBytes;

  /**
   * The claim: held by the one request whose model code is running (or timed out and still
   * running).
   */
  private final AtomicBoolean busy = new AtomicBoolean();

  /** Requests that hold or held the claim and are not answered yet. */
  private final AtomicInteger inFlight = new AtomicInteger();

  private final Object idle = new Object();
  private volatile boolean serving = true;

  /**
   * @param timer the timer of the call time limit; may be null when {@code callTimeLimitNanos} is 0
   * @param callTimeLimitNanos the call time limit, or 0 for none
   */
  RunnerService(
      HostedModel model,
      Executor modelExecutor,
      ScheduledExecutorService timer,
      long callTimeLimitNanos,
      int maxSendBytes) {
    this.model = Objects.requireNonNull(model, "model");
    this.modelExecutor = Objects.requireNonNull(modelExecutor, "modelExecutor");
    if (callTimeLimitNanos > 0) {
      Objects.requireNonNull(timer, "timer");
    }
    this.timer = timer;
    this.callTimeLimitNanos = Math.max(0, callTimeLimitNanos);
    this.maxSendBytes = maxSendBytes;
  }

  @Override
  public void setup(SetupRequest request, StreamObserver<SetupResponse> responses) {
    serve(
        "Setup " + request.getClassName(),
        request,
        responses,
        false,
        () -> setup(request),
        Protos::setupResponse);
  }

  @Override
  public void call(CallRequest request, StreamObserver<CallResponse> responses) {
    serve(
        "Call " + request.getMethodName(),
        request,
        responses,
        true,
        () -> call(request),
        Protos::callResponse);
  }

  @Override
  public void rest(Empty request, StreamObserver<RestResponse> responses) {
    serve("Rest", request, responses, false, model::reset, Protos::restResponse);
  }

  private Reply setup(SetupRequest request) {
    return model.setup(
        request.getClassName(),
        () ->
            Protos.arguments(
                request.getInstanceArgumentsList(), request.getInstanceKwArgumentsList()));
  }

  private Reply call(CallRequest request) {
    return model.call(
        request.getMethodName(),
        () ->
            Protos.arguments(request.getMethodArgumentsList(), request.getMethodKwArgumentsList()));
  }

  /** Refuses new requests from now on ({@code UNAVAILABLE}); the request in flight goes on. */
  void stopServing() {
    serving = false;
    signalIdle();
  }

  /**
   * Waits until no model code runs and every accepted request is answered.
   *
   * @return whether that happened within the time given
   */
  boolean awaitIdle(long timeoutNanos) throws InterruptedException {
    long deadline = System.nanoTime() + timeoutNanos;
    synchronized (idle) {
      while (busy.get() || inFlight.get() > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(idle, left);
      }
      return true;
    }
  }

  /** Returns whether model code is running (including a call answered after the time limit). */
  boolean isBusy() {
    return busy.get();
  }

  private <T extends Message> void serve(
      String what,
      Message request,
      StreamObserver<T> responses,
      boolean timeLimited,
      Supplier<Reply> work,
      Function<Reply, T> toResponse) {
    if (!serving) {
      reject(responses, io.grpc.Status.UNAVAILABLE.withDescription(SHUTTING_DOWN));
      return;
    }
    String problem = MalformedRequests.problem(request);
    if (problem != null) {
      LOG.log(Level.WARNING, "{0}: malformed request: {1}", new Object[] {what.strip(), problem});
      reject(
          responses,
          io.grpc.Status.INVALID_ARGUMENT.withDescription("Malformed request: " + problem));
      return;
    }
    Context context = Context.current();
    if (context.isCancelled()) {
      reject(responses, notStarted(context));
      return;
    }
    if (!busy.compareAndSet(false, true)) {
      LOG.log(Level.FINE, "{0}: Server busy", what);
      reject(responses, busyStatus());
      return;
    }
    // Checked again with the claim held: either this request sees the stop, or the stop sees the
    // claim.
    if (!serving) {
      release();
      reject(responses, io.grpc.Status.UNAVAILABLE.withDescription(SHUTTING_DOWN));
      return;
    }
    Exchange<T> exchange = new Exchange<>(what, responses);
    if (responses instanceof ServerCallStreamObserver<T> call) {
      // Also keeps a late onNext on a cancelled call from throwing.
      call.setOnCancelHandler(
          () -> LOG.log(Level.FINE, "{0}: the client cancelled or its deadline passed", what));
    }
    if (timeLimited && callTimeLimitNanos > 0) {
      try {
        exchange.limit =
            timer.schedule(exchange::timeLimitReached, callTimeLimitNanos, TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException stopping) {
        // the runner is stopping: the request is refused below or runs without a limit
      }
    }
    try {
      modelExecutor.execute(() -> run(exchange, context, work, toResponse));
    } catch (RejectedExecutionException stopping) {
      release();
      exchange.fail(io.grpc.Status.UNAVAILABLE.withDescription(SHUTTING_DOWN));
    }
  }

  /** Runs on the model thread, with the claim held. */
  private <T extends Message> void run(
      Exchange<T> exchange, Context context, Supplier<Reply> work, Function<Reply, T> toResponse) {
    if (context.isCancelled()) {
      release();
      exchange.fail(notStarted(context));
      return;
    }
    long started = System.nanoTime();
    Reply reply = null;
    io.grpc.Status failure = null;
    try {
      reply = work.get();
    } catch (ModelBusyException e) {
      failure = busyStatus(); // the hosted model is shared with someone else, who is using it
    } catch (RuntimeException | Error e) {
      if (!serving) {
        failure = io.grpc.Status.UNAVAILABLE.withDescription(SHUTTING_DOWN);
      } else {
        LOG.log(Level.WARNING, exchange.what + ": the runner failed: " + e, e);
        failure = io.grpc.Status.INTERNAL.withDescription("The runner failed: " + e);
      }
    } finally {
      release(); // before answering: the client may send its next request as soon as it has the
      // answer
    }
    T response = null;
    if (reply != null) {
      log(exchange.what, reply, System.nanoTime() - started);
      response = toResponse.apply(reply);
      int size = response.getSerializedSize();
      if (size > maxSendBytes) {
        LOG.log(
            Level.WARNING,
            "{0}: the response is {1} bytes, over the send limit of {2} bytes",
            new Object[] {exchange.what, String.valueOf(size), String.valueOf(maxSendBytes)});
        failure =
            io.grpc.Status.RESOURCE_EXHAUSTED.withDescription(
                "Sent message larger than max (" + size + " vs. " + maxSendBytes + ")");
        response = null;
      }
    }
    if (failure != null) {
      exchange.fail(failure);
    } else {
      exchange.complete(response);
    }
  }

  private static void log(String what, Reply reply, long nanos) {
    Level level = what.startsWith("Call ") ? Level.FINE : Level.INFO;
    if (LOG.isLoggable(level)) {
      LOG.log(
          level,
          "{0}: {1} ({2} ms)",
          new Object[] {what, reply.status(), String.format("%.1f", nanos / 1e6)});
    }
  }

  private void release() {
    busy.set(false);
    if (!serving) {
      signalIdle();
    }
  }

  private void signalIdle() {
    synchronized (idle) {
      idle.notifyAll();
    }
  }

  private static io.grpc.Status busyStatus() {
    return io.grpc.Status.RESOURCE_EXHAUSTED.withDescription(ModelBusyException.MESSAGE);
  }

  private static io.grpc.Status notStarted(Context context) {
    Deadline deadline = context.getDeadline();
    if (deadline != null && deadline.isExpired()) {
      return io.grpc.Status.DEADLINE_EXCEEDED.withDescription(
          "The deadline passed before the model was called; the model did not run");
    }
    return io.grpc.Status.CANCELLED.withDescription(
        "The request was cancelled before the model was called; the model did not run");
  }

  private static void reject(StreamObserver<?> responses, io.grpc.Status status) {
    try {
      responses.onError(status.asRuntimeException());
    } catch (RuntimeException e) {
      LOG.log(Level.FINE, "Could not answer " + status + ": " + e, e);
    }
  }

  /** One accepted request: answered exactly once, by the model thread or the time limit's timer. */
  private final class Exchange<T extends Message> {
    final String what;
    private final StreamObserver<T> responses;
    private final AtomicBoolean answered = new AtomicBoolean();
    volatile ScheduledFuture<?> limit;

    Exchange(String what, StreamObserver<T> responses) {
      this.what = what;
      this.responses = responses;
      inFlight.incrementAndGet();
    }

    void complete(T response) {
      if (!answered.compareAndSet(false, true)) {
        return;
      }
      try {
        responses.onNext(response);
        responses.onCompleted();
      } catch (RuntimeException e) {
        LOG.log(Level.FINE, what + ": could not send the response: " + e, e);
      } finally {
        finished();
      }
    }

    void fail(io.grpc.Status status) {
      if (!answered.compareAndSet(false, true)) {
        return;
      }
      try {
        responses.onError(status.asRuntimeException());
      } catch (RuntimeException e) {
        LOG.log(Level.FINE, what + ": could not send " + status + ": " + e, e);
      } finally {
        finished();
      }
    }

    void timeLimitReached() {
      if (answered.get()) {
        return;
      }
      String limitText = Durations.describe(callTimeLimitNanos);
      LOG.log(
          Level.WARNING,
          "{0}: the model did not return within the call time limit of {1}; it keeps running and the"
              + " runner answers Server busy until it returns",
          new Object[] {what, limitText});
      fail(
          io.grpc.Status.DEADLINE_EXCEEDED.withDescription(
              "The model did not return within the runner's call time limit of "
                  + limitText
                  + "; it keeps running and the runner is busy until it returns"));
    }

    private void finished() {
      ScheduledFuture<?> scheduled = limit;
      if (scheduled != null) {
        scheduled.cancel(false);
      }
      inFlight.decrementAndGet();
      if (!serving) {
        signalIdle();
      }
    }
  }
}
