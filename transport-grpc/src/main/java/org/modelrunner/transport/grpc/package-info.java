/**
 * The gRPC transport: the client transport for {@code grpc://host:port} endpoints (this artifact,
 * {@code model-runner-transport-grpc}), and the runner server that serves one submitted model with
 * the Python ecosystem's protocol ({@code dynamic_subclass.DynamicSubclassService} and {@code
 * grpc.health.v1.Health}; the artifact {@code model-runner-grpc-runner}, which shares this
 * package). The generated protocol classes live in {@code org.modelrunner.transport.grpc.proto}.
 */
package org.modelrunner.transport.grpc;
