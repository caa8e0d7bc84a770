package org.modelrunner.client;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jctools.queues.MpscArrayQueue;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.Reply;

/**
 * One deployment in the fleet: its connection, its state and counters, and its mailbox. Calls to it are
 * serialised: fan-outs drop jobs into the mailbox (a bounded MPSC queue), and at most one call is in
 * flight; when it completes, the next job is sent.
 */
final class FleetMember {
  /** A model's part of one fan-out, waiting in the mailbox. */
  record Job(FanOutCall call, int slot) {}

  static final int MAILBOX_CAPACITY = 16;

  final ModelEndpoint endpoint;
  private final ModelFleet fleet;
  private final MpscArrayQueue<Job> mailbox = new MpscArrayQueue<>(MAILBOX_CAPACITY);
  private final AtomicBoolean inFlight = new AtomicBoolean();
  volatile ModelConnection connection;
  /** The transport of {@link #connection}; set with it. */
  volatile org.modelrunner.spi.ModelTransport transport;
  volatile ModelStatus.State state = ModelStatus.State.CONNECTING;
  /** Set when the member is no longer wanted (left, replaced, fleet closed): pending work is abandoned. */
  volatile boolean retired;

  // Guarded by this.
  private int consecutiveFailures;
  private int consecutiveTimeouts;
  private long calls;
  private long successes;
  private String lastError;

  FleetMember(ModelFleet fleet, ModelEndpoint endpoint) {
    this.fleet = fleet;
    this.endpoint = endpoint;
  }

  /** Queues a job and sends it if no call is in flight. */
  void submit(Job job) {
    if (!mailbox.offer(job)) {
      job.call().fill(
          job.slot(),
          fleet.failureOutcome(
              this,
              new CallFailure(
                  CallFailure.Source.CLIENT,
                  CallFailure.QUEUE_FULL,
                  MAILBOX_CAPACITY + " calls are already waiting for this model"),
              0));
      return;
    }
    drain();
  }

  private void drain() {
    while (inFlight.compareAndSet(false, true)) {
      Job job = mailbox.poll();
      if (job == null) {
        inFlight.set(false);
        if (mailbox.isEmpty()) {
          return;
        }
        continue;
      }
      FanOutCall call = job.call();
      long remaining = call.remainingNanos();
      if (call.isFilled(job.slot()) || remaining <= 0) {
        inFlight.set(false);
        continue;
      }
      send(job, remaining);
      return;
    }
  }

  private void send(Job job, long remainingNanos) {
    synchronized (this) {
      calls++;
    }
    long sent = System.nanoTime();
    CompletableFuture<Reply> reply;
    try {
      reply = connection.call(job.call().prepared(job.slot()), Duration.ofNanos(remainingNanos));
    } catch (RuntimeException e) {
      reply = CompletableFuture.failedFuture(e);
    }
    reply.whenComplete(
        (answer, error) -> {
          try {
            fleet.answered(this, job, answer, error, (System.nanoTime() - sent) / 1_000);
          } finally {
            inFlight.set(false);
            drain();
          }
        });
  }

  /** Counts a success: it resets both consecutive counters. */
  synchronized void recordSuccess() {
    successes++;
    consecutiveFailures = 0;
    consecutiveTimeouts = 0;
  }

  /**
   * Counts a failure or a timeout ({@code countsAsTimeout} for a failure that is one, such as BUSY);
   * returns the consecutive failures and timeouts after it, for the failure policy.
   */
  synchronized int[] recordFailure(CallOutcome outcome, boolean countsAsTimeout) {
    if (outcome.status() == CallStatus.TIMEOUT) {
      consecutiveTimeouts++;
      lastError = "timeout after " + outcome.latencyMicros() / 1_000 + " ms"
          + outcome.failure().map(f -> " (" + f + ")").orElse("");
    } else {
      if (countsAsTimeout) {
        consecutiveTimeouts++;
      } else {
        consecutiveFailures++;
      }
      lastError = outcome.failure().map(CallFailure::toString).orElse("failure");
    }
    return new int[] {consecutiveFailures, consecutiveTimeouts};
  }

  /** Moves a connected member to DISCONNECTED; returns false if it was not connected (done once). */
  synchronized boolean markDisconnected(String error) {
    if (retired || state != ModelStatus.State.CONNECTED) {
      return false;
    }
    state = ModelStatus.State.DISCONNECTED;
    lastError = error;
    return true;
  }

  synchronized void lastError(String error) {
    lastError = error;
  }

  synchronized ModelStatus status() {
    return new ModelStatus(
        endpoint,
        state,
        consecutiveFailures,
        consecutiveTimeouts,
        calls,
        successes,
        Optional.ofNullable(lastError));
  }

  /** Closes the connection, if any; never throws. */
  void closeConnection() {
    ModelConnection current = connection;
    if (current != null) {
      try {
        current.close();
      } catch (RuntimeException e) {
        System.getLogger(ModelFleet.class.getName())
            .log(System.Logger.Level.DEBUG, "Closing the connection to " + endpoint.address() + " failed", e);
      }
    }
  }

  @Override
  public String toString() {
    return endpoint.modelId() + "@" + endpoint.address();
  }
}
