package org.modelrunner.fleetpage;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.modelrunner.client.FleetEvent;
import org.modelrunner.client.LatencyPercentiles;
import org.modelrunner.client.ModelStatus;
import org.modelrunner.spi.DirectoryStatus;

/**
 * Writes the page's JSON document: a summary, the directory's status, every model's status, and the
 * recent events. One pass of Jackson's streaming generator over the statuses, with no tree per
 * model: a few hundred bytes per model (4.7 MB for 10,000 models with two infos each).
 *
 * <p>Names follow the Java records ({@link ModelStatus}, {@link DirectoryStatus}, {@link
 * FleetEvent}); enum values are written by name, so a state added to the client shows up as it is.
 */
final class FleetDocument {
  private static final JsonFactory JSON = new JsonFactory();

  /**
   * The parts of one document.
   *
   * @param generatedAt when the statuses were read
   * @param models every model's status
   * @param directory the directory's link, if it has one
   * @param events the recent events and the removals
   * @param eventCapacity how many events the page keeps
   */
  record Parts(
      Instant generatedAt,
      List<ModelStatus> models,
      Optional<DirectoryStatus> directory,
      RecentEvents.View events,
      int eventCapacity) {}

  private FleetDocument() {}

  /** Returns the document as UTF-8 JSON on one line (no line breaks, as a server-sent event). */
  static byte[] write(Parts parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(1024 + 320 * parts.models().size());
    try (JsonGenerator json = JSON.createGenerator(out)) {
      json.writeStartObject();
      json.writeStringField("generatedAt", parts.generatedAt().toString());
      writeSummary(json, parts.models());
      writeDirectory(json, parts.directory());
      json.writeArrayFieldStart("models");
      Map<String, RecentEvents.Recorded> removals = parts.events().removals();
      for (ModelStatus status : parts.models()) {
        writeModel(json, status, removals.get(status.modelId()));
      }
      json.writeEndArray();
      json.writeObjectFieldStart("events");
      json.writeNumberField("received", parts.events().received());
      json.writeNumberField("capacity", parts.eventCapacity());
      json.writeArrayFieldStart("recent");
      for (RecentEvents.Recorded recorded : parts.events().recent()) {
        writeEvent(json, recorded);
      }
      json.writeEndArray();
      json.writeEndObject();
      json.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write the fleet document", e);
    }
    return out.toByteArray();
  }

  private static void writeSummary(JsonGenerator json, List<ModelStatus> models)
      throws IOException {
    Map<String, Integer> states = new TreeMap<>();
    long calls = 0;
    long successes = 0;
    long failures = 0;
    long timeouts = 0;
    long skipped = 0;
    int inCooldown = 0;
    for (ModelStatus status : models) {
      states.merge(status.state().name(), 1, Integer::sum);
      ModelStatus.Counts counts = status.counts();
      calls += counts.calls();
      successes += counts.successes();
      failures += counts.failures();
      timeouts += counts.timeouts();
      skipped += counts.skipped();
      if (status.cooldown() > 0) {
        inCooldown++;
      }
    }
    json.writeObjectFieldStart("summary");
    json.writeNumberField("models", models.size());
    json.writeObjectFieldStart("states");
    for (Map.Entry<String, Integer> state : states.entrySet()) {
      json.writeNumberField(state.getKey(), state.getValue());
    }
    json.writeEndObject();
    json.writeNumberField("calls", calls);
    json.writeNumberField("successes", successes);
    json.writeNumberField("failures", failures);
    json.writeNumberField("timeouts", timeouts);
    json.writeNumberField("skipped", skipped);
    json.writeNumberField("inCooldown", inCooldown);
    json.writeEndObject();
  }

  private static void writeDirectory(JsonGenerator json, Optional<DirectoryStatus> directory)
      throws IOException {
    if (directory.isEmpty()) {
      json.writeNullField("directory");
      return;
    }
    DirectoryStatus status = directory.get();
    json.writeObjectFieldStart("directory");
    json.writeStringField("state", status.state().name());
    json.writeStringField("since", status.since().toString());
    json.writeNumberField("failedAttempts", status.failedAttempts());
    writeOptional(json, "lastError", status.lastError());
    json.writeEndObject();
  }

  private static void writeModel(
      JsonGenerator json, ModelStatus status, RecentEvents.Recorded removal) throws IOException {
    json.writeStartObject();
    json.writeStringField("modelId", status.modelId());
    json.writeStringField("deploymentId", status.deploymentId());
    json.writeStringField("address", status.model().address().toString());
    json.writeObjectFieldStart("infos");
    for (Map.Entry<String, String> info : status.infos().entrySet()) {
      json.writeStringField(info.getKey(), info.getValue());
    }
    json.writeEndObject();
    json.writeStringField("state", status.state().name());
    json.writeNumberField("consecutiveFailures", status.consecutiveFailures());
    json.writeNumberField("consecutiveTimeouts", status.consecutiveTimeouts());
    json.writeNumberField("cooldown", status.cooldown());
    json.writeNumberField("ejections", status.ejections());
    if (status.ejectedUntil().isPresent()) {
      json.writeStringField("ejectedUntil", status.ejectedUntil().get().toString());
    } else {
      json.writeNullField("ejectedUntil");
    }
    ModelStatus.Counts counts = status.counts();
    json.writeObjectFieldStart("counts");
    json.writeNumberField("calls", counts.calls());
    json.writeNumberField("successes", counts.successes());
    json.writeNumberField("failures", counts.failures());
    json.writeNumberField("timeouts", counts.timeouts());
    json.writeNumberField("skipped", counts.skipped());
    json.writeEndObject();
    LatencyPercentiles latency = status.latency();
    json.writeObjectFieldStart("latency");
    json.writeNumberField("count", latency.count());
    json.writeNumberField("p50Micros", latency.p50Micros());
    json.writeNumberField("p90Micros", latency.p90Micros());
    json.writeNumberField("p99Micros", latency.p99Micros());
    json.writeNumberField("maxMicros", latency.maxMicros());
    json.writeEndObject();
    writeOptional(json, "lastError", status.lastError());
    if (removal == null) {
      json.writeNullField("removal");
    } else {
      json.writeObjectFieldStart("removal");
      json.writeStringField("kind", removal.event().kind().name());
      json.writeStringField("code", removal.event().code());
      json.writeStringField("reason", removal.event().reason());
      json.writeStringField("time", removal.time().toString());
      json.writeEndObject();
    }
    json.writeEndObject();
  }

  private static void writeEvent(JsonGenerator json, RecentEvents.Recorded recorded)
      throws IOException {
    FleetEvent event = recorded.event();
    json.writeStartObject();
    json.writeNumberField("sequence", recorded.sequence());
    json.writeStringField("time", recorded.time().toString());
    json.writeStringField("kind", event.kind().name());
    json.writeStringField("modelId", event.modelId());
    json.writeStringField("deploymentId", event.model().deploymentId());
    json.writeStringField("address", event.model().address().toString());
    json.writeStringField("code", event.code());
    json.writeStringField("reason", event.reason());
    json.writeEndObject();
  }

  private static void writeOptional(JsonGenerator json, String name, Optional<String> value)
      throws IOException {
    if (value.isPresent()) {
      json.writeStringField(name, value.get());
    } else {
      json.writeNullField(name);
    }
  }
}
