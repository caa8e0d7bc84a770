/**
 * The coordinator's client: a {@link org.modelrunner.client.ModelFleet} follows a {@link
 * org.modelrunner.spi.ModelDirectory}, connects to each model it lists through the transport that
 * serves the endpoint's scheme (found with {@link java.util.ServiceLoader}), and fans calls out to
 * all of them at once with one deadline. Every targeted model gets exactly one {@link
 * org.modelrunner.client.CallOutcome}; models that keep failing or timing out are disconnected and
 * reported. {@link org.modelrunner.client.OrchestratorDirectory} follows the Model Orchestrator's
 * WebSocket, so that the fleet keeps up with models joining, being redeployed, restarting and
 * leaving. This package depends on the SPI only: it never sees gRPC or any other transport's types.
 */
package org.modelrunner.client;
