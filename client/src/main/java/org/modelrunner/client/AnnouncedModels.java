package org.modelrunner.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.modelrunner.spi.ModelEndpoint;

/**
 * Translates between the orchestrator's names for an {@link OrchestratorDirectory}'s models and the
 * client's endpoints, both ways. Inbound, an entry becomes its endpoint with the configured scheme.
 * Outbound, a failure report repeats what the orchestrator last announced: the {@code model_id}
 * with its JSON type (a string or a number) and the {@code ip} exactly as sent, JSON null included,
 * since the orchestrator matches both strictly (a wrong ip makes it drop the rest of its pass). An
 * init forgets the models and deployments it no longer lists; reports already queued carry their
 * own copy. Thread-safe: the directory's thread takes entries in, any thread reports.
 */
final class AnnouncedModels {
  private final String endpointScheme;

  /** The model id as the orchestrator sent it (a string or a number), by its text. */
  private final Map<String, JsonNode> modelIds = new ConcurrentHashMap<>();

  /** The ip the orchestrator last announced (a string or JSON null), by deployment id. */
  private final Map<String, JsonNode> ips = new ConcurrentHashMap<>();

  /**
   * @param endpointScheme the scheme of the endpoints handed on, which picks their transport
   */
  AnnouncedModels(String endpointScheme) {
    this.endpointScheme = endpointScheme;
  }

  /** Forgets the models and deployments that an init's entries do not list. */
  void retainListed(List<OrchestratorMessages.Entry> entries) {
    Set<String> listedModels = new HashSet<>();
    Set<String> listedDeployments = new HashSet<>();
    for (OrchestratorMessages.Entry entry : entries) {
      listedModels.add(entry.endpoint().modelId());
      listedDeployments.add(entry.endpoint().deploymentId());
    }
    modelIds.keySet().retainAll(listedModels);
    ips.keySet().retainAll(listedDeployments);
  }

  /**
   * Takes an entry in: remembers how it names its model (and its ip, if it has one), and returns
   * its endpoint with the configured scheme.
   */
  ModelEndpoint endpoint(OrchestratorMessages.Entry entry) {
    ModelEndpoint endpoint = entry.endpoint();
    modelIds.put(endpoint.modelId(), entry.modelId());
    if (entry.ip() != null) {
      ips.put(endpoint.deploymentId(), entry.ip());
    }
    if (endpointScheme.equals(endpoint.address().getScheme())) {
      return endpoint;
    }
    return new ModelEndpoint(
        endpoint.modelId(),
        endpoint.deploymentId(),
        URI.create(endpointScheme + "://" + endpoint.address().getRawAuthority()),
        endpoint.infos());
  }

  /**
   * Returns a failure report of the endpoint's deployment, naming it as last announced; a model or
   * deployment not announced (or forgotten) is named by its id as a string and its address's host.
   *
   * @param reason the reason; null for none
   */
  ReportQueue.Report report(ModelEndpoint endpoint, String failureCode, String reason) {
    JsonNode modelId =
        modelIds.getOrDefault(endpoint.modelId(), OrchestratorMessages.text(endpoint.modelId()));
    JsonNode ip = ips.get(endpoint.deploymentId());
    if (ip == null) {
      ip = OrchestratorMessages.text(OrchestratorMessages.host(endpoint.address()));
    }
    String why = reason == null ? "" : reason;
    return new ReportQueue.Report(
        endpoint.modelId(),
        endpoint.deploymentId(),
        failureCode,
        why,
        OrchestratorMessages.report(modelId, failureCode, why, ip));
  }
}
