package org.modelrunner.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.modelrunner.loader.RunnerCore;
import org.modelrunner.spi.Reply;

/**
 * A runner's meters in a Micrometer {@link MeterRegistry}, as the {@link RunnerCore.Observer} of
 * its core:
 *
 * <pre>{@code
 * GrpcRunner.builder().submission(path).observer(RunnerMetrics.of(registry)).build().start();
 * }</pre>
 *
 * <table>
 *   <caption>Meters</caption>
 *   <tr><th>name</th><th>type</th><th>tags</th><th>what</th></tr>
 *   <tr><td>{@code modelrunner.runner.requests}</td><td>counter</td>
 *       <td>{@code request}, {@code status}</td>
 *       <td>requests that reached the model ({@code setup}, {@code call}, {@code rest}), by the
 *       protocol's status code; setups are the setup outcomes</td></tr>
 *   <tr><td>{@code modelrunner.runner.request.duration}</td><td>timer (histogram)</td>
 *       <td>{@code request}</td><td>how long the model took</td></tr>
 *   <tr><td>{@code modelrunner.runner.refused}</td><td>counter</td><td>{@code reason}</td>
 *       <td>requests refused before the model: {@code busy} (Server busy), {@code not_serving}</td>
 *   </tr>
 *   <tr><td>{@code modelrunner.runner.time.limits}</td><td>counter</td><td>{@code request}</td>
 *       <td>requests answered at their time limit while the model went on</td></tr>
 * </table>
 */
public final class RunnerMetrics implements RunnerCore.Observer {
  private final MeterRegistry registry;
  private final Map<RunnerCore.Request, Timer> durations = new EnumMap<>(RunnerCore.Request.class);

  private RunnerMetrics(MeterRegistry registry) {
    this.registry = registry;
    for (RunnerCore.Request request : RunnerCore.Request.values()) {
      durations.put(
          request,
          Timer.builder("modelrunner.runner.request.duration")
              .description("How long the model took")
              .tag("request", label(request))
              .publishPercentileHistogram()
              .register(registry));
    }
  }

  /** Returns an observer that registers the runner's meters in {@code registry}. */
  public static RunnerMetrics of(MeterRegistry registry) {
    return new RunnerMetrics(Objects.requireNonNull(registry, "registry"));
  }

  @Override
  public void ran(RunnerCore.Request request, Reply reply, long nanos) {
    registry
        .counter(
            "modelrunner.runner.requests",
            "request",
            label(request),
            "status",
            reply.status().code())
        .increment();
    durations.get(request).record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void refused(RunnerCore.Refusal refusal) {
    registry
        .counter(
            "modelrunner.runner.refused",
            "reason",
            refusal == RunnerCore.Refusal.BUSY ? "busy" : "not_serving")
        .increment();
  }

  @Override
  public void timeLimitReached(RunnerCore.TimeLimit limit) {
    registry.counter("modelrunner.runner.time.limits", "request", limit.label()).increment();
  }

  private static String label(RunnerCore.Request request) {
    return request.name().toLowerCase(java.util.Locale.ROOT);
  }
}
