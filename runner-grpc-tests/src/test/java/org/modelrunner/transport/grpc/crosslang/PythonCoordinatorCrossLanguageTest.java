package org.modelrunner.transport.grpc.crosslang;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.modelrunner.transport.grpc.GrpcRunner;

/**
 * A Python coordinator, {@code src/test/python/call_runner.py} with the stubs Debian's protoc
 * generates from our protos, drives our Java {@link GrpcRunner}: health, setup, calls with every
 * value type both ways, argument rules, failures as statuses, one request at a time, reset. The
 * script checks every answer itself and prints them; this test checks its verdict and the answers
 * that matter most again.
 */
class PythonCoordinatorCrossLanguageTest {
  static final String BASE = "org.modelrunner.transport.grpc.crosslang.fixtures.TickerBase";

  /** The model call_runner.py expects (its docstring lists the same methods). */
  static final String MODEL =
      """
      package com.example.crosslang;
      import java.util.LinkedHashMap;
      import java.util.Map;
      public class Model extends org.modelrunner.transport.grpc.crosslang.fixtures.TickerBase {
        private double price = Double.NaN;
        private long ticks;
        @Override public void tick(Map<String, Object> data) {
          price = ((Number) data.get("price")).doubleValue();
          ticks++;
        }
        @Override public double predict() { return price; }
        public long ticks() { return ticks; }
        public boolean ready() { return ticks > 0; }
        public String greet(String name) { return "hello " + name; }
        public double scale(double factor, long times) { return factor * times; }
        public Map<String, Object> snapshot() {
          Map<String, Object> map = new LinkedHashMap<>();
          map.put("price", price);
          map.put("ticks", ticks);
          map.put("gap", Double.NaN);
          map.put("up", Double.POSITIVE_INFINITY);
          map.put("down", Double.NEGATIVE_INFINITY);
          return map;
        }
        public void explode() { throw new IllegalStateException("boom from Java"); }
        public void sleep(long millis) throws InterruptedException { Thread.sleep(millis); }
      }
      """;

  @BeforeEach
  void python() {
    PythonPeer.require();
  }

  @Test
  void a_python_coordinator_drives_the_java_runner(@TempDir Path dir) throws Exception {
    Path submission =
        Sources.create()
            .add("com.example.crosslang.Model", MODEL)
            .compileTo(dir.resolve("submission"));
    try (GrpcRunner runner =
        GrpcRunner.builder().submission(submission).host("127.0.0.1").port(0).build()) {
      runner.start();
      PythonPeer.Finished run =
          PythonPeer.runScript("call_runner.py", "127.0.0.1:" + runner.port(), BASE);

      assertThat(run.exitCode()).as("call_runner.py: %s", run).isZero();
      JsonNode out = run.json();
      assertThat(out.get("ok").asBoolean()).as("%s", run).isTrue();
      assertThat(out.get("mismatches")).as("%s", run).isEmpty();
      JsonNode results = out.get("results");

      assertThat(results.at("/health/status").asText()).isEqualTo("SERVING");
      assertThat(results.at("/health_unknown_service/grpc").asText()).isEqualTo("NOT_FOUND");
      assertStatus(
          results, "call_before_setup", "FAILED_PRECONDITION", "Setup has not been called yet");
      assertStatus(results, "setup_empty", "INVALID_ARGUMENT", "class_name cannot be empty");
      assertStatus(results, "setup", "SUCCESS", "Instance created successfully");
      assertStatus(results, "setup_again", "SUCCESS", "Instance already exists");
      assertStatus(results, "call_empty_method", "INVALID_ARGUMENT", "methodName cannot be empty");

      assertStatus(results, "tick", "SUCCESS", "");
      assertThat(results.at("/tick/argument").asText())
          .isEqualTo("{\"price\": 101.5, \"volume\": NaN, \"symbol\": \"BTC\"}");
      assertThat(results.at("/tick/has_value").asBoolean()).isFalse();
      assertValue(results, "predict", "DOUBLE", "0000000000605940");
      assertThat(results.at("/predict/value").asDouble()).isEqualTo(101.5);
      assertValue(results, "ticks", "INT", "0100000000000000");
      assertValue(results, "ready", "INT", "0100000000000000");
      assertThat(results.at("/greet/type").asText()).isEqualTo("STRING");
      assertThat(results.at("/greet/value").asText()).isEqualTo("hello Zoë");
      assertThat(results.at("/snapshot/type").asText()).isEqualTo("JSON");
      assertThat(results.at("/snapshot/value").asText()).contains("NaN", "Infinity", "-Infinity");
      assertValue(results, "scale_positional", "DOUBLE", "0000000000001e40");
      assertThat(results.at("/scale_keywords/value").asDouble()).isEqualTo(8.0);

      assertStatus(
          results,
          "unknown_method",
          "BAD_IMPLEMENTATION",
          "Method \"nope\" not found in class \"Model\"");
      assertStatus(
          results,
          "raises",
          "MODEL_FAILED",
          "The model raised an exception: java.lang.IllegalStateException: boom from Java");

      assertThat(results.at("/busy/grpc").asText()).isEqualTo("RESOURCE_EXHAUSTED");
      assertThat(results.at("/busy/details").asText()).isEqualTo("Server busy");
      assertThat(results.at("/health_during_call/status").asText()).isEqualTo("SERVING");
      assertThat(results.at("/health_during_call/call_still_running").asBoolean()).isTrue();

      assertStatus(results, "reset", "SUCCESS", "Instance successfully reset");
      assertStatus(results, "reset_again", "SUCCESS", "No instance exists to reset");
      assertStatus(
          results, "call_after_reset", "FAILED_PRECONDITION", "Setup has not been called yet");
      assertStatus(results, "setup_after_reset", "SUCCESS", "Instance created successfully");
      assertValue(results, "ticks_after_reset", "INT", "0000000000000000");
    }
  }

  private static void assertStatus(JsonNode results, String name, String code, String message) {
    assertThat(results.path(name).path("code").asText())
        .as("%s: %s", name, results.path(name))
        .isEqualTo(code);
    assertThat(results.path(name).path("message").asText())
        .as("%s: %s", name, results.path(name))
        .isEqualTo(message);
  }

  private static void assertValue(JsonNode results, String name, String type, String hex) {
    assertStatus(results, name, "SUCCESS", "");
    assertThat(results.path(name).path("type").asText())
        .as("%s: %s", name, results.path(name))
        .isEqualTo(type);
    assertThat(results.path(name).path("hex").asText())
        .as("%s: %s", name, results.path(name))
        .isEqualTo(hex);
  }
}
