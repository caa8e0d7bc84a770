package org.modelrunner.transport.grpc;

import org.modelrunner.conformance.TransportConformanceSuite;
import org.modelrunner.conformance.TransportFixture;

/** The gRPC client transport with the gRPC runner passes the transport conformance suite. */
class GrpcTransportConformanceTest extends TransportConformanceSuite {
  @Override
  protected TransportFixture fixture() {
    return new GrpcRunnerFixture();
  }
}
