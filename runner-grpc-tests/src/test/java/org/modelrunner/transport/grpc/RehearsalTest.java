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
      assertThat(rehearsal.run(50, () -> true)).isEqualTo(50);
      assertThat(rehearsal.run(50, () -> asked.incrementAndGet() <= 10)).isEqualTo(10);
      assertThat(asked).hasValue(11);
    }
  }
}
