package org.modelrunner.transport.inprocess;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.modelrunner.transport.inprocess.TestModels.await;
import static org.modelrunner.transport.inprocess.TestModels.call;
import static org.modelrunner.transport.inprocess.TestModels.failure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import java.util.logging.Level;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.modelrunner.spi.CallCompletion;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.Variant;
import org.modelrunner.testsupport.LogCapture;
import org.modelrunner.transport.inprocess.fixtures.Gates;

/**
 * A request's future takes one action on its answer ({@link CallCompletion}), which it runs once,
 * with what {@code whenComplete} would give: whether the action comes before or after the answer.
 */
@ExtendWith(TestModels.NoLeaks.class)
class CallCompletionTest {
  /** What an action heard: the reply, the failure, and the thread it ran on. */
  private record Heard(Reply reply, Throwable error, Thread thread) {}

  private InProcessRunner runner;
  private ModelTransport transport;
  private ModelConnection connection;

  /** The gates the test's models wait at: opened after each test, whatever it asserted. */
  private final List<String> gates = new ArrayList<>();

  private String gate(String name) {
    String gate = name + "-" + System.nanoTime();
    gates.add(gate);
    return gate;
  }

  @BeforeEach
  void setUp() {
    runner = InProcessModels.register("completion-" + System.nanoTime(), TestModels.submission());
    transport = TestModels.transport();
    connection = transport.connect(runner.endpoint());
    TestModels.setUp(connection);
  }

  @AfterEach
  void tearDown() {
    gates.forEach(Gates::open);
    connection.close();
    transport.close();
    runner.close();
  }

  private static BiConsumer<Reply, Throwable> into(List<Heard> heard) {
    return (reply, error) -> heard.add(new Heard(reply, error, Thread.currentThread()));
  }

  @Test
  void anActionRunsOnceWithTheAnswerWhetherGivenBeforeOrAfterIt() throws Exception {
    String gate = gate("completion");
    CompletableFuture<Reply> held = call(transport, connection, "hold", Variant.ofString(gate));
    assertThat(held).isInstanceOf(CallCompletion.class);
    List<Heard> before = new CopyOnWriteArrayList<>();
    ((CallCompletion) held).whenDone(into(before));
    assertThat(Gates.awaitEntered(gate, 1)).isTrue();
    assertThat(before).as("not answered yet").isEmpty();
    Gates.open(gate);
    Reply answer = await(held);
    assertThat(answer).isEqualTo(Reply.success(Variant.ofString("released")));
    // Run once the future is complete: a moment after its caller may see it.
    Awaitility.await().untilAsserted(() -> assertThat(before).isNotEmpty());
    assertThat(before).hasSize(1);
    assertThat(before.get(0).reply()).isSameAs(answer);
    assertThat(before.get(0).error()).isNull();
    assertThat(before.get(0).thread())
        .as("the worker that answered")
        .isNotSameAs(Thread.currentThread());

    List<Heard> after = new CopyOnWriteArrayList<>();
    ((CallCompletion) held).whenDone(into(after));
    assertThat(after).containsExactly(new Heard(answer, null, Thread.currentThread()));
    assertThat(before).as("the first action ran once").hasSize(1);
  }

  @Test
  void aRequestTakesOneActionOnly() throws Exception {
    String gate = gate("one-action");
    CompletableFuture<Reply> held = call(transport, connection, "hold", Variant.ofString(gate));
    List<Heard> heard = new CopyOnWriteArrayList<>();
    ((CallCompletion) held).whenDone(into(heard));
    assertThatThrownBy(() -> ((CallCompletion) held).whenDone(into(heard)))
        .isInstanceOf(IllegalStateException.class);
    Gates.open(gate);
    await(held);
    Awaitility.await().untilAsserted(() -> assertThat(heard).hasSize(1));
  }

  @Test
  void anActionHearsAFailureOrACancellationAsWhenCompleteWould() throws Exception {
    String gate = gate("failure");
    CompletableFuture<Reply> late =
        call(transport, connection, "hold", Duration.ofMillis(50), Variant.ofString(gate));
    List<Heard> heard = new CopyOnWriteArrayList<>();
    ((CallCompletion) late).whenDone(into(heard));
    CompletableFuture<Throwable> given = new CompletableFuture<>();
    late.whenComplete((reply, error) -> given.complete(error));
    TransportException timedOut = failure(late);
    assertThat(timedOut.kind()).isEqualTo(TransportException.Kind.DEADLINE_EXCEEDED);
    Awaitility.await().untilAsserted(() -> assertThat(heard).hasSize(1));
    assertThat(heard.get(0).error()).isSameAs(timedOut).isSameAs(await(given));
    Gates.open(gate);
    // The model is free again once the held call returns; another one is free now.
    String other = gate("cancelled");
    try (InProcessRunner second = InProcessModels.register("cancelled", TestModels.submission());
        ModelConnection toSecond = transport.connect(second.endpoint())) {
      TestModels.setUp(toSecond);
      CompletableFuture<Reply> cancelled =
          call(transport, toSecond, "hold", Variant.ofString(other));
      List<Heard> cancellation = new CopyOnWriteArrayList<>();
      ((CallCompletion) cancelled).whenDone(into(cancellation));
      assertThat(Gates.awaitEntered(other, 1)).isTrue();
      assertThat(cancelled.cancel(true)).isTrue();
      assertThat(cancellation).hasSize(1);
      assertThat(cancellation.get(0).error()).isInstanceOf(CancellationException.class);
      Gates.open(other);
    }
  }

  /** A caller may complete the future itself, by any of its public ways: the action hears it. */
  @Test
  void anActionRunsWhicheverWayTheFutureIsCompleted() throws Exception {
    String gate = gate("caller-completed");
    Reply own = Reply.success(Variant.ofString("own"));
    CompletableFuture<Reply> supplied = call(transport, connection, "hold", Variant.ofString(gate));
    List<Heard> heard = new CopyOnWriteArrayList<>();
    ((CallCompletion) supplied).whenDone(into(heard));
    assertThat(Gates.awaitEntered(gate, 1)).isTrue();
    supplied.completeAsync(() -> own, Runnable::run);
    assertThat(heard).containsExactly(new Heard(own, null, Thread.currentThread()));

    // The model is still held by the first request: the next ones fail BUSY at once, which the
    // obtruded outcome replaces after their actions heard the failure.
    CompletableFuture<Reply> obtruded = call(transport, connection, "echo", Variant.ofString("x"));
    List<Heard> failures = new CopyOnWriteArrayList<>();
    ((CallCompletion) obtruded).whenDone(into(failures));
    assertThat(failures).hasSize(1);
    assertThat(failures.get(0).error()).isInstanceOf(TransportException.class);
    obtruded.obtrudeValue(own);
    assertThat(failures).as("an action runs once, whatever happens after").hasSize(1);
  }

  @Test
  void anActionThatThrowsIsLoggedAndTheWorkerGoesOn() throws Exception {
    try (LogCapture log = LogCapture.start(Exchange.class.getName(), Level.WARNING)) {
      for (int i = 0; i < 3; i++) {
        CompletableFuture<Reply> echoed =
            call(transport, connection, "echo", Variant.ofString("e" + i));
        ((CallCompletion) echoed)
            .whenDone(
                (reply, error) -> {
                  throw new IllegalStateException("action " + reply.value().orElseThrow());
                });
        assertThat(await(echoed)).isEqualTo(Reply.success(Variant.ofString("e" + i)));
      }
      Awaitility.await().untilAsserted(() -> assertThat(log.messages()).hasSize(3));
      assertThat(log.messages())
          .allSatisfy(
              message ->
                  assertThat(message).startsWith("The action on a request's answer failed: "));
    }
  }
}
