package org.modelrunner.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.modelrunner.loader.HostedModel;
import org.modelrunner.loader.RunnerCore;
import org.modelrunner.spi.Arguments;

class RunnerMetricsTest {
  @Test
  void countsRequestsByStatusDurationsAndRefusals() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (HostedModel model = HostedModel.forImplementation(TestModels.Answering.class)) {
      RunnerCore core = RunnerCore.builder(model).observer(RunnerMetrics.of(registry)).build();

      RunnerCore.Claim setup = core.claim();
      setup.setup(TestModels.Base.class.getName(), Arguments.none());
      RunnerCore.Claim busy = core.claim();
      setup.release();
      RunnerCore.Claim call = core.claim();
      call.call("predict", Arguments.none());
      call.release();
      RunnerCore.Claim missing = core.claim();
      missing.call("nope", Arguments.none());
      missing.release();

      assertThat(busy.isGranted()).isFalse();
      assertThat(
              registry
                  .counter("modelrunner.runner.requests", "request", "setup", "status", "SUCCESS")
                  .count())
          .isEqualTo(1);
      assertThat(
              registry
                  .counter("modelrunner.runner.requests", "request", "call", "status", "SUCCESS")
                  .count())
          .isEqualTo(1);
      assertThat(
              registry
                  .counter(
                      "modelrunner.runner.requests",
                      "request",
                      "call",
                      "status",
                      "BAD_IMPLEMENTATION")
                  .count())
          .isEqualTo(1);
      assertThat(registry.counter("modelrunner.runner.refused", "reason", "busy").count())
          .isEqualTo(1);
      assertThat(
              registry
                  .get("modelrunner.runner.request.duration")
                  .tag("request", "call")
                  .timer()
                  .count())
          .isEqualTo(2);
    }
  }
}
