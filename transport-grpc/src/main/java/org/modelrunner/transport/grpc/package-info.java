/**
 * The gRPC transport: the runner server that serves one submitted model with the Python ecosystem's
 * protocol ({@code dynamic_subclass.DynamicSubclassService} and {@code grpc.health.v1.Health}), and
 * the client transport for {@code grpc://host:port} endpoints. The generated protocol classes live
 * in {@code org.modelrunner.transport.grpc.proto}.
 */
package org.modelrunner.transport.grpc;
