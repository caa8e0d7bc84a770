package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RehearsalTest {
  @Test
  void aRehearsalAnswersEachCallAndStopsWhenAsked() throws IOException {
    AtomicInteger asked = new AtomicInteger();
    try (Rehearsal rehearsal = Rehearsal.open(1 << 20)) {
      long all = rehearsal.run(50, () -> true);
      long some = rehearsal.run(50, () -> asked.incrementAndGet() <= 10);
      // Every answer is the same response (a double), so the sums count the calls answered.
      assertThat(all).isPositive();
      assertThat(some * 5).isEqualTo(all);
      assertThat(asked).hasValue(11);
    }
  }
}
