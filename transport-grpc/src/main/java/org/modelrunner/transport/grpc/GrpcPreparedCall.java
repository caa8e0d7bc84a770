package org.modelrunner.transport.grpc;

import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.PreparedCall;
import org.modelrunner.transport.grpc.proto.CallRequest;

/**
 * A call prepared by a {@link GrpcTransport}: the request message, built once and sent as is on
 * every connection of a fan-out (protobuf messages are immutable, and cache their serialized size).
 *
 * @param methodName the method to call
 * @param arguments the arguments
 * @param request the request message
 */
record GrpcPreparedCall(String methodName, Arguments arguments, CallRequest request)
    implements PreparedCall {
  @Override
  public String toString() {
    return "GrpcPreparedCall{" + methodName + ", " + request.getSerializedSize() + " bytes}";
  }
}
