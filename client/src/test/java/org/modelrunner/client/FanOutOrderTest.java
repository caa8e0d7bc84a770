package org.modelrunner.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.modelrunner.client.FakeTransportProvider.define;
import static org.modelrunner.client.FleetTesting.WAIT;
import static org.modelrunner.client.RecordingDirectory.fake;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.Variant;

/**
 * The order in which a fan-out sends its calls: every model is now early, now late, so that the
 * calls a coordinator cannot send and run in time are not always those of the same models.
 */
class FanOutOrderTest {
  private final List<ModelFleet> fleets = new ArrayList<>();

  @AfterEach
  void closeFleets() {
    fleets.forEach(ModelFleet::close);
    FakeTransportProvider.MODELS.clear();
  }

  @Test
  void eachFanOutStartsWithAnotherModelAndEveryModelTakesItsTurnFirst() throws Exception {
    List<String> sent = new CopyOnWriteArrayList<>();
    List<ModelEndpoint> endpoints = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      String name = "m" + i;
      define(
          name,
          (method, arguments, timeout) -> {
            sent.add(name);
            return CompletableFuture.completedFuture(Reply.success(Variant.ofDouble(1.0)));
          });
      endpoints.add(fake(name));
    }
    RecordingDirectory directory = new RecordingDirectory();
    BlockingQueue<FleetEvent> events = new LinkedBlockingQueue<>();
    ModelFleet fleet = FleetTesting.fleetBuilder(directory, events).build();
    fleets.add(fleet);
    directory.snapshot(endpoints.toArray(new ModelEndpoint[0]));
    assertThat(fleet.awaitConnected(10, WAIT)).isTrue();

    List<String> firsts = new ArrayList<>();
    for (int round = 0; round < 50; round++) {
      sent.clear();
      FanOutResult result = fleet.callAndWait(FanOut.of("predict"));
      assertThat(result.withStatus(CallStatus.SUCCESS)).hasSize(10);
      assertThat(sent).as("each model once").hasSize(10).doesNotHaveDuplicates();
      firsts.add(sent.get(0));
    }

    Map<String, Long> timesFirst =
        firsts.stream().collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
    assertThat(timesFirst)
        .as("every model was sent to first, in about one fan-out in ten")
        .hasSize(10)
        .allSatisfy((model, times) -> assertThat(times).isBetween(3L, 8L));
  }
}
