package org.modelrunner.transport.inprocess;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.modelrunner.transport.inprocess.TestModels.BASE;
import static org.modelrunner.transport.inprocess.TestModels.TIMEOUT;
import static org.modelrunner.transport.inprocess.TestModels.await;
import static org.modelrunner.transport.inprocess.TestModels.call;
import static org.modelrunner.transport.inprocess.TestModels.failure;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.PreparedCall;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.TransportSettings;
import org.modelrunner.spi.Variant;
import org.modelrunner.spi.VariantType;

/**
 * Requests and replies really travel as bytes (unless a runner opts into zero-copy), within the
 * message size limits of both sides; malformed bytes fail one request and nothing else.
 */
@ExtendWith(TestModels.NoLeaks.class)
class BytesAndLimitsTest {
  private static final int SMALL_LIMIT = 1_000;

  @Test
  void aPreparedCallsBytesAreFixedAtPrepareAndEveryModelGetsItsOwnCopy() {
    try (InProcessRunner first = InProcessModels.register("bytes-1", TestModels.submission());
        InProcessRunner second = InProcessModels.register("bytes-2", TestModels.submission());
        ModelTransport transport = TestModels.transport();
        ModelConnection one = transport.connect(first.endpoint());
        ModelConnection two = transport.connect(second.endpoint())) {
      TestModels.setUp(one);
      TestModels.setUp(two);
      byte[] mutable = "before".getBytes(StandardCharsets.UTF_8);
      Variant shared = Variant.wrap(VariantType.STRING, mutable); // the caller keeps the array
      PreparedCall echo = transport.prepare("echoVariant", Arguments.builder().add(shared).build());
      PreparedCall text = transport.prepare("text", Arguments.builder().add(shared).build());
      Arrays.fill(mutable, (byte) 'z'); // changed after prepare: the request was already encoded

      Reply fromOne = await(one.call(echo, TIMEOUT));
      Reply fromTwo = await(two.call(echo, TIMEOUT));
      assertThat(fromOne).isEqualTo(Reply.success(Variant.ofString("before")));
      assertThat(fromOne.value().orElseThrow()).isNotSameAs(shared);
      assertThat(fromOne.value().orElseThrow()).isNotSameAs(fromTwo.value().orElseThrow());
      assertThat(await(one.call(text, TIMEOUT)))
          .isEqualTo(Reply.success(Variant.ofString("before")));
    }
  }

  @Test
  void zeroCopyHandsTheCallersValuesToTheModelAsTheyAre() {
    try (InProcessRunner runner =
            InProcessModels.submission("zero-copy", TestModels.submission())
                .zeroCopy(true)
                .register();
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      byte[] mutable = "before".getBytes(StandardCharsets.UTF_8);
      Variant shared = Variant.wrap(VariantType.STRING, mutable);
      PreparedCall echo = transport.prepare("echoVariant", Arguments.builder().add(shared).build());
      PreparedCall text = transport.prepare("text", Arguments.builder().add(shared).build());
      Arrays.fill(mutable, (byte) 'z');

      assertThat(await(connection.call(echo, TIMEOUT)).value().orElseThrow()).isSameAs(shared);
      assertThat(await(connection.call(text, TIMEOUT)))
          .isEqualTo(Reply.success(Variant.ofString("zzzzzz")));
    }
  }

  @Test
  void aRequestOverTheClientsLimitFailsAtPrepare() {
    try (ModelTransport transport =
        TestModels.transport(TransportSettings.defaults().withMaxMessageBytes(SMALL_LIMIT))) {
      Arguments big = Arguments.builder().add(Variant.ofString("x".repeat(SMALL_LIMIT))).build();
      assertThatThrownBy(() -> transport.prepare("length", big))
          .isInstanceOfSatisfying(
              TransportException.class,
              e -> assertThat(e.kind()).isEqualTo(TransportException.Kind.MESSAGE_TOO_LARGE))
          .hasMessageContaining("client's limit of " + SMALL_LIMIT);
      // Just under the limit is fine.
      int fits =
          SMALL_LIMIT
              - (int)
                  WireFormat.requestSize(
                      "length".getBytes(StandardCharsets.UTF_8),
                      Arguments.builder().add(Variant.ofString("")).build());
      assertThat(
              transport.prepare(
                  "length", Arguments.builder().add(Variant.ofString("x".repeat(fits))).build()))
          .isNotNull();
    }
  }

  @Test
  void setupsAndForeignCallsOverTheClientsLimitFailTheirFuture() {
    try (InProcessRunner runner =
            InProcessModels.register("client-limit-setup", TestModels.submission());
        ModelTransport transport =
            TestModels.transport(TransportSettings.defaults().withMaxMessageBytes(SMALL_LIMIT));
        ModelConnection connection = transport.connect(runner.endpoint())) {
      Arguments big =
          Arguments.builder().add("name", Variant.ofString("x".repeat(SMALL_LIMIT))).build();
      assertThat(failure(connection.setup(BASE, big, TIMEOUT)).kind())
          .isEqualTo(TransportException.Kind.MESSAGE_TOO_LARGE);
      assertThat(failure(connection.call(PreparedCall.of("echo", big), TIMEOUT)).kind())
          .isEqualTo(TransportException.Kind.MESSAGE_TOO_LARGE);
      TestModels.setUp(connection);
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void aRequestOverTheRunnersLimitFailsAndTheRunnerKeepsServing(boolean zeroCopy) {
    try (InProcessRunner runner =
            InProcessModels.submission("runner-limit-in-" + zeroCopy, TestModels.submission())
                .maxMessageBytes(SMALL_LIMIT)
                .zeroCopy(zeroCopy)
                .register();
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      TransportException tooLarge =
          failure(call(transport, connection, "length", Variant.ofString("x".repeat(SMALL_LIMIT))));
      assertThat(tooLarge.kind()).isEqualTo(TransportException.Kind.MESSAGE_TOO_LARGE);
      assertThat(tooLarge).hasMessageContaining("runner's limit of " + SMALL_LIMIT);
      assertThat(await(call(transport, connection, "length", Variant.ofString("xyz"))))
          .isEqualTo(Reply.success(Variant.ofLong(3)));
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void aResponseOverTheRunnersLimitFailsAndTheRunnerKeepsServing(boolean zeroCopy) {
    try (InProcessRunner runner =
            InProcessModels.submission("runner-limit-out-" + zeroCopy, TestModels.submission())
                .maxMessageBytes(SMALL_LIMIT)
                .zeroCopy(zeroCopy)
                .register();
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      TransportException tooLarge =
          failure(call(transport, connection, "big", Variant.ofLong(SMALL_LIMIT)));
      assertThat(tooLarge.kind()).isEqualTo(TransportException.Kind.MESSAGE_TOO_LARGE);
      assertThat(tooLarge).hasMessageContaining("runner's limit");
      assertThat(await(call(transport, connection, "big", Variant.ofLong(3))))
          .isEqualTo(Reply.success(Variant.ofString("xxx")));
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void aResponseOverTheClientsLimitFails(boolean zeroCopy) {
    try (InProcessRunner runner =
            InProcessModels.submission("client-limit-out-" + zeroCopy, TestModels.submission())
                .zeroCopy(zeroCopy)
                .register();
        ModelTransport transport =
            TestModels.transport(TransportSettings.defaults().withMaxMessageBytes(SMALL_LIMIT));
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      TransportException tooLarge =
          failure(call(transport, connection, "big", Variant.ofLong(SMALL_LIMIT)));
      assertThat(tooLarge.kind()).isEqualTo(TransportException.Kind.MESSAGE_TOO_LARGE);
      assertThat(tooLarge).hasMessageContaining("client's limit of " + SMALL_LIMIT);
      assertThat(await(call(transport, connection, "big", Variant.ofLong(2))))
          .isEqualTo(Reply.success(Variant.ofString("xx")));
    }
  }

  @Test
  void malformedRequestBytesFailThatRequestOnly() {
    try (InProcessRunner runner = InProcessModels.register("malformed", TestModels.submission());
        ModelTransport transport = TestModels.transport();
        InProcessConnection connection =
            (InProcessConnection) transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      for (byte[] garbage : new byte[][] {{}, {'Q'}, {'Q', 1, 2, 0x7f, 0, 0, 0}, {1, 2, 3, 4, 5}}) {
        TransportException failure = failure(connection.sendRaw(WireFormat.CALL, garbage, TIMEOUT));
        assertThat(failure.kind()).isEqualTo(TransportException.Kind.INTERNAL);
        assertThat(failure).hasMessageContaining("Malformed request");
      }
      assertThat(await(call(transport, connection, "echo", Variant.ofString("still here"))))
          .isEqualTo(Reply.success(Variant.ofString("still here")));
      assertThat(runner.isServing()).isTrue();
    }
  }
}
