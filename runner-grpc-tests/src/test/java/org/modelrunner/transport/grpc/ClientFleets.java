package org.modelrunner.transport.grpc;

import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.modelrunner.client.FleetEvent;
import org.modelrunner.client.ModelFleet;
import org.modelrunner.spi.ModelDirectory;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.TransportProvider;

/**
 * A fleet of one model for the client's security tests: its events and the reports its directory
 * received, in queues the test reads.
 */
public final class ClientFleets implements AutoCloseable {
  /** A report the fleet made to its directory. */
  public record Report(String modelId, String code, String reason) {}

  public final BlockingQueue<FleetEvent> events = new LinkedBlockingQueue<>();
  public final BlockingQueue<Report> reports = new LinkedBlockingQueue<>();
  public final ModelFleet fleet;

  ClientFleets(TransportProvider transport, ModelEndpoint endpoint) {
    this(transport, endpoint, RunnerModels.BASE);
  }

  /** A fleet of the one model, through {@code transport} (null: the class path's plaintext one). */
  public ClientFleets(TransportProvider transport, ModelEndpoint endpoint, String baseClass) {
    ModelFleet.Builder builder =
        ModelFleet.builder()
            .directory(
                new ModelDirectory() {
                  @Override
                  public void start(Listener listener) {
                    listener.snapshot(List.of(endpoint));
                  }

                  @Override
                  public void reportFailure(
                      ModelEndpoint reported, String failureCode, String reason) {
                    reports.add(new Report(reported.modelId(), failureCode, reason));
                  }

                  @Override
                  public void close() {}
                })
            .baseClass(baseClass)
            .callTimeout(Duration.ofSeconds(10))
            .setupRetries(1, Duration.ofMillis(100))
            .listener(events::add);
    if (transport != null) {
      builder.transport(transport);
    }
    this.fleet = builder.build();
  }

  /** The vectors' model at {@code address}, with the directory's infos. */
  public static ModelEndpoint model(String modelId, URI address, String wallet, String hotkey) {
    Map<String, String> infos = new HashMap<>();
    infos.put("cruncher_wallet_pubkey", wallet);
    infos.put("cruncher_hotkey", hotkey);
    infos.put("model_name", "tracker");
    return new ModelEndpoint(modelId, modelId + "-deployment", address, infos);
  }

  /** The next event of one of the kinds, within 20 s. */
  public FleetEvent next(FleetEvent.Kind... kinds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      FleetEvent event =
          events.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (event == null) {
        throw new AssertionError("No event " + List.of(kinds) + " within 20 s");
      }
      if (List.of(kinds).contains(event.kind())) {
        return event;
      }
    }
  }

  /** The next report, within 20 s. */
  public Report report() throws InterruptedException {
    Report report = reports.poll(20, TimeUnit.SECONDS);
    if (report == null) {
      throw new AssertionError("No report within 20 s");
    }
    return report;
  }

  @Override
  public void close() {
    fleet.close();
  }
}
