package org.modelrunner.transport.grpc;

import com.google.protobuf.Empty;
import com.google.protobuf.Message;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.netty.shaded.io.netty.util.concurrent.EventExecutor;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.modelrunner.loader.RunnerCore;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.StatusMessages;
import org.modelrunner.transport.grpc.proto.CallRequest;
import org.modelrunner.transport.grpc.proto.CallResponse;
import org.modelrunner.transport.grpc.proto.DynamicSubclassServiceGrpc;
import org.modelrunner.transport.grpc.proto.RestResponse;
import org.modelrunner.transport.grpc.proto.SetupRequest;
import org.modelrunner.transport.grpc.proto.SetupResponse;

/**
 * {@code dynamic_subclass.DynamicSubclassService} over one {@link RunnerCore} (PROTOCOL §1.2–1.5):
 * the core holds the serving state, the claim and the call time limit; this class carries them over
 * gRPC.
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
 * therefore answered at once whatever the model does. The answer is written from the event loop the
 * request came on, as a handler that runs there writes it: serialising it on the model thread drew
 * its buffers from the allocator's shared arena, which thread caches serve the event loop from (the
 * loop freed what the model thread took, and the two threads contended for the arena's lock).
 *
 * <p>The event loop sleeps in the kernel while the model runs, and the answer wakes it. Keeping it
 * awake instead for up to 50 µs after a hand-off, while answers came back within that time (a
 * select strategy that spun rather than slept), was measured and cost more than the wake-up it
 * saved: on two cores, one call at a time, 1.57-1.74× the CPU per call of a trivial server
 * answering on its event loop against 1.31-1.43× without, and no shorter round trip.
 *
 * <h2>Limits</h2>
 *
 * <ul>
 *   <li>A response larger than the send limit is answered {@code RESOURCE_EXHAUSTED} (gRPC-java's
 *       server has no outbound limit of its own); requests over the receive limit are refused by
 *       gRPC itself.
 *   <li>With a call time limit, a Call whose model has not returned in time is answered {@code
 *       DEADLINE_EXCEEDED}; the model goes on and keeps the claim (later requests get {@code Server
 *       busy}) until it returns. A Setup is under the setup time limit likewise; Rest has no limit.
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

  /** How many characters of a class or method name a log line shows at most. */
  static final int MAX_SHOWN_NAME = 200;

  /** How many characters of an outcome (its code and message) a log line shows at most. */
  static final int MAX_SHOWN_STATUS = 2_000;

  private final RunnerCore core;
  private final Executor modelExecutor;
  private final int maxSendBytes;
  private final Runnable onSetup;
  private final boolean quiet;
  private final EventExecutor[] loops;

  RunnerService(RunnerCore core, Executor modelExecutor, int maxSendBytes) {
    this(core, modelExecutor, maxSendBytes, () -> {}, List.of());
  }

  /**
   * As above, runs {@code onSetup} (quickly, on the transport's thread) at each Setup, and answers
   * a request that came on one of {@code loops} (the server's event loops) from that loop.
   */
  RunnerService(
      RunnerCore core,
      Executor modelExecutor,
      int maxSendBytes,
      Runnable onSetup,
      Iterable<EventExecutor> loops) {
    this(core, modelExecutor, maxSendBytes, onSetup, false, loops);
  }

  /** A service whose answered calls are not logged: a {@link Rehearsal}'s. */
  RunnerService(RunnerCore core, Executor modelExecutor, int maxSendBytes, boolean quiet) {
    this(core, modelExecutor, maxSendBytes, () -> {}, quiet, List.of());
  }

  private RunnerService(
      RunnerCore core,
      Executor modelExecutor,
      int maxSendBytes,
      Runnable onSetup,
      boolean quiet,
      Iterable<EventExecutor> loops) {
    this.core = Objects.requireNonNull(core, "core");
    this.modelExecutor = Objects.requireNonNull(modelExecutor, "modelExecutor");
    this.maxSendBytes = maxSendBytes;
    this.onSetup = Objects.requireNonNull(onSetup, "onSetup");
    this.quiet = quiet;
    List<EventExecutor> list = new ArrayList<>();
    loops.forEach(list::add);
    this.loops = list.toArray(EventExecutor[]::new);
  }

  @Override
  public void setup(SetupRequest request, StreamObserver<SetupResponse> responses) {
    onSetup.run();
    serve(
        "Setup " + shown(request.getClassName()),
        request,
        responses,
        RunnerCore.TimeLimit.SETUP,
        claim ->
            claim.setup(
                request.getClassName(),
                () ->
                    Protos.arguments(
                        request.getInstanceArgumentsList(), request.getInstanceKwArgumentsList())),
        Protos::setupResponse);
  }

  @Override
  public void call(CallRequest request, StreamObserver<CallResponse> responses) {
    serve(
        "Call " + shown(request.getMethodName()),
        request,
        responses,
        RunnerCore.TimeLimit.CALL,
        claim ->
            claim.call(
                request.getMethodName(),
                () ->
                    Protos.arguments(
                        request.getMethodArgumentsList(), request.getMethodKwArgumentsList())),
        Protos::callResponse);
  }

  @Override
  public void rest(Empty request, StreamObserver<RestResponse> responses) {
    serve("Rest", request, responses, null, RunnerCore.Claim::reset, Protos::restResponse);
  }

  /** Refuses new requests from now on ({@code UNAVAILABLE}); the request in flight goes on. */
  void stopServing() {
    core.stopServing();
  }

  /**
   * Waits until no model code runs and every accepted request is answered.
   *
   * @return whether that happened within the time given
   */
  boolean awaitIdle(long timeoutNanos) throws InterruptedException {
    return core.awaitIdle(Duration.ofNanos(timeoutNanos));
  }

  /** Returns whether model code is running (including a call answered after the time limit). */
  boolean isBusy() {
    return core.isBusy();
  }

  /**
   * Checks, claims and runs one request.
   *
   * @param limit the time limit the request is under, or null for none (Rest)
   */
  private <T extends Message> void serve(
      String what,
      Message request,
      StreamObserver<T> responses,
      RunnerCore.TimeLimit limit,
      Function<RunnerCore.Claim, Reply> work,
      Function<Reply, T> toResponse) {
    if (!core.isServing()) {
      reject(responses, shuttingDown());
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
    RunnerCore.Claim claim = core.claim();
    if (!claim.isGranted()) {
      if (claim.refusal() == RunnerCore.Refusal.BUSY) {
        LOG.log(Level.FINE, "{0}: Server busy", what);
        reject(responses, busyStatus());
      } else {
        reject(responses, shuttingDown());
      }
      return;
    }
    Exchange<T> exchange = new Exchange<>(what, claim, responses, limit, currentLoop());
    if (responses instanceof ServerCallStreamObserver<T> call) {
      // Also keeps a late onNext on a cancelled call from throwing.
      call.setOnCancelHandler(
          () -> LOG.log(Level.FINE, "{0}: the client cancelled or its deadline passed", what));
    }
    if (limit != null) {
      claim.limitTime(limit, exchange::timeLimitReached);
    }
    try {
      modelExecutor.execute(() -> run(exchange, context, work, toResponse));
    } catch (RejectedExecutionException stopping) {
      claim.release();
      exchange.fail(shuttingDown());
    }
  }

  /** Returns the event loop this thread runs, or null if it runs none of the server's. */
  private EventExecutor currentLoop() {
    for (EventExecutor loop : loops) {
      if (loop.inEventLoop()) {
        return loop;
      }
    }
    return null;
  }

  /** Runs on the model thread, with the claim held. */
  private <T extends Message> void run(
      Exchange<T> exchange,
      Context context,
      Function<RunnerCore.Claim, Reply> work,
      Function<Reply, T> toResponse) {
    RunnerCore.Claim claim = exchange.claim;
    if (context.isCancelled()) {
      claim.release();
      exchange.fail(notStarted(context));
      return;
    }
    long started = System.nanoTime();
    Reply reply = null;
    io.grpc.Status failure = null;
    try {
      reply = work.apply(claim);
    } catch (RuntimeException | Error e) {
      if (!core.isServing()) {
        failure = shuttingDown();
      } else {
        LOG.log(Level.WARNING, exchange.what + ": the runner failed: " + e, e);
        failure = io.grpc.Status.INTERNAL.withDescription(RunnerCore.runnerFailed(e));
      }
    } finally {
      // Before answering: the client may send its next request as soon as it has the answer.
      claim.release();
    }
    T response = null;
    if (reply != null) {
      if (!quiet) {
        log(exchange.what, reply, System.nanoTime() - started);
      }
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

  /**
   * Returns a name from a request as log lines show it: its first {@value #MAX_SHOWN_NAME}
   * characters and its length when it is longer, so that a request's content never makes a line of
   * any size.
   */
  static String shown(String name) {
    return cut(name, MAX_SHOWN_NAME);
  }

  /** Returns {@code text}, or its first {@code max} characters and its length when longer. */
  static String cut(String text, int max) {
    if (text.length() <= max) {
      return text;
    }
    int end = max;
    if (Character.isHighSurrogate(text.charAt(end - 1))) {
      end--; // never half a character
    }
    return text.substring(0, end) + "… (" + text.length() + " characters)";
  }

  private static void log(String what, Reply reply, long nanos) {
    Level level = what.startsWith("Call ") ? Level.FINE : Level.INFO;
    if (LOG.isLoggable(level)) {
      LOG.log(
          level,
          "{0}: {1} ({2} ms)",
          new Object[] {
            what,
            cut(String.valueOf(reply.status()), MAX_SHOWN_STATUS),
            String.format("%.1f", nanos / 1e6)
          });
    }
  }

  private static io.grpc.Status busyStatus() {
    return io.grpc.Status.RESOURCE_EXHAUSTED.withDescription(StatusMessages.SERVER_BUSY);
  }

  private static io.grpc.Status shuttingDown() {
    return io.grpc.Status.UNAVAILABLE.withDescription(RunnerCore.SHUTTING_DOWN);
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

  /**
   * One accepted request: answered exactly once (its claim decides), by the model thread or the
   * time limit's timer.
   */
  private final class Exchange<T extends Message> {
    final String what;
    final RunnerCore.Claim claim;
    private final StreamObserver<T> responses;
    private final RunnerCore.TimeLimit limit;
    private final EventExecutor loop;

    Exchange(
        String what,
        RunnerCore.Claim claim,
        StreamObserver<T> responses,
        RunnerCore.TimeLimit limit,
        EventExecutor loop) {
      this.what = what;
      this.claim = claim;
      this.responses = responses;
      this.limit = limit;
      this.loop = loop;
    }

    void complete(T response) {
      if (claim.answer()) {
        onLoop(() -> send(response));
      }
    }

    void fail(io.grpc.Status status) {
      if (claim.answer()) {
        onLoop(() -> send(status));
      }
    }

    /** Sends the answer from the request's event loop (or at once, on it or without one). */
    private void onLoop(Runnable send) {
      if (loop == null || loop.inEventLoop()) {
        send.run();
        return;
      }
      try {
        loop.execute(send);
      } catch (RejectedExecutionException stopping) {
        send.run();
      }
    }

    private void send(T response) {
      try {
        responses.onNext(response);
        responses.onCompleted();
      } catch (RuntimeException e) {
        LOG.log(Level.FINE, what + ": could not send the response: " + e, e);
      }
    }

    private void send(io.grpc.Status status) {
      try {
        responses.onError(status.asRuntimeException());
      } catch (RuntimeException e) {
        LOG.log(Level.FINE, what + ": could not send " + status + ": " + e, e);
      }
    }

    /** Runs on the timer, once the claim has given it the answer. */
    void timeLimitReached() {
      String limitText = Durations.describe(core.timeLimit(limit));
      LOG.log(
          Level.WARNING,
          "{0}: the model did not return within the {1} time limit of {2}; it keeps running and the"
              + " runner answers Server busy until it returns",
          new Object[] {what, limit.label(), limitText});
      io.grpc.Status status =
          io.grpc.Status.DEADLINE_EXCEEDED.withDescription(core.timeLimitMessage(limit));
      onLoop(() -> send(status));
    }
  }
}
