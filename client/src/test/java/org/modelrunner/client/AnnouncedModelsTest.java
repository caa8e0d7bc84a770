package org.modelrunner.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.modelrunner.spi.ModelEndpoint;

/** Entries in as endpoints with the configured scheme, reports out as the orchestrator named. */
class AnnouncedModelsTest {
  private static List<OrchestratorMessages.Entry> entries(String data) {
    OrchestratorMessages.Message message =
        OrchestratorMessages.parse("{\"event\":\"init\",\"data\":" + data + "}");
    assertThat(message.problems()).isEmpty();
    return message.entries();
  }

  private static JsonNode reported(ReportQueue.Report report) throws Exception {
    return OrchestratorMessages.JSON.readTree(report.text()).get("data").get(0);
  }

  @Test
  void aReportRepeatsTheModelIdsTypeAndTheIpAsLastAnnounced() throws Exception {
    AnnouncedModels announced = new AnnouncedModels("grpc");
    List<OrchestratorMessages.Entry> init =
        entries(
            """
            [{"deployment_id": "7_d1", "model_id": 7, "state": "RUNNING", "ip": "10.0.0.7", "port": 1},
             {"deployment_id": "m_d1", "model_id": "m", "state": "RECOVERING", "ip": null, "port": 2}]""");
    announced.retainListed(init);
    ModelEndpoint seven = announced.endpoint(init.get(0));
    ModelEndpoint m = announced.endpoint(init.get(1));

    JsonNode sevenReport = reported(announced.report(seven, "MULTIPLE_FAILED", null));
    assertThat(sevenReport.get("model_id").isIntegralNumber()).isTrue();
    assertThat(sevenReport.get("ip").textValue()).isEqualTo("10.0.0.7");
    assertThat(sevenReport.get("failure_reason").textValue()).isEmpty();
    JsonNode mReport = reported(announced.report(m, "MULTIPLE_TIMEOUT", "slow"));
    assertThat(mReport.get("model_id").textValue()).isEqualTo("m");
    assertThat(mReport.get("ip").isNull()).as("null, as announced").isTrue();
  }

  @Test
  void anInitForgetsWhatItNoLongerLists() throws Exception {
    AnnouncedModels announced = new AnnouncedModels("grpc");
    List<OrchestratorMessages.Entry> first =
        entries(
            """
            [{"deployment_id": "7_d1", "model_id": 7, "state": "RUNNING", "ip": "model-7", "port": 1}]""");
    announced.retainListed(first);
    ModelEndpoint seven = announced.endpoint(first.get(0));

    announced.retainListed(entries("[]"));

    JsonNode report = reported(announced.report(seven, "MULTIPLE_FAILED", "gone"));
    assertThat(report.get("model_id").textValue()).as("a string once forgotten").isEqualTo("7");
    assertThat(report.get("ip").textValue()).as("the address's host").isEqualTo("model-7");
  }

  @Test
  void endpointsGetTheConfiguredScheme() {
    List<OrchestratorMessages.Entry> init =
        entries(
            """
            [{"deployment_id": "m_d1", "model_id": "m", "state": "RUNNING", "ip": "10.0.0.5", "port": 50051}]""");

    ModelEndpoint grpc = new AnnouncedModels("grpc").endpoint(init.get(0));
    ModelEndpoint simulated = new AnnouncedModels("simulated").endpoint(init.get(0));

    assertThat(grpc).isSameAs(init.get(0).endpoint());
    assertThat(simulated.address()).hasToString("simulated://10.0.0.5:50051");
    assertThat(simulated.deploymentId()).isEqualTo("m_d1");
  }
}
