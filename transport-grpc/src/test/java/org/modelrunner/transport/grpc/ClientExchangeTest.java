package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ClientStreamTracer;
import io.grpc.Metadata;
import org.junit.jupiter.api.Test;

/** What an exchange knows of its request's attempts. */
class ClientExchangeTest {
  @Test
  void aRequestRetriedAfterItsStreamWasRefusedIsNotSentUntilTheRetryFindsATransport() {
    ClientExchange<Object, Object, Object> exchange =
        new ClientExchange<>(null, false, "call", "x", 1_000_000_000L, null);
    CallOptions options = CallOptions.DEFAULT.withOption(ClientExchange.KEY, exchange);

    ClientStreamTracer first = tracer(options, 0, false);
    assertThat(exchange.sent()).as("waiting for a transport").isFalse();
    first.streamCreated(Attributes.EMPTY, new Metadata());
    assertThat(exchange.sent()).isTrue();

    // The runner's transport was closing and refused the stream: gRPC retries it transparently,
    // and the retry waits for a new connection, which the stopped runner refuses.
    ClientStreamTracer retry = tracer(options, 1, true);
    assertThat(exchange.sent())
        .as("a deadline now means the runner could not be reached, not that it did not answer")
        .isFalse();
    retry.streamCreated(Attributes.EMPTY, new Metadata());
    assertThat(exchange.sent()).isTrue();
  }

  private static ClientStreamTracer tracer(
      CallOptions options, int previousAttempts, boolean transparentRetry) {
    return ClientExchange.SENT_MARKER.newClientStreamTracer(
        ClientStreamTracer.StreamInfo.newBuilder()
            .setCallOptions(options)
            .setPreviousAttempts(previousAttempts)
            .setIsTransparentRetry(transparentRetry)
            .build(),
        new Metadata());
  }
}
