package org.modelrunner.transport.inprocess;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.modelrunner.loader.RunnerCore;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.CallProgress;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportException;

/**
 * One request from a connection to a runner and its answer: the in-process counterpart of an RPC.
 *
 * <p>It is its own worker task (a {@link Runnable} that serves it on the runner) and links itself
 * into its connection's list of requests in flight. Its deadline is kept by that connection, which
 * expires the requests that are due (see {@link InProcessConnection}); nothing else holds a request
 * once it completes. Whatever completes the request first wins; later completions are ignored.
 */
final class Exchange implements Runnable {
  final InProcessConnection connection;
  final byte kind;

  /** The method or base class name, for zero-copy runners. */
  final String name;

  /** The arguments as given, for zero-copy runners. */
  final Arguments arguments;

  /** The encoded request; never modified (it may be shared by every request of a fan-out). */
  final byte[] request;

  /** Its answer; it tells whether the request waits (or waited) for a worker. */
  final Answer future = new Answer();

  private final long timeoutNanos;

  /**
   * When it expires, a {@link System#nanoTime()} value; set by its connection when it is linked in.
   */
  long dueNanos;

  /** The runner that accepted it; published to other threads by the executor or the timer. */
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

  private static final byte NEW = 0;
  private static final byte QUEUED = 1;
  private static final byte RUNNING = 2;
  private static final byte ABANDONED = 3;

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

  /** Returns whether the answer (or a failure) has been given to the caller. */
  boolean isDone() {
    return future.isDone();
  }

  /** Returns whether its deadline has passed. */
  boolean pastDue() {
    return System.nanoTime() - dueNanos >= 0;
  }

  /** The deadline passed. */
  void expire() {
    if (!future.isDone()) {
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
   * Fails the request. A request that waited for a worker frees its model before its caller hears
   * of the failure: the caller may send its next request from its callback (a fleet does), which
   * found the model still claimed and was refused BUSY.
   */
  void fail(TransportException failure) {
    boolean abandoned;
    synchronized (this) {
      abandoned = stage == QUEUED;
      if (abandoned) {
        stage = ABANDONED;
      }
    }
    if (abandoned) {
      connection.unlink(this);
      runner.abandoned(this);
      future.completeExceptionally(failure);
      return;
    }
    // Not waiting for a worker: completed first, so that a failure (the runner closing, say) wins
    // over the answer of model code it interrupts.
    future.completeExceptionally(failure);
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
      abandoned = stage == QUEUED;
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
   * under its lock, which the sender takes after it claims (queued) and the worker before the model
   * runs (started).
   */
  synchronized boolean holds(HostedRunner runner) {
    return this.runner == runner && claim != null && !claim.isAnswered();
  }

  /** Records that the request waits for a worker. */
  synchronized void queued() {
    stage = QUEUED;
  }

  /**
   * Called by the worker that takes the request: returns false if its caller gave up while it
   * waited (the model is already free), else records that this thread runs its model code, so that
   * it can be interrupted.
   */
  synchronized boolean start() {
    if (stage == ABANDONED) {
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
    future.complete(answer);
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
   * The future of a request: it says whether the request has waited for a worker without reaching
   * its model, so that a fleet does not count its timeout against the model.
   */
  final class Answer extends CompletableFuture<Reply> implements CallProgress {
    @Override
    public boolean waitsInCoordinator() {
      synchronized (Exchange.this) {
        return stage == QUEUED || stage == ABANDONED;
      }
    }
  }

  /** Interrupts the model code running this request, if it is running. */
  synchronized void interruptModel() {
    if (modelThread != null) {
      modelThread.interrupt();
    }
  }
}
