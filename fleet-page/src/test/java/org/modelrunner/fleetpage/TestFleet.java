package org.modelrunner.fleetpage;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.modelrunner.client.FanOut;
import org.modelrunner.client.FanOutResult;
import org.modelrunner.client.ModelFleet;
import org.modelrunner.fleetpage.fixtures.TrackerBase;
import org.modelrunner.transport.inprocess.InProcessModels;
import org.modelrunner.transport.inprocess.InProcessRunner;

/**
 * A fleet over the in-process registry, built while the registry is empty so that a page started
 * next sees every model join: {@link #register} adds models, which connect in the background. A
 * model is disconnected after its second failure in a row.
 */
final class TestFleet implements AutoCloseable {
  static final Duration WAIT = Duration.ofSeconds(20);

  final ModelFleet fleet;
  private final List<InProcessRunner> runners = new ArrayList<>();

  TestFleet() throws InterruptedException {
    assertThat(InProcessModels.names()).as("models left registered by another test").isEmpty();
    fleet =
        ModelFleet.builder()
            .directory(InProcessModels.directory())
            .baseClass(TrackerBase.class.getName())
            .callTimeout(Duration.ofSeconds(5))
            .maxConsecutiveFailures(1)
            .build();
    assertThat(fleet.awaitSettled(WAIT)).isTrue();
  }

  /** Registers a model; it joins the fleet in the background. */
  TestFleet register(String name, Class<? extends TrackerBase> implementation) {
    runners.add(InProcessModels.register(name, implementation));
    return this;
  }

  /** Waits until {@code count} models are connected. */
  void awaitConnected(int count) throws InterruptedException {
    assertThat(fleet.awaitConnected(count, WAIT)).as("%d models connected", count).isTrue();
  }

  /** Sends {@code tick} to every connected model and waits for the outcomes. */
  FanOutResult tick() throws InterruptedException {
    return fleet.callAndWait(FanOut.of("tick", 1));
  }

  @Override
  public void close() {
    fleet.close();
    for (int i = runners.size() - 1; i >= 0; i--) {
      runners.get(i).close();
    }
  }
}
