package org.modelrunner.loader;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.modelrunner.loader.fixtures.TrackerBase;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.Reply;

/** The warm-up a runner runs once it serves never reaches the submission. */
class WarmUpTest {
  private static final String BASE = TrackerBase.class.getName();

  /** Counts every construction and call. */
  public static class Counted extends TrackerBase {
    static final AtomicInteger CONSTRUCTED = new AtomicInteger();
    static final AtomicInteger CALLS = new AtomicInteger();

    public Counted() {
      CONSTRUCTED.incrementAndGet();
    }

    @Override
    public void tick(Object data) {
      CALLS.incrementAndGet();
    }

    @Override
    public Object predict() {
      CALLS.incrementAndGet();
      return Map.of("value", List.of(1.5, 2L));
    }
  }

  @Test
  void warmUpNeitherSetsUpNorCallsTheModelAndLeavesItsAnswersUnchanged() {
    Counted.CONSTRUCTED.set(0);
    Counted.CALLS.set(0);
    try (HostedModel model = HostedModel.forImplementation(Counted.class)) {
      model.warmUp(50);
      assertThat(Counted.CONSTRUCTED).hasValue(0);
      assertThat(model.isSetUp()).isFalse();

      assertThat(model.setup(BASE, Arguments.none()).status().isSuccess()).isTrue();
      model.warmUp(50);
      assertThat(Counted.CONSTRUCTED).hasValue(1);
      assertThat(Counted.CALLS).hasValue(0);

      Reply reply = model.call("predict", Arguments.none());
      assertThat(reply.status().isSuccess()).isTrue();
      assertThat(reply.value().map(v -> new String(v.toByteArray(), StandardCharsets.UTF_8)))
          .contains("{\"value\":[1.5,2]}");
      assertThat(Counted.CALLS).hasValue(1);
    }
  }
}
