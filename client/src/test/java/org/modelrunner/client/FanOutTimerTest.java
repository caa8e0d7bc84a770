package org.modelrunner.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The fan-outs' shared deadline timer: each fan-out expires at its own deadline, and one that ends
 * before the armed deadline schedules nothing (no task, so no wake-up of the fleet's thread). Time
 * is moved by hand.
 */
class FanOutTimerTest {
  private final ManualTime time = new ManualTime();
  private final Set<Call> inFlight = ConcurrentHashMap.newKeySet();
  private final List<String> expired = new ArrayList<>();
  private final AtomicInteger scheduled = new AtomicInteger();
  private final FanOutTimer timer =
      new FanOutTimer(
          (task, delay) -> {
            scheduled.incrementAndGet();
            return time.schedule(task, delay);
          },
          time,
          inFlight);

  /** A fan-out in flight that records its expiry and leaves. */
  private final class Call implements FanOutTimer.Deadline {
    final String name;
    final long deadline;

    Call(String name, Duration timeout) {
      this.name = name;
      this.deadline = time.read() + timeout.toNanos();
    }

    @Override
    public long deadlineNanos() {
      return deadline;
    }

    @Override
    public void expire() {
      if (inFlight.remove(this)) {
        expired.add(name);
      }
    }
  }

  private Call start(String name, Duration timeout) {
    Call call = new Call(name, timeout);
    inFlight.add(call);
    timer.started(call);
    return call;
  }

  @Test
  void fanOutsThatEndInTimeShareOneTask() {
    for (int i = 0; i < 1_000; i++) {
      Call call = start("call " + i, Duration.ofSeconds(10));
      assertThat(scheduled).as("tasks scheduled by fan-out %d", i).hasValue(1);
      time.advance(Duration.ofMillis(1));
      inFlight.remove(call); // answered
    }
    assertThat(expired).isEmpty();

    // The task fires at the first fan-out's deadline, finds none left, and arms no other.
    time.advance(Duration.ofSeconds(10));
    assertThat(time.pending()).isZero();
    assertThat(scheduled).hasValue(1);
    assertThat(expired).isEmpty();
  }

  @Test
  void eachFanOutExpiresAtItsOwnDeadline() {
    start("100 ms", Duration.ofMillis(100));
    time.advance(Duration.ofMillis(10));
    start("50 ms later", Duration.ofMillis(40)); // due at 50 ms: earlier than the armed deadline
    start("200 ms", Duration.ofMillis(190));

    time.advance(Duration.ofMillis(39));
    assertThat(expired).isEmpty();
    time.advance(Duration.ofMillis(1));
    assertThat(expired).containsExactly("50 ms later");
    time.advance(Duration.ofMillis(49));
    assertThat(expired).containsExactly("50 ms later");
    time.advance(Duration.ofMillis(1));
    assertThat(expired).containsExactly("50 ms later", "100 ms");
    time.advance(Duration.ofMillis(99));
    assertThat(expired).hasSize(2);
    time.advance(Duration.ofMillis(1));
    assertThat(expired).containsExactly("50 ms later", "100 ms", "200 ms");
    assertThat(time.pending()).isZero();
  }

  @Test
  void theTaskArmsItselfForAFanOutThatStartedAfterIt() {
    Call first = start("first", Duration.ofMillis(100));
    time.advance(Duration.ofMillis(50));
    start("second", Duration.ofMillis(100)); // due at 150 ms: the task armed for 100 ms covers it
    assertThat(time.pending()).isEqualTo(1);
    inFlight.remove(first);

    time.advance(Duration.ofMillis(50));
    assertThat(expired).isEmpty();
    assertThat(time.pending()).as("armed again for the second").isEqualTo(1);
    time.advance(Duration.ofMillis(50));
    assertThat(expired).containsExactly("second");
  }

  @Test
  void aTaskThatRunsLateExpiresEveryFanOutDueByThen() {
    start("a", Duration.ofMillis(10));
    start("b", Duration.ofMillis(20));
    start("c", Duration.ofMillis(30));
    start("d", Duration.ofMillis(40));

    time.advance(Duration.ofMillis(35)); // the fleet's thread was held up

    assertThat(expired).containsExactlyInAnyOrder("a", "b", "c");
    time.advance(Duration.ofMillis(5));
    assertThat(expired).containsExactlyInAnyOrder("a", "b", "c", "d");
  }

  @Test
  void aTimerWhoseThreadIsShutDownDoesNotThrow() {
    ScheduledThreadPoolExecutor thread = new ScheduledThreadPoolExecutor(1);
    thread.shutdownNow();
    FanOutTimer closing =
        new FanOutTimer(
            (task, delay) -> thread.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS),
            time,
            inFlight);
    Call call = new Call("late", Duration.ofMillis(10));
    inFlight.add(call);

    assertThatCode(() -> closing.started(call)).doesNotThrowAnyException();
  }
}
