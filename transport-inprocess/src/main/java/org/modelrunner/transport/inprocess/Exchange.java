package org.modelrunner.transport.inprocess;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.modelrunner.loader.RunnerCore;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.CallCompletion;
import org.modelrunner.spi.CallProgress;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportException;

/**
 * One request from a connection to a runner and its answer: the in-process counterpart of an RPC.
 *
 * <p>It is its own worker task (a {@link Runnable} that serves it on the runner) and its caller's
 * future (one object per request, not two: a worker fetches each from the sender's processor), and
 * links itself into its connection's list of requests in flight. Its deadline is kept by that
 * connection, which expires the requests that are due (see {@link InProcessConnection}); nothing
 * else holds a request once it completes. Whatever completes the request first wins; later
 * completions are ignored. Its caller's action ({@link #whenDone}) is kept in a field and run when
 * it completes, by whichever of the future's public ways to complete it does ({@link #complete},
 * {@link #completeExceptionally}, {@link #cancel}, the {@code obtrude} methods, {@link
 * #completeAsync}).
 */
final class Exchange extends CompletableFuture<Reply>
    implements Runnable, CallProgress, CallCompletion {
  private static final System.Logger LOG = System.getLogger(Exchange.class.getName());

  /** What {@link #action} holds once the request has completed (its action, if any, taken). */
  private static final BiConsumer<Reply, Throwable> COMPLETED = (reply, error) -> {};

  private static final VarHandle ACTION;

  static {
    try {
      ACTION = MethodHandles.lookup().findVarHandle(Exchange.class, "action", BiConsumer.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  final InProcessConnection connection;
  final byte kind;

  /** The method or base class name, for zero-copy runners. */
  final String name;

  /** The arguments as given, for zero-copy runners. */
  final Arguments arguments;

  /** The encoded request; never modified (it may be shared by every request of a fan-out). */
  final byte[] request;

  private final long timeoutNanos;

  /**
   * The caller's action ({@link #whenDone}): null until given, {@link #COMPLETED} once the request
   * has completed. Whichever of the two comes second runs the action.
   */
  @SuppressWarnings("UnusedVariable") // through ACTION
  private volatile BiConsumer<? super Reply, ? super Throwable> action;

  /**
   * When it expires, a {@link System#nanoTime()} value; set by its connection when it is linked in.
   */
  long dueNanos;

  /** The runner whose model it claimed; set under its lock (see {@link #claim}). */
  HostedRunner runner;

  /** Its claim on the runner's model; published with {@link #runner}. */
  RunnerCore.Claim claim;

  // The connection's list of requests in flight; guarded by the connection.
  Exchange previousInFlight;
  Exchange nextInFlight;
  boolean inFlight;

  /** The next request of a chain its connection found due; guarded by the timer thread. */
  Exchange nextDue;

  private Thread modelThread; // guarded by this

  /** Where it is on its way to the model; guarded by this. */
  private byte stage = NEW;

  /** Not yet claimed the model. */
  private static final byte NEW = 0;

  /** Waits for a worker. */
  private static final byte QUEUED = 1;

  /** A worker runs it. */
  private static final byte RUNNING = 2;

  /**
   * Failed while it waited for a worker, or before it claimed the model: its model was freed (or
   * never claimed), and it never runs.
   */
  private static final byte ABANDONED = 3;

  /** Holds the model, on its way to a fault's latency or hang, or to the workers. */
  private static final byte CLAIMED = 4;

  /**
   * Holds the model, and waits for a fault's latency or for the end of a hang: a failure then does
   * not free the model, which stays busy until the wait ends, as a model behind a slow network or a
   * hung model would.
   */
  private static final byte DELAYED = 5;

  Exchange(
      InProcessConnection connection,
      byte kind,
      String name,
      Arguments arguments,
      byte[] request,
      long timeoutNanos) {
    this.connection = connection;
    this.kind = kind;
    this.name = name;
    this.arguments = arguments;
    this.request = request;
    this.timeoutNanos = timeoutNanos;
  }

  long timeoutNanos() {
    return timeoutNanos;
  }

  /** Returns whether its deadline has passed. */
  boolean pastDue() {
    return System.nanoTime() - dueNanos >= 0;
  }

  /** The deadline passed. */
  void expire() {
    if (!isDone()) {
      fail(
          new TransportException(
              TransportException.Kind.DEADLINE_EXCEEDED,
              "No answer from "
                  + connection.endpoint()
                  + " within "
                  + TimeUnit.NANOSECONDS.toMillis(timeoutNanos)
                  + " ms"));
    }
  }

  /** Runs on a worker: the runner serves the request. */
  @Override
  public void run() {
    runner.serve(this);
  }

  /**
   * Fails the request. A request that holds its model on its way to it (it waits for a worker)
   * frees it before its caller hears of the failure: the caller may send its next request from its
   * callback (a fleet does), which found the model still claimed and was refused BUSY.
   */
  void fail(TransportException failure) {
    boolean abandoned;
    synchronized (this) {
      if (stage == ABANDONED) {
        return; // failed already: whoever abandoned it answers it, once its model is free
      }
      abandoned = stage == QUEUED || stage == CLAIMED;
      if (abandoned || stage == NEW) {
        stage = ABANDONED; // a request not claimed yet never will be (see claim)
      }
    }
    if (abandoned) {
      try {
        connection.unlink(this);
        runner.abandoned(this);
      } finally {
        completeExceptionally(failure);
      }
      return;
    }
    // Not waiting for a worker: completed first, so that a failure (the runner closing, say) wins
    // over the answer of model code it interrupts.
    completeExceptionally(failure);
    finished();
  }

  /**
   * Lets go of the request in its connection's list; a request that waited for a worker is
   * abandoned, and frees its model at once.
   */
  private void finished() {
    connection.unlink(this);
    boolean abandoned;
    synchronized (this) {
      abandoned = stage == QUEUED || stage == CLAIMED;
      if (abandoned) {
        stage = ABANDONED;
      } else if (modelThread != null) {
        // Its model code runs on, holding the model: recorded before leaveModel() (this lock), so
        // before the model is released and another request claims it.
        runner.orphaned(this);
      }
    }
    if (abandoned) {
      runner.abandoned(this);
    }
  }

  /**
   * Returns whether this request holds the model of {@code runner}: claimed, and not released. Read
   * under its lock, which the sender holds while it claims and the worker takes before the model
   * runs (started).
   */
  synchronized boolean holds(HostedRunner runner) {
    return this.runner == runner && claim != null && !claim.isAnswered();
  }

  /**
   * Claims the model of {@code runner} for this request, unless the request has failed already (its
   * deadline passed, or its connection closed, before it got here): it then never claims it. Once
   * claimed, a failure frees the model before the caller hears of it (see {@link #fail}), whichever
   * thread fails it: the claim and that check are one step under this request's lock.
   *
   * @param queued whether the request goes to the workers at once: it then waits for one from now
   *     on ({@link #queued}), else it is {@link #CLAIMED}
   * @return the claim, granted or refused, or null if the request failed before
   */
  synchronized RunnerCore.Claim claim(RunnerCore core, HostedRunner runner, boolean queued) {
    if (stage != NEW) {
      return null;
    }
    RunnerCore.Claim granted = core.claim();
    if (granted.isGranted()) {
      this.claim = granted;
      this.runner = runner;
      stage = queued ? QUEUED : CLAIMED;
    }
    return granted;
  }

  /**
   * Records that the request, which holds its model, waits for a fault's latency or for the end of
   * a hang ({@link #DELAYED}); returns false if it failed meanwhile (its model was freed then).
   */
  synchronized boolean delayed() {
    if (stage != CLAIMED) {
      return false;
    }
    stage = DELAYED;
    return true;
  }

  /**
   * Records that the request, which holds its model, waits for a worker; returns false if it failed
   * meanwhile and its model was freed then: it is not to be handed to the workers.
   */
  synchronized boolean queued() {
    if (stage != CLAIMED && stage != DELAYED) {
      return false;
    }
    stage = QUEUED;
    return true;
  }

  /**
   * Called by the worker that takes the request: returns false if its caller gave up while it
   * waited (the model is already free), else records that this thread runs its model code, so that
   * it can be interrupted.
   */
  synchronized boolean start() {
    if (stage != QUEUED) { // abandoned
      return false;
    }
    stage = RUNNING;
    modelThread = Thread.currentThread();
    ModelWorkers.inModel(true);
    return true;
  }

  /**
   * Completes the request with the runner's reply, checking on the client's side what a network
   * client would: the response size against the connection's limit, and that the bytes decode.
   *
   * @param reply the reply (zero-copy), or null when {@code response} holds it encoded
   * @param response the encoded reply, or null for zero-copy
   * @param size the encoded size of the reply
   */
  void deliver(Reply reply, byte[] response, long size) {
    int limit = connection.maxMessageBytes();
    if (size > limit) {
      fail(
          new TransportException(
              TransportException.Kind.MESSAGE_TOO_LARGE,
              "The response from "
                  + connection.endpoint()
                  + " is "
                  + size
                  + " bytes, over the client's limit of "
                  + limit
                  + " bytes"));
      return;
    }
    Reply answer = reply;
    if (response != null) {
      try {
        answer = WireFormat.decodeReply(response);
      } catch (WireFormat.MalformedMessageException e) {
        fail(
            new TransportException(
                TransportException.Kind.INTERNAL,
                "Malformed response from " + connection.endpoint() + ": " + e.getMessage(),
                e));
        return;
      }
    }
    complete(answer);
    finished();
  }

  /** Records that model code has returned, and clears an interrupt meant for it. */
  void leaveModel() {
    ModelWorkers.inModel(false);
    synchronized (this) {
      modelThread = null;
    }
    Thread.interrupted();
  }

  /**
   * Whether the request has waited for a worker without reaching its model, so that a fleet does
   * not count its timeout against the model.
   */
  @Override
  public boolean waitsInCoordinator() {
    synchronized (this) {
      return stage == QUEUED || stage == ABANDONED;
    }
  }

  /** Interrupts the model code running this request, if it is running. */
  synchronized void interruptModel() {
    if (modelThread != null) {
      modelThread.interrupt();
    }
  }

  @Override
  public void whenDone(BiConsumer<? super Reply, ? super Throwable> action) {
    Object before = ACTION.compareAndExchange(this, null, action);
    if (before == null) {
      return; // the completion runs it
    }
    if (before != COMPLETED) {
      throw new IllegalStateException("The request was given an action already");
    }
    whenComplete((reply, error) -> run(action, reply, error)); // complete: runs it now
  }

  @Override
  public boolean complete(Reply reply) {
    if (!super.complete(reply)) {
      return false;
    }
    runAction(reply, null);
    return true;
  }

  @Override
  public boolean completeExceptionally(Throwable error) {
    if (!super.completeExceptionally(error)) {
      return false;
    }
    runAction(null, error);
    return true;
  }

  @Override
  @SuppressWarnings("unchecked")
  public boolean cancel(boolean mayInterruptIfRunning) {
    if (!super.cancel(mayInterruptIfRunning)) {
      return false;
    }
    Object given = ACTION.getAndSet(this, COMPLETED);
    if (given != null) { // with the exception the cancellation stored
      whenComplete(
          (reply, error) ->
              run((BiConsumer<? super Reply, ? super Throwable>) given, reply, error));
    }
    return true;
  }

  @Override
  public void obtrudeValue(Reply reply) {
    super.obtrudeValue(reply);
    runAction(reply, null); // if it had not completed before: else its action ran then
  }

  @Override
  public void obtrudeException(Throwable error) {
    super.obtrudeException(error);
    runAction(null, error);
  }

  @Override
  public CompletableFuture<Reply> completeAsync(
      Supplier<? extends Reply> supplier, Executor executor) {
    Objects.requireNonNull(supplier, "supplier");
    Objects.requireNonNull(executor, "executor");
    executor.execute( // through complete: the action runs (the JDK's own completes it directly)
        () -> {
          if (!isDone()) {
            try {
              complete(supplier.get());
            } catch (RuntimeException | Error e) {
              completeExceptionally(new CompletionException(e));
            }
          }
        });
    return this;
  }

  /** The request has completed: runs the caller's action if it was given. */
  @SuppressWarnings("unchecked")
  private void runAction(Reply reply, Throwable error) {
    Object given = ACTION.getAndSet(this, COMPLETED);
    if (given != null && given != COMPLETED) { // COMPLETED: obtruded after it completed
      run((BiConsumer<? super Reply, ? super Throwable>) given, reply, error);
    }
  }

  private static void run(
      BiConsumer<? super Reply, ? super Throwable> action, Reply reply, Throwable error) {
    try {
      action.accept(reply, error);
    } catch (RuntimeException | Error e) {
      LOG.log(System.Logger.Level.WARNING, "The action on a request's answer failed: " + e, e);
    }
  }
}
