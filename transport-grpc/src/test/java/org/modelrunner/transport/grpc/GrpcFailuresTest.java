package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.net.ConnectException;
import org.junit.jupiter.api.Test;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.TransportException.Kind;

/** Messages and kinds made from gRPC statuses. */
class GrpcFailuresTest {
  @Test
  void busyIsToldFromOtherResourceExhaustion() {
    assertThat(GrpcFailures.kindOf(Status.RESOURCE_EXHAUSTED.withDescription("Server busy")))
        .isEqualTo(Kind.BUSY);
    assertThat(
            GrpcFailures.kindOf(
                Status.RESOURCE_EXHAUSTED.withDescription("server BUSY, try later")))
        .isEqualTo(Kind.BUSY);
    assertThat(
            GrpcFailures.kindOf(
                Status.RESOURCE_EXHAUSTED.withDescription("gRPC message exceeds maximum size")))
        .isEqualTo(Kind.MESSAGE_TOO_LARGE);
    assertThat(GrpcFailures.kindOf(Status.RESOURCE_EXHAUSTED)).isEqualTo(Kind.MESSAGE_TOO_LARGE);
  }

  @Test
  void theMessageSaysWhatFailedWhereAndWhy() {
    TransportException failure =
        GrpcFailures.of(
            Status.UNAVAILABLE
                .withDescription("io exception")
                .withCause(
                    new RuntimeException(
                        "Connection refused: /127.0.0.1:1234",
                        new ConnectException("Connection refused"))),
            "setup",
            "grpc://127.0.0.1:1234");
    assertThat(failure.kind()).isEqualTo(Kind.UNAVAILABLE);
    assertThat(failure.getMessage())
        .isEqualTo("setup on grpc://127.0.0.1:1234: UNAVAILABLE: Connection refused");
    assertThat(failure.getCause()).isInstanceOf(RuntimeException.class);

    assertThat(GrpcFailures.of(Status.INTERNAL, "call x", "grpc://h:1").getMessage())
        .isEqualTo("call x on grpc://h:1: INTERNAL: (no description)");
    assertThat(
            GrpcFailures.describe(
                Status.UNAVAILABLE
                    .withDescription("Unable to resolve host h")
                    .withCause(new java.net.UnknownHostException("h: Name or service not known"))))
        .isEqualTo("Unable to resolve host h: h: Name or service not known");
  }
}
