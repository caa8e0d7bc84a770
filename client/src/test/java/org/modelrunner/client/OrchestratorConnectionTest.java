package org.modelrunner.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.modelrunner.spi.DirectoryStatus;

/**
 * The orchestrator connection's lifecycle with scripted sockets and time moved by hand: the backoff
 * between attempts, the ping timeout, message assembly and its bound, the status, closing. Each
 * step is followed by a barrier on the connection's thread, so that nothing here waits to see that
 * something did not happen.
 */
class OrchestratorConnectionTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final Duration PING = Duration.ofSeconds(30);
  private static final Duration INITIAL = Duration.ofSeconds(1);
  private static final Duration MAX = Duration.ofSeconds(8);

  private final ManualTime time = new ManualTime();
  private final ScriptedSockets sockets = new ScriptedSockets();
  private final Owner owner = new Owner();
  private final OrchestratorConnection connection =
      new OrchestratorConnection(
          new OrchestratorConnection.Settings(
              URI.create("ws://orchestrator.invalid:9091/crunch"),
              INITIAL,
              MAX,
              Duration.ofSeconds(10),
              PING,
              null),
          name -> sockets,
          time,
          time,
          owner);

  @AfterEach
  void close() {
    connection.close();
  }

  @Test
  void anAnsweredPingKeepsTheConnectionASilentOneIsAbortedAndReopened() throws Exception {
    assertThat(connection.start()).isTrue();
    Opening first = attempt();
    ScriptedSocket socket = first.open();
    assertThat(owner.next()).isEqualTo("opened");
    assertThat(connection.isConnected()).isTrue();

    advance(PING);
    assertThat(socket.pings).as("a ping each interval").hasValue(1);
    first.events().heard(); // the pong
    advance(PING);
    assertThat(socket.pings).hasValue(2);
    first.events().text("{}", true); // any frame is an answer too
    assertThat(owner.next()).isEqualTo("message {}");
    advance(PING);
    assertThat(socket.pings).hasValue(3);
    assertThat(socket.aborted).as("answered pings keep the connection").isFalse();
    assertThat(owner.events).isEmpty();

    advance(PING); // no answer since the last ping
    assertThat(socket.aborted).isTrue();
    assertThat(owner.next()).isEqualTo("lost");
    DirectoryStatus status = connection.status();
    assertThat(status.state()).isEqualTo(DirectoryStatus.State.RECONNECTING);
    assertThat(status.lastError())
        .hasValueSatisfying(e -> assertThat(e).contains("no pong within 30 s"));
    assertThat(connection.isConnected()).isFalse();

    first.events().text("late", true); // a frame of the lost connection is not delivered
    advance(MAX);
    attempt().open();
    assertThat(owner.next()).isEqualTo("opened");
    assertThat(owner.events).isEmpty();
  }

  @Test
  void eachAttemptWaitsItsBackoffAndResetAttemptsStartsItAgain() throws Exception {
    connection.start();
    attempt().fail(new ConnectException("Connection refused"));
    // Attempt k waits between half and all of min(max, initial · 2^k): 1-2 s, 2-4 s, 4-8 s, 4-8 s.
    long[] caps = {2, 4, 8, 8};
    Opening opened = null;
    for (int k = 0; k < caps.length; k++) {
      settle();
      assertThat(connection.status().failedAttempts()).isEqualTo(k + 1);
      assertThat(connection.status().state()).isEqualTo(DirectoryStatus.State.CONNECTING);
      advance(Duration.ofSeconds(caps[k]).dividedBy(2).minusNanos(1));
      assertThat(sockets.openings).as("no attempt %d before half the cap", k + 2).isEmpty();
      advance(Duration.ofSeconds(caps[k]).dividedBy(2).plusNanos(1));
      assertThat(sockets.openings).as("attempt %d by the cap", k + 2).hasSize(1);
      Opening next = attempt();
      if (k < caps.length - 1) {
        next.fail(new ConnectException("Connection refused"));
      } else {
        next.open();
        opened = next;
      }
    }
    assertThat(owner.next()).isEqualTo("opened");
    assertThat(connection.attempts()).isEqualTo(5);
    assertThat(connection.status().state()).isEqualTo(DirectoryStatus.State.CONNECTED);
    assertThat(connection.status().lastError()).hasValue("ConnectException: Connection refused");

    // The owner got what it waited for (the directory: an init): the backoff starts again.
    connection.post(connection::resetAttempts);
    opened.events().ended(1001, "going away", null);
    assertThat(owner.next()).isEqualTo("lost");
    settle();
    assertThat(connection.status().state()).isEqualTo(DirectoryStatus.State.RECONNECTING);
    assertThat(connection.status().failedAttempts()).isZero();
    assertThat(connection.status().lastError())
        .hasValue("IOException: closed by the orchestrator: 1001 going away");
    advance(INITIAL.dividedBy(2).minusNanos(1));
    assertThat(sockets.openings).isEmpty();
    advance(INITIAL.dividedBy(2).plusNanos(1));
    assertThat(sockets.openings).hasSize(1);
  }

  @Test
  void fragmentsAreAssembledAndAnOversizedMessageIsDroppedAlone() throws Exception {
    connection.start();
    Opening opening = attempt();
    ScriptedSocket socket = opening.open();
    assertThat(owner.next()).isEqualTo("opened");
    int demandsAtOpen = socket.demands.get();

    opening.events().text("{\"event\":", false);
    opening.events().text("\"update\"}", true);
    assertThat(owner.next()).isEqualTo("message {\"event\":\"update\"}");

    // Exactly the bound fits; one more character drops the message and skips its other parts.
    String megabyte = "x".repeat(1 << 20);
    int parts = OrchestratorConnection.MAX_MESSAGE_CHARS / megabyte.length();
    for (int i = 0; i < parts; i++) {
      opening.events().text(megabyte, false);
    }
    opening.events().text("", true);
    assertThat(owner.next()).isEqualTo("message of " + OrchestratorConnection.MAX_MESSAGE_CHARS);
    for (int i = 0; i < parts; i++) {
      opening.events().text(megabyte, false);
    }
    opening.events().text("y", false);
    opening.events().text("z", true);
    opening.events().text("next", true);

    assertThat(owner.next()).as("the oversized message is skipped").isEqualTo("message next");
    assertThat(socket.aborted).isFalse();
    settle();
    assertThat(socket.demands.get() - demandsAtOpen)
        .as("the next frame is read after each part")
        .isEqualTo(2 + (parts + 1) + (parts + 3));
  }

  @Test
  void sendWritesOnTheOpenConnectionAndFailGivesItUp() throws Exception {
    connection.start();
    Opening opening = attempt();
    onThread(() -> assertThat(connection.send("early")).isCompletedExceptionally());
    ScriptedSocket socket = opening.open();
    assertThat(owner.next()).isEqualTo("opened");

    onThread(() -> assertThat(connection.send("report")).isCompleted());
    assertThat(socket.sent).containsExactly("report");

    connection.post(() -> connection.fail(new IOException("broken pipe")));
    settle();
    assertThat(owner.next()).isEqualTo("lost");
    assertThat(socket.aborted).isTrue();
    assertThat(connection.status().lastError()).hasValue("IOException: broken pipe");
    onThread(() -> assertThat(connection.send("later")).isCompletedExceptionally());
    assertThat(socket.sent).containsExactly("report");
  }

  @Test
  void closeClosesNormallyThenStopsEverything() throws Exception {
    connection.start();
    Opening opening = attempt();
    ScriptedSocket socket = opening.open();
    socket.answerClose = true;
    assertThat(owner.next()).isEqualTo("opened");

    connection.close();
    connection.close(); // idempotent

    assertThat(socket.closeReason).isEqualTo("closing");
    assertThat(socket.aborted).as("aborted after the close, in any case").isTrue();
    assertThat(sockets.closed).isTrue();
    assertThat(connection.status().state()).isEqualTo(DirectoryStatus.State.CLOSED);
    assertThat(connection.isConnected()).isFalse();
    assertThat(connection.awaitStopped(WAIT)).isTrue();
    assertThat(connection.start()).isFalse();
    time.advance(Duration.ofMinutes(10));
    assertThat(sockets.openings).as("nothing reconnects").isEmpty();
    assertThat(owner.events).as("no lost() for a connection that close() ends").isEmpty();
  }

  @Test
  void closeAbortsAConnectionWhoseCloseIsNotAnswered() throws Exception {
    connection.start();
    ScriptedSocket socket = attempt().open();
    assertThat(owner.next()).isEqualTo("opened");

    long start = System.nanoTime();
    connection.close();

    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(WAIT);
    assertThat(socket.closeReason).isEqualTo("closing");
    assertThat(socket.aborted).isTrue();
    assertThat(connection.awaitStopped(WAIT)).isTrue();
  }

  @Test
  void theOwnerIsCalledOnTheConnectionsThreadOnly() throws Exception {
    connection.start();
    Opening opening = attempt();
    opening.open();
    opening.events().text("m", true);
    opening.events().ended(1000, "", null);
    assertThat(owner.next()).isEqualTo("opened");
    assertThat(owner.next()).isEqualTo("message m");
    assertThat(owner.next()).isEqualTo("lost");

    assertThat(owner.threads).hasSize(3);
    assertThat(owner.threads).allMatch(name -> name.matches("modelrunner-orchestrator-\\d+"));
    assertThat(owner.threads).containsOnly(owner.threads.get(0));
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  /** Returns the next connection attempt, once the connection's thread is done starting it. */
  private Opening attempt() throws InterruptedException {
    Opening opening = sockets.next();
    settle();
    return opening;
  }

  /** Moves time on, then waits until the connection's thread has done what came due. */
  private void advance(Duration step) throws InterruptedException {
    time.advance(step);
    settle();
  }

  /** Waits until the connection's thread has run everything handed to it so far. */
  private void settle() throws InterruptedException {
    CountDownLatch done = new CountDownLatch(1);
    assertThat(connection.post(done::countDown)).isTrue();
    assertThat(done.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).as("the barrier ran").isTrue();
  }

  /** Runs the check on the connection's thread, and rethrows its failure here. */
  private void onThread(Runnable check) throws Exception {
    CompletableFuture<Void> done = new CompletableFuture<>();
    connection.post(
        () -> {
          try {
            check.run();
            done.complete(null);
          } catch (Throwable e) {
            done.completeExceptionally(e);
          }
        });
    done.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Records the owner's calls, and the threads that made them. */
  static final class Owner implements OrchestratorConnection.Events {
    final BlockingQueue<String> events = new LinkedBlockingQueue<>();
    final List<String> threads = new CopyOnWriteArrayList<>();

    @Override
    public void opened() {
      record("opened");
    }

    @Override
    public void message(String text) {
      record(text.length() > 100 ? "message of " + text.length() : "message " + text);
    }

    @Override
    public void lost() {
      record("lost");
    }

    private void record(String event) {
      threads.add(Thread.currentThread().getName());
      events.add(event);
    }

    String next() throws InterruptedException {
      String event = events.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      assertThat(event).as("an owner call within %s", WAIT).isNotNull();
      return event;
    }
  }

  /** One connection attempt, which the test opens or fails as the orchestrator would. */
  record Opening(OrchestratorSocket.Events events, CompletableFuture<Void> future) {
    ScriptedSocket open() {
      ScriptedSocket socket = new ScriptedSocket(events);
      events.opened(socket);
      future.complete(null);
      return socket;
    }

    void fail(Throwable cause) {
      future.completeExceptionally(cause);
    }
  }

  /** Sockets whose connection attempts the test answers. */
  static final class ScriptedSockets implements OrchestratorConnection.Sockets {
    final BlockingQueue<Opening> openings = new LinkedBlockingQueue<>();
    volatile boolean closed;

    @Override
    public CompletableFuture<Void> open(URI uri, OrchestratorSocket.Events events) {
      Opening opening = new Opening(events, new CompletableFuture<>());
      openings.add(opening);
      return opening.future();
    }

    @Override
    public void close() {
      closed = true;
    }

    Opening next() throws InterruptedException {
      Opening opening = openings.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      assertThat(opening).as("a connection attempt within %s", WAIT).isNotNull();
      return opening;
    }
  }

  /** An open connection that records what the connection does with it. */
  static final class ScriptedSocket implements OrchestratorSocket.Socket {
    private final OrchestratorSocket.Events events;
    final List<String> sent = new CopyOnWriteArrayList<>();
    final AtomicInteger pings = new AtomicInteger();
    final AtomicInteger demands = new AtomicInteger();
    volatile boolean answerClose;
    volatile String closeReason;
    volatile boolean aborted;

    ScriptedSocket(OrchestratorSocket.Events events) {
      this.events = events;
    }

    @Override
    public CompletableFuture<Void> sendText(String text) {
      sent.add(text);
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public void sendPing(byte[] payload) {
      pings.incrementAndGet();
    }

    @Override
    public void close(String reason) {
      closeReason = reason;
      if (answerClose) {
        events.ended(1000, reason, null);
      }
    }

    @Override
    public void abort() {
      aborted = true;
    }

    @Override
    public void demand() {
      demands.incrementAndGet();
    }
  }
}
