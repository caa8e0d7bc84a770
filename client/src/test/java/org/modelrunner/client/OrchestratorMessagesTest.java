package org.modelrunner.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.modelrunner.client.OrchestratorMessages.Entry;
import org.modelrunner.client.OrchestratorMessages.Kind;
import org.modelrunner.client.OrchestratorMessages.Message;
import org.modelrunner.spi.ModelState;

/** The orchestrator's messages, read and written (PROTOCOL.md §3). */
class OrchestratorMessagesTest {
  private final List<String> problems = new ArrayList<>();

  private Entry entry(String json) throws Exception {
    return OrchestratorMessages.entry(OrchestratorMessages.JSON.readTree(json), 0, problems);
  }

  @Test
  void theProtocolsExampleEntry() throws Exception {
    Entry entry =
        entry(
            """
        {"deployment_id": "m1_20250915_143034_791", "model_id": "m1",
         "infos": {"model_name": "n", "cruncher_id": "c1", "cruncher_name": "carol",
                   "cruncher_wallet_pubkey": null, "cruncher_hotkey": null},
         "state": "RUNNING", "ip": "10.0.0.5", "port": 50051}""");

    assertThat(entry.endpoint().modelId()).isEqualTo("m1");
    assertThat(entry.endpoint().deploymentId()).isEqualTo("m1_20250915_143034_791");
    assertThat(entry.endpoint().address()).isEqualTo(URI.create("grpc://10.0.0.5:50051"));
    assertThat(entry.state()).isEqualTo(ModelState.RUNNING);
    assertThat(entry.ip().textValue()).isEqualTo("10.0.0.5");
    assertThat(entry.modelId().isTextual()).isTrue();
    assertThat(entry.endpoint().infos())
        .containsExactly(
            java.util.Map.entry("model_name", "n"),
            java.util.Map.entry("cruncher_id", "c1"),
            java.util.Map.entry("cruncher_name", "carol"),
            new java.util.AbstractMap.SimpleEntry<>("cruncher_wallet_pubkey", null),
            new java.util.AbstractMap.SimpleEntry<>("cruncher_hotkey", null));
    assertThat(problems).isEmpty();
  }

  @Test
  void idsMayBeNumbers() throws Exception {
    Entry entry =
        entry(
            """
        {"deployment_id": 123456789012345678901234, "model_id": 7, "state": "RUNNING",
         "ip": "10.0.0.5", "port": 1}""");

    assertThat(entry.endpoint().modelId()).isEqualTo("7");
    assertThat(entry.modelId().isIntegralNumber()).isTrue();
    assertThat(entry.endpoint().deploymentId()).isEqualTo("123456789012345678901234");
  }

  @Test
  void aPortIsANumberOrANumericStringFrom1To65535() throws Exception {
    String template =
        "{\"deployment_id\": \"d\", \"model_id\": \"m\", \"state\": \"RUNNING\", \"ip\": \"h\", \"port\": %s}";
    assertThat(entry(template.formatted("\"50051\"")).endpoint().address())
        .hasToString("grpc://h:50051");
    assertThat(entry(template.formatted("\" 8080 \"")).endpoint().address())
        .hasToString("grpc://h:8080");
    assertThat(entry(template.formatted("65535")).endpoint().address())
        .hasToString("grpc://h:65535");
    assertThat(entry(template.formatted("50051.0")).endpoint().address())
        .hasToString("grpc://h:50051");
    assertThat(problems).isEmpty();
    for (String bad : List.of("0", "65536", "-1", "\"abc\"", "\"\"", "1.5", "true", "[]")) {
      problems.clear();
      assertThat(entry(template.formatted(bad))).as(bad).isNull();
      assertThat(problems).as(bad).singleElement().asString().contains("no usable address");
    }
  }

  @Test
  void anIpMayBeAHostNameOrAnIpv6Literal() throws Exception {
    String template =
        "{\"deployment_id\": \"d\", \"model_id\": \"m\", \"state\": \"RECOVERING\", \"ip\": \"%s\", \"port\": 5}";
    assertThat(entry(template.formatted("model-1.svc.cluster.local")).endpoint().address())
        .hasToString("grpc://model-1.svc.cluster.local:5");
    assertThat(entry(template.formatted("my_container")).endpoint().address())
        .hasToString("grpc://my_container:5");
    Entry v6 = entry(template.formatted("2001:db8::1"));
    assertThat(v6.endpoint().address()).hasToString("grpc://[2001:db8::1]:5");
    assertThat(v6.endpoint().address().getHost()).isEqualTo("[2001:db8::1]");
    assertThat(v6.ip().textValue()).isEqualTo("2001:db8::1");
    assertThat(v6.state()).isEqualTo(ModelState.RECOVERING);
    String running = template.replace("RECOVERING", "RUNNING");
    for (String bad : List.of("", "a b", "a/b", "a?b", "user@host")) {
      problems.clear();
      assertThat(entry(running.formatted(bad))).as(bad).isNull();
      assertThat(problems).as(bad).singleElement().asString().contains("no usable address");
    }
  }

  @Test
  void onlyARunningEntryNeedsAnAddress() throws Exception {
    // The production orchestrator sends "ip": null while a model has no running task.
    Entry recovering =
        entry(
            "{\"deployment_id\": \"d\", \"model_id\": \"m\", \"state\": \"RECOVERING\", \"ip\": null, \"port\": 50051}");
    assertThat(recovering.state()).isEqualTo(ModelState.RECOVERING);
    assertThat(recovering.endpoint().address()).isEqualTo(OrchestratorMessages.NO_ADDRESS);
    assertThat(recovering.ip().isNull()).as("the ip as announced, for reports").isTrue();
    Entry stopped =
        entry(
            "{\"deployment_id\": \"d\", \"model_id\": \"m\", \"state\": \"STOPPED\", \"ip\": null, \"port\": 50051}");
    assertThat(stopped.state()).isEqualTo(ModelState.STOPPED);
    assertThat(stopped.ip().isNull()).isTrue();
    Entry bare =
        entry("{\"deployment_id\": \"d\", \"model_id\": \"m\", \"state\": \"RECOVERING\"}");
    assertThat(bare.ip()).as("no ip field at all").isNull();
    assertThat(problems).isEmpty();

    assertThat(
            entry(
                "{\"deployment_id\": \"d\", \"model_id\": \"m\", \"state\": \"RUNNING\", \"ip\": null, \"port\": 5}"))
        .isNull();
    assertThat(
            entry(
                "{\"deployment_id\": \"d\", \"model_id\": \"m\", \"state\": \"RUNNING\", \"ip\": \"\", \"port\": 5}"))
        .isNull();
    assertThat(problems).hasSize(2);
    assertThat(problems.get(0)).contains("missing ip");
    assertThat(problems.get(1)).contains("no usable address");
  }

  @Test
  void aReportCarriesANullIpAsNull() throws Exception {
    JsonNode report =
        OrchestratorMessages.JSON.readTree(
            OrchestratorMessages.report(
                OrchestratorMessages.text("m"), "MULTIPLE_TIMEOUT", "r", NullNode.getInstance()));
    JsonNode data = report.get("data").get(0);
    assertThat(data.has("ip")).isTrue();
    assertThat(data.get("ip").isNull()).isTrue();
  }

  @Test
  void aStoppedEntryNeedsOnlyItsIdsAndState() throws Exception {
    Entry bare = entry("{\"deployment_id\": \"d\", \"model_id\": \"m\", \"state\": \"STOPPED\"}");
    assertThat(bare.endpoint().address()).isEqualTo(URI.create("grpc://0.0.0.0:0"));
    assertThat(bare.state()).isEqualTo(ModelState.STOPPED);
    Entry zero =
        entry(
            "{\"deployment_id\": \"d\", \"model_id\": \"m\", \"state\": \"STOPPED\", \"ip\": \"\", \"port\": 0}");
    assertThat(zero.endpoint().address()).isEqualTo(URI.create("grpc://0.0.0.0:0"));
    Entry addressed =
        entry(
            "{\"deployment_id\": \"d\", \"model_id\": \"m\", \"state\": \"STOPPED\", \"ip\": \"10.0.0.5\", \"port\": 9}");
    assertThat(addressed.endpoint().address()).isEqualTo(URI.create("grpc://10.0.0.5:9"));
    assertThat(problems).isEmpty();
  }

  @Test
  void missingFieldsAreNamed() throws Exception {
    assertThat(entry("{\"model_id\": \"m\", \"state\": \"RUNNING\", \"port\": 5}")).isNull();
    assertThat(entry("{\"deployment_id\": null, \"model_id\": \"m\", \"state\": \"STOPPED\"}"))
        .isNull();
    assertThat(entry("{\"deployment_id\": \"d\", \"state\": \"STOPPED\"}")).isNull();
    assertThat(entry("{\"deployment_id\": \"d\", \"model_id\": \"m\"}")).isNull();

    assertThat(problems)
        .containsExactly(
            "entry 0 (model m) skipped: missing deployment_id, ip",
            "entry 0 (model m) skipped: missing deployment_id",
            "entry 0 (deployment d) skipped: missing model_id",
            "entry 0 (deployment d) skipped: missing state");
  }

  @Test
  void badFieldsAndUnknownStatesSkipTheEntry() throws Exception {
    String template =
        "{\"deployment_id\": \"d\", \"model_id\": %s, \"state\": %s, \"ip\": \"h\", \"port\": 5}";
    assertThat(entry(template.formatted("1.5", "\"RUNNING\""))).isNull();
    assertThat(entry(template.formatted("true", "\"RUNNING\""))).isNull();
    assertThat(entry(template.formatted("\" \"", "\"RUNNING\""))).isNull();
    assertThat(entry(template.formatted("\"m\"", "\"running\""))).isNull();
    assertThat(entry(template.formatted("\"m\"", "\"DELETED\""))).isNull();
    assertThat(entry(template.formatted("\"m\"", "3"))).isNull();
    assertThat(entry("[1]")).isNull();

    assertThat(problems).hasSize(7);
    assertThat(problems.get(0)).contains("invalid model_id 1.5");
    assertThat(problems.get(3))
        .isEqualTo("entry 0 (deployment d) skipped: unknown state \"running\"");
    assertThat(problems.get(4)).contains("unknown state \"DELETED\"");
    assertThat(problems.get(6)).contains("not an object");
  }

  @Test
  void infosValuesBecomeText() throws Exception {
    Entry entry =
        entry(
            """
        {"deployment_id": "d", "model_id": "m", "state": "RUNNING", "ip": "h", "port": 5,
         "infos": {"a": null, "b": "text", "c": 3, "d": true, "e": {"x": [1, "y"]}, "f": [], "g": 2.5}}""");

    assertThat(entry.endpoint().infos())
        .containsEntry("a", null)
        .containsEntry("b", "text")
        .containsEntry("c", "3")
        .containsEntry("d", "true")
        .containsEntry("e", "{\"x\":[1,\"y\"]}")
        .containsEntry("f", "[]")
        .containsEntry("g", "2.5");
    assertThat(
            entry(
                    "{\"deployment_id\": \"d\", \"model_id\": \"m\", \"state\": \"STOPPED\", \"infos\": null}")
                .endpoint()
                .infos())
        .isEmpty();
    Entry odd =
        entry(
            "{\"deployment_id\": \"d\", \"model_id\": \"m\", \"state\": \"STOPPED\", \"infos\": \"x\"}");
    assertThat(odd.endpoint().infos()).isEmpty();
    assertThat(problems).singleElement().asString().contains("infos ignored");
  }

  @Test
  void framesAreClassified() {
    assertThat(OrchestratorMessages.parse("{\"event\":\"init\",\"data\":[]}").kind())
        .isEqualTo(Kind.INIT);
    assertThat(OrchestratorMessages.parse("{\"event\":\"update\",\"data\":[]}").kind())
        .isEqualTo(Kind.UPDATE);
    Message error = OrchestratorMessages.parse("{\"error\":\"crunch_id required\"}");
    assertThat(error.kind()).isEqualTo(Kind.ERROR);
    assertThat(error.error()).isEqualTo("crunch_id required");
    assertThat(OrchestratorMessages.parse("{\"error\":{\"code\":4}}").error())
        .isEqualTo("{\"code\":4}");

    assertThat(invalid("")).startsWith("not JSON");
    assertThat(invalid("not json")).startsWith("not JSON");
    assertThat(invalid("{\"event\":\"init\",\"data\":[]} {}")).startsWith("not JSON");
    assertThat(invalid("[]")).isEqualTo("not a JSON object");
    assertThat(invalid("\"init\"")).isEqualTo("not a JSON object");
    assertThat(invalid("null")).isEqualTo("not a JSON object");
    assertThat(invalid("{\"data\":[]}")).isEqualTo("no \"event\"");
    assertThat(invalid("{\"event\":null,\"data\":[]}")).isEqualTo("no \"event\"");
    assertThat(invalid("{\"event\":1,\"data\":[]}")).isEqualTo("\"event\" is not a string");
    assertThat(invalid("{\"event\":\"INIT\",\"data\":[]}")).isEqualTo("unknown event 'INIT'");
    assertThat(invalid("{\"event\":\"init\"}")).isEqualTo("\"data\" is not a list");
    assertThat(invalid("{\"event\":\"update\",\"data\":null}")).isEqualTo("\"data\" is not a list");
    assertThat(invalid("{\"event\":\"update\",\"data\":{}}")).isEqualTo("\"data\" is not a list");
  }

  @Test
  void aBadEntryDoesNotSpoilTheOthers() {
    Message message =
        OrchestratorMessages.parse(
            """
        {"event": "init", "data": [
          {"deployment_id": "a", "model_id": "a", "state": "RUNNING", "ip": "h", "port": 1},
          {"deployment_id": "b", "model_id": "b", "state": "RUNNING", "ip": "", "port": 2},
          {"deployment_id": "c", "model_id": "c", "state": "RECOVERING", "ip": "h", "port": "3"}]}""");

    assertThat(message.kind()).isEqualTo(Kind.INIT);
    assertThat(message.entries())
        .extracting(e -> e.endpoint().deploymentId())
        .containsExactly("a", "c");
    assertThat(message.problems())
        .singleElement()
        .asString()
        .startsWith("entry 1 (deployment b) skipped");
  }

  @Test
  void aReportHasExactlyTheFourFields() throws Exception {
    String text =
        OrchestratorMessages.report(
            OrchestratorMessages.JSON.readTree("7"),
            "MULTIPLE_TIMEOUT",
            "slow \"x\"",
            OrchestratorMessages.text("::1"));

    assertThat(text)
        .isEqualTo(
            "{\"event\":\"report_failure\",\"data\":[{\"model_id\":7,\"failure_code\":\"MULTIPLE_TIMEOUT\","
                + "\"failure_reason\":\"slow \\\"x\\\"\",\"ip\":\"::1\"}]}");
    JsonNode textual =
        OrchestratorMessages.JSON.readTree(
            OrchestratorMessages.report(
                OrchestratorMessages.text("m1"),
                "LOW_PERFORMANCE",
                "",
                OrchestratorMessages.text("10.0.0.5")));
    assertThat(textual.at("/data/0/model_id").isTextual()).isTrue();
  }

  @Test
  void theReportedIpFallsBackToTheAddressHost() {
    assertThat(OrchestratorMessages.host(URI.create("grpc://10.0.0.5:50051")))
        .isEqualTo("10.0.0.5");
    assertThat(OrchestratorMessages.host(URI.create("grpc://[2001:db8::1]:50051")))
        .isEqualTo("2001:db8::1");
    assertThat(OrchestratorMessages.host(URI.create("grpc://my_container:50051")))
        .isEqualTo("my_container");
    assertThat(OrchestratorMessages.host(URI.create("inproc://alice"))).isEqualTo("alice");
    assertThat(OrchestratorMessages.host(URI.create("fake:alice"))).isEmpty();
  }

  @Test
  void anExcerptIsTheFirst200Characters() {
    assertThat(OrchestratorMessages.excerpt("short")).isEqualTo("short");
    String excerpt = OrchestratorMessages.excerpt("a".repeat(200) + "b".repeat(50));
    assertThat(excerpt).startsWith("a".repeat(200)).doesNotContain("b").endsWith("(250 chars)");
  }

  private static String invalid(String frame) {
    Message message = OrchestratorMessages.parse(frame);
    assertThat(message.kind()).as(frame).isEqualTo(Kind.INVALID);
    assertThat(message.entries()).isEmpty();
    return message.problems().get(0);
  }
}
