package org.modelrunner.spi;

import java.net.URI;
import java.util.Map;
import java.util.Objects;

/**
 * One deployment of a model, as a {@link ModelDirectory} announces it: the model's stable id, the
 * id of this deployment (new for every new submission of the model), where it can be reached, and
 * descriptive information (model name, cruncher name…; values may be null).
 *
 * @param modelId the model's id, stable across deployments
 * @param deploymentId this deployment's id
 * @param address the endpoint, such as {@code grpc://10.0.0.5:50051} or {@code inproc://alice}
 * @param infos descriptive information; never null, values may be null
 */
public record ModelEndpoint(
    String modelId, String deploymentId, URI address, Map<String, String> infos) {
  /**
   * Creates the endpoint; {@code infos} is copied (null values are kept).
   *
   * @throws NullPointerException if modelId, deploymentId or address is null
   */
  public ModelEndpoint {
    Objects.requireNonNull(modelId, "modelId");
    Objects.requireNonNull(deploymentId, "deploymentId");
    Objects.requireNonNull(address, "address");
    infos =
        infos == null
            ? Map.of()
            : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(infos));
  }

  /** Returns an endpoint whose deployment id is the model id and that has no infos. */
  public static ModelEndpoint of(String modelId, URI address) {
    return new ModelEndpoint(modelId, modelId, address, Map.of());
  }
}
