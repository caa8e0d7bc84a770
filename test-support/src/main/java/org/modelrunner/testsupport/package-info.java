/**
 * Helpers shared by the project's tests: {@link org.modelrunner.testsupport.JavaSources} compiles
 * test submissions, {@link org.modelrunner.testsupport.Gate} holds a model call open, {@link
 * org.modelrunner.testsupport.ForwardingConnection} forwards a model connection's requests, {@link
 * org.modelrunner.testsupport.SharedVectors} finds the shared test vectors, and {@link
 * org.modelrunner.testsupport.FakeOrchestrator} is a scriptable Model Orchestrator (a WebSocket
 * server on the loopback interface) for testing the client's orchestrator directory.
 */
package org.modelrunner.testsupport;
