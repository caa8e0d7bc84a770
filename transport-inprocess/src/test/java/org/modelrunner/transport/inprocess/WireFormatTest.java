package org.modelrunner.transport.inprocess;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.modelrunner.spi.Argument;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.KeywordArgument;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.Status;
import org.modelrunner.spi.StatusCode;
import org.modelrunner.spi.Variant;
import org.modelrunner.spi.VariantType;

/**
 * The framing of requests and replies: exact round trips, exact sizes, and malformed input refused.
 */
class WireFormatTest {
  private static final Arguments RICH =
      Arguments.of(
          List.of(
              new Argument(3, Variant.ofDouble(1.5)),
              new Argument(-1, Variant.ofLong(Long.MIN_VALUE)), // the largest unsigned position
              new Argument(1, Variant.NONE),
              new Argument(1, Variant.of(VariantType.PARQUET, new byte[] {1, 2, 3}))),
          List.of(
              new KeywordArgument("naïve ✓", Variant.ofString("𝄞 text")),
              new KeywordArgument(
                  "",
                  Variant.of(VariantType.JSON, "{\"a\":NaN}".getBytes(StandardCharsets.UTF_8)))));

  private static byte[] request(byte kind, String name, Arguments arguments) {
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    long size = WireFormat.requestSize(nameBytes, arguments);
    byte[] encoded = WireFormat.encodeRequest(kind, nameBytes, arguments, size);
    assertThat(encoded).hasSize((int) size);
    return encoded;
  }

  private static byte[] reply(Reply reply) {
    long size = WireFormat.replySize(reply);
    byte[] encoded = WireFormat.encodeReply(reply, size);
    assertThat(encoded).hasSize((int) size);
    return encoded;
  }

  @Test
  void requestsRoundTripExactlyWithPositionsOrderAndKeywords() {
    WireFormat.Request decoded =
        WireFormat.decodeRequest(request(WireFormat.CALL, "prédict", RICH));
    assertThat(decoded.kind()).isEqualTo(WireFormat.CALL);
    assertThat(decoded.name()).isEqualTo("prédict");
    assertThat(decoded.arguments()).isEqualTo(RICH);
    assertThat(decoded.arguments().inCallOrder()).isEqualTo(RICH.inCallOrder());

    WireFormat.Request reset =
        WireFormat.decodeRequest(request(WireFormat.RESET, "", Arguments.none()));
    assertThat(reset.kind()).isEqualTo(WireFormat.RESET);
    assertThat(reset.arguments().isEmpty()).isTrue();
  }

  @Test
  void everyNameDecodesToItselfWhateverTheNamesDecodedBefore() {
    // More names than the name cache has slots, so that some share a slot; with multi-byte
    // characters and one longer than the cache keeps.
    List<String> names = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      names.add("method_" + i + (i % 3 == 0 ? "_é✓" : ""));
    }
    names.add("x".repeat(300));
    names.add("");
    for (int round = 0; round < 3; round++) {
      for (int i = 0; i < names.size(); i++) {
        String name = names.get(round == 1 ? names.size() - 1 - i : i);
        assertThat(
                WireFormat.decodeRequest(request(WireFormat.CALL, name, Arguments.none())).name())
            .isEqualTo(name);
      }
    }
  }

  @Test
  void aMethodNameDecodesToTheStringReflectionGivesAsTheMethodsName() throws Exception {
    // A model's method table is keyed by Method.getName(): found by identity, not by its bytes.
    String reflected = Object.class.getMethod("hashCode").getName();
    for (int i = 0; i < 2; i++) { // the name decoded first, then the one from the cache
      String decoded =
          WireFormat.decodeRequest(request(WireFormat.CALL, "hashCode", Arguments.none())).name();
      assertThat(decoded).as("decode %d", i + 1).isSameAs(reflected);
    }
  }

  @Test
  void decodedVariantsNeverShareTheMessagesBytes() {
    byte[] message =
        request(WireFormat.CALL, "m", Arguments.builder().add(Variant.ofString("abc")).build());
    Variant decoded = WireFormat.decodeRequest(message).arguments().positional().get(0).value();
    java.util.Arrays.fill(message, (byte) 0);
    assertThat(decoded).isEqualTo(Variant.ofString("abc"));
  }

  @Test
  void repliesRoundTripExactly() {
    for (Reply reply :
        List.of(
            Reply.success(null),
            Reply.success(Variant.ofDouble(2.5)),
            Reply.success(Variant.NONE),
            Reply.of(StatusCode.MODEL_FAILED, "The model raised an exception: ✗"),
            Reply.of(new Status("SOMETHING_NEW", "")))) {
      assertThat(WireFormat.decodeReply(reply(reply))).isEqualTo(reply);
    }
  }

  @Test
  void utf8LengthMatchesTheEncoder() {
    Random random = new Random(7);
    for (int i = 0; i < 2_000; i++) {
      char[] chars = new char[random.nextInt(12)];
      for (int j = 0; j < chars.length; j++) {
        // Mostly interesting code units: ASCII, 2 and 3 bytes, surrogates (paired or not).
        chars[j] =
            switch (random.nextInt(5)) {
              case 0 -> (char) random.nextInt(0x80);
              case 1 -> (char) (0x80 + random.nextInt(0x780));
              case 2 -> (char) (0x800 + random.nextInt(0xD000));
              case 3 -> (char) (0xD800 + random.nextInt(0x400));
              default -> (char) (0xDC00 + random.nextInt(0x400));
            };
      }
      String text = new String(chars);
      assertThat(WireFormat.utf8Length(text))
          .as("UTF-8 length of %s", text.chars().mapToObj(Integer::toHexString).toList())
          .isEqualTo(text.getBytes(StandardCharsets.UTF_8).length);
    }
  }

  @Test
  void malformedMessagesAreRefusedWithAClearException() {
    assertThatThrownBy(() -> WireFormat.decodeRequest(new byte[0]))
        .isInstanceOf(WireFormat.MalformedMessageException.class);
    assertThatThrownBy(() -> WireFormat.decodeRequest(reply(Reply.success(null))))
        .isInstanceOf(WireFormat.MalformedMessageException.class)
        .hasMessageContaining("not an in-process request");
    byte[] valid = request(WireFormat.CALL, "m", RICH);
    byte[] trailing = java.util.Arrays.copyOf(valid, valid.length + 1);
    assertThatThrownBy(() -> WireFormat.decodeRequest(trailing))
        .isInstanceOf(WireFormat.MalformedMessageException.class)
        .hasMessageContaining("trailing");
    byte[] hugeCount = request(WireFormat.CALL, "m", Arguments.none());
    hugeCount[hugeCount.length - 8] = 0x7f; // positional count = 0x7f000000
    assertThatThrownBy(() -> WireFormat.decodeRequest(hugeCount))
        .isInstanceOf(WireFormat.MalformedMessageException.class)
        .hasMessageContaining("positional");
  }

  /** Truncated, bit-flipped and random messages: never anything but a MalformedMessageException. */
  @Test
  void fuzzedBytesNeverThrowAnythingElse() {
    Random random = new Random(42);
    byte[] request = request(WireFormat.SETUP, "com.example.Base", RICH);
    byte[] reply = reply(Reply.success(Variant.ofString("value")));
    for (int i = 0; i < 20_000; i++) {
      byte[] source = i % 2 == 0 ? request : reply;
      byte[] fuzzed;
      switch (i % 3) {
        case 0 -> fuzzed = java.util.Arrays.copyOf(source, random.nextInt(source.length + 1));
        case 1 -> {
          fuzzed = source.clone();
          for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
            fuzzed[random.nextInt(fuzzed.length)] ^= (byte) (1 << random.nextInt(8));
          }
        }
        default -> {
          fuzzed = new byte[random.nextInt(64)];
          random.nextBytes(fuzzed);
        }
      }
      byte[] message = fuzzed;
      try {
        WireFormat.decodeRequest(message);
      } catch (WireFormat.MalformedMessageException expected) {
        // refused: fine
      }
      try {
        WireFormat.decodeReply(message);
      } catch (WireFormat.MalformedMessageException expected) {
        // refused: fine
      }
    }
  }
}
