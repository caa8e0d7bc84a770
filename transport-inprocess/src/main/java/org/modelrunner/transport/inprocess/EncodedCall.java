package org.modelrunner.transport.inprocess;

import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.PreparedCall;

/**
 * A call prepared by {@link InProcessTransport#prepare}: the method name and arguments, and the
 * request encoded once, whose bytes every model of a fan-out shares (they are never modified; each
 * runner decodes its own copy of the values).
 */
final class EncodedCall implements PreparedCall {
  private final String methodName;
  private final Arguments arguments;
  final byte[] request;

  EncodedCall(String methodName, Arguments arguments, byte[] request) {
    this.methodName = methodName;
    this.arguments = arguments;
    this.request = request;
  }

  @Override
  public String methodName() {
    return methodName;
  }

  @Override
  public Arguments arguments() {
    return arguments;
  }

  @Override
  public String toString() {
    return "EncodedCall{" + methodName + ", " + request.length + " bytes}";
  }
}
