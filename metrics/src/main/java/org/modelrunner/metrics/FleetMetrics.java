package org.modelrunner.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.modelrunner.client.CallOutcome;
import org.modelrunner.client.CallStatus;
import org.modelrunner.client.FanOutResult;
import org.modelrunner.client.FleetEvent;
import org.modelrunner.client.FleetListener;
import org.modelrunner.client.FleetReport;
import org.modelrunner.client.ModelFleet;

/**
 * Binds a {@link ModelFleet} to a Micrometer {@link MeterRegistry}; Prometheus, OTLP and the rest
 * are the registry you choose.
 *
 * <pre>{@code
 * FleetMetrics.builder(registry).bind(fleet);
 * }</pre>
 *
 * <table>
 *   <caption>Meters</caption>
 *   <tr><th>name</th><th>type</th><th>tags</th><th>what</th></tr>
 *   <tr><td>{@code modelrunner.fleet.outcomes}</td><td>counter</td><td>{@code status}</td>
 *       <td>outcomes of calls, by {@link CallStatus}</td></tr>
 *   <tr><td>{@code modelrunner.fleet.call.latency}</td><td>timer (histogram)</td><td></td>
 *       <td>how long answered calls took</td></tr>
 *   <tr><td>{@code modelrunner.fleet.models.connected}</td><td>gauge</td><td></td>
 *       <td>models connected now</td></tr>
 *   <tr><td>{@code modelrunner.fleet.events}</td><td>counter</td><td>{@code kind}</td>
 *       <td>{@link FleetEvent}s, by kind</td></tr>
 *   <tr><td>{@code modelrunner.fleet.reports}</td><td>counter</td><td>{@code code}, {@code by}
 *       ({@code policy} or {@code coordinator})</td>
 *       <td>failure reports sent to the directory, by failure code: the failure policy's and the
 *       coordinator's own {@link ModelFleet#report} calls</td></tr>
 *   <tr><td>{@code modelrunner.fleet.fanout.duration}</td><td>timer (histogram)</td><td></td>
 *       <td>how long fan-outs took, from start to their last outcome</td></tr>
 * </table>
 *
 * Per-model tags ({@code model}, the model's id, on the outcomes and the latency) are off by
 * default: 10,000 models would make 10,000 time series per meter. Turn them on with {@link
 * Builder#perModelTags} for small fleets only.
 */
public final class FleetMetrics implements FleetListener {
  private final MeterRegistry registry;
  private final boolean perModel;
  private final Map<CallStatus, Counter> outcomes = new ConcurrentHashMap<>();
  private final Timer latency;
  private final Timer fanOuts;

  private FleetMetrics(Builder builder, ModelFleet fleet) {
    this.registry = builder.registry;
    this.perModel = builder.perModelTags;
    this.latency =
        Timer.builder("modelrunner.fleet.call.latency")
            .description("How long answered calls took")
            .publishPercentileHistogram()
            .register(registry);
    this.fanOuts =
        Timer.builder("modelrunner.fleet.fanout.duration")
            .description("How long fan-outs took, from start to their last outcome")
            .publishPercentileHistogram()
            .register(registry);
    Gauge.builder("modelrunner.fleet.models.connected", fleet, f -> f.connectedModelIds().size())
        .description("Models connected now")
        .register(registry);
  }

  /** Returns a builder that registers meters in {@code registry}. */
  public static Builder builder(MeterRegistry registry) {
    return new Builder(registry);
  }

  /** Binds {@code fleet} to {@code registry} with the defaults (no per-model tags). */
  public static FleetMetrics bind(ModelFleet fleet, MeterRegistry registry) {
    return builder(registry).bind(fleet);
  }

  /** Counts an event; called by the fleet. */
  @Override
  public void onEvent(FleetEvent event) {
    registry.counter("modelrunner.fleet.events", "kind", event.kind().name()).increment();
  }

  /** Counts a failure report sent to the directory; called by the fleet. */
  @Override
  public void onReport(FleetReport report) {
    registry
        .counter(
            "modelrunner.fleet.reports",
            "code",
            report.code(),
            "by",
            report.byCoordinator() ? "coordinator" : "policy")
        .increment();
  }

  /** Records a fan-out's outcomes and duration; called by the fleet. */
  @Override
  public void onFanOut(FanOutResult result) {
    fanOuts.record(result.elapsed());
    for (CallOutcome outcome : result.outcomes()) {
      if (perModel) {
        Tags tags = Tags.of("status", outcome.status().name(), "model", outcome.modelId());
        registry.counter("modelrunner.fleet.outcomes", tags).increment();
      } else {
        outcomes
            .computeIfAbsent(
                outcome.status(),
                status ->
                    Counter.builder("modelrunner.fleet.outcomes")
                        .description("Outcomes of calls, by status")
                        .tag("status", status.name())
                        .register(registry))
            .increment();
      }
      if (outcome.status() == CallStatus.SUCCESS || outcome.status() == CallStatus.FAILURE) {
        if (perModel) {
          registry
              .timer("modelrunner.fleet.call.latency", "model", outcome.modelId())
              .record(outcome.latencyMicros(), TimeUnit.MICROSECONDS);
        } else {
          latency.record(outcome.latencyMicros(), TimeUnit.MICROSECONDS);
        }
      }
    }
  }

  /** Configures the meters of a fleet. */
  public static final class Builder {
    private final MeterRegistry registry;
    private boolean perModelTags;

    private Builder(MeterRegistry registry) {
      this.registry = Objects.requireNonNull(registry, "registry");
    }

    /**
     * Tags the outcomes and the latency with each model's id. Off by default: one time series per
     * model and meter is too many for large fleets.
     */
    public Builder perModelTags(boolean enabled) {
      this.perModelTags = enabled;
      return this;
    }

    /** Registers the meters and starts listening to {@code fleet}. */
    public FleetMetrics bind(ModelFleet fleet) {
      FleetMetrics metrics = new FleetMetrics(this, Objects.requireNonNull(fleet, "fleet"));
      fleet.addListener(metrics);
      return metrics;
    }
  }
}
