package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.modelrunner.loader.RunnerCore;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.Variant;

class RehearsalTest {
  @Test
  void aRehearsalCallsItsModelOnceForEachCallAnsweredAndStopsWhenAsked() throws IOException {
    List<String> ran = new CopyOnWriteArrayList<>();
    RunnerCore.Observer observer =
        new RunnerCore.Observer() {
          @Override
          public void ran(RunnerCore.Request request, Reply reply, long nanos) {
            ran.add(
                request
                    + " "
                    + reply.status().code()
                    + " "
                    + reply.value().map(Variant::asDouble).orElse(null));
          }
        };
    AtomicInteger asked = new AtomicInteger();
    try (Rehearsal rehearsal = Rehearsal.open(1 << 20, observer)) {
      assertThat(ran).containsExactly("SETUP SUCCESS null");
      assertThat(rehearsal.run(50, () -> true)).isEqualTo(50);
      assertThat(rehearsal.run(50, () -> asked.incrementAndGet() <= 10)).isEqualTo(10);
      assertThat(asked).hasValue(11);
    }
    // 1.5 + "rehearsal".length(): the built-in model ran on the rehearsal's arguments each time.
    assertThat(ran.subList(1, ran.size())).hasSize(60).containsOnly("CALL SUCCESS 10.5");
  }
}
