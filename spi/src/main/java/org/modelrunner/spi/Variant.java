package org.modelrunner.spi;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A typed value as it travels on the wire: a {@link VariantType} and the bytes of the value in that
 * type's format (the protocol's {@code commons.Variant}).
 *
 * <p>Variants are immutable. The factories for the fixed-format types ({@link #ofDouble}, {@link
 * #ofLong}, {@link #ofString}) and the matching accessors produce and read exactly the bytes the
 * Python implementation does. Turning arbitrary Java values into variants is the job of {@link
 * ValueConverter}.
 */
public final class Variant {
  /** The variant of type {@link VariantType#NONE}: no value. */
  public static final Variant NONE = new Variant(VariantType.NONE, new byte[0]);

  private static final byte[] EMPTY = new byte[0];

  private final VariantType type;
  private final byte[] bytes;

  private Variant(VariantType type, byte[] bytes) {
    this.type = type;
    this.bytes = bytes;
  }

  /**
   * Returns a variant of the given type holding a copy of {@code bytes}.
   *
   * @throws NullPointerException if an argument is null
   */
  public static Variant of(VariantType type, byte[] bytes) {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(bytes, "bytes");
    if (type == VariantType.NONE && bytes.length == 0) {
      return NONE;
    }
    return new Variant(type, bytes.length == 0 ? EMPTY : bytes.clone());
  }

  /**
   * Returns a variant of the given type that takes ownership of {@code bytes} without copying them.
   * The caller must never modify the array afterwards. Meant for transports that already hold a
   * private copy.
   *
   * @throws NullPointerException if an argument is null
   */
  public static Variant wrap(VariantType type, byte[] bytes) {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(bytes, "bytes");
    return new Variant(type, bytes);
  }

  /** Returns a {@link VariantType#DOUBLE} variant: 8 bytes, little-endian IEEE-754. */
  public static Variant ofDouble(double value) {
    return new Variant(
        VariantType.DOUBLE,
        ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(value).array());
  }

  /** Returns an {@link VariantType#INT} variant: 8 bytes, little-endian two's complement. */
  public static Variant ofLong(long value) {
    return new Variant(
        VariantType.INT,
        ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array());
  }

  /** Returns a {@link VariantType#STRING} variant holding the UTF-8 bytes of {@code value}. */
  public static Variant ofString(String value) {
    return new Variant(VariantType.STRING, value.getBytes(StandardCharsets.UTF_8));
  }

  /** Returns the type tag. */
  public VariantType type() {
    return type;
  }

  /** Returns the number of bytes of the value. */
  public int size() {
    return bytes.length;
  }

  /** Returns a copy of the bytes of the value. */
  public byte[] toByteArray() {
    return bytes.length == 0 ? EMPTY : bytes.clone();
  }

  /** Returns a read-only view of the bytes of the value, without copying. */
  public ByteBuffer asReadOnlyByteBuffer() {
    return ByteBuffer.wrap(bytes).asReadOnlyBuffer();
  }

  /**
   * Reads a {@link VariantType#DOUBLE} value.
   *
   * @throws ValueConversionException if this is not a DOUBLE of exactly 8 bytes
   */
  public double asDouble() {
    requireType(VariantType.DOUBLE);
    if (bytes.length != 8) {
      throw new ValueConversionException(
          "A DOUBLE value must have 8 bytes, this one has " + bytes.length);
    }
    return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getDouble();
  }

  /**
   * Reads an {@link VariantType#INT} value of any length (little-endian, sign-extended; empty is
   * 0).
   *
   * @throws ValueConversionException if this is not an INT
   */
  public BigInteger asBigInteger() {
    requireType(VariantType.INT);
    if (bytes.length == 0) {
      return BigInteger.ZERO;
    }
    byte[] bigEndian = new byte[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      bigEndian[i] = bytes[bytes.length - 1 - i];
    }
    return new BigInteger(bigEndian);
  }

  /**
   * Reads an {@link VariantType#INT} value that fits in 64 bits.
   *
   * @throws ValueConversionException if this is not an INT, or the value does not fit in a {@code
   *     long}
   */
  public long asLong() {
    requireType(VariantType.INT);
    if (bytes.length == 8) {
      return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }
    BigInteger value = asBigInteger();
    if (value.bitLength() > 63) {
      throw new ValueConversionException("INT value " + value + " does not fit in 64 bits");
    }
    return value.longValue();
  }

  /**
   * Reads a {@link VariantType#STRING} value as UTF-8. Bytes that are not valid UTF-8 are refused,
   * as Python's {@code bytes.decode('utf-8')} refuses them, rather than replaced.
   *
   * @throws ValueConversionException if this is not a STRING, or not valid UTF-8
   */
  public String asString() {
    requireType(VariantType.STRING);
    int invalid = firstInvalidUtf8();
    if (invalid >= 0) {
      throw notUtf8(invalid);
    }
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /**
   * Checks the bytes against the fixed part of the type's format, without decoding the value: a
   * NONE is empty, a DOUBLE has 8 bytes, a STRING is valid UTF-8. INT accepts any length; JSON,
   * PARQUET and ARROW are only checked when a codec reads them. A runner checks its arguments so
   * before it calls a model, and refuses the request when this throws.
   *
   * @return this variant
   * @throws ValueConversionException if the bytes cannot be a value of the type; the message says
   *     why
   */
  public Variant checkWellFormed() {
    switch (type) {
      case NONE -> {
        if (bytes.length != 0) {
          throw new ValueConversionException(
              "a NONE value must be empty, this one has " + bytes.length + " bytes");
        }
      }
      case DOUBLE -> {
        if (bytes.length != 8) {
          throw new ValueConversionException(
              "a DOUBLE value must have 8 bytes, this one has " + bytes.length);
        }
      }
      case STRING -> {
        int invalid = firstInvalidUtf8();
        if (invalid >= 0) {
          throw notUtf8(invalid);
        }
      }
      default -> {
        // INT: any length; the others are read by their codecs
      }
    }
    return this;
  }

  /**
   * Returns the offset of the first byte that is not valid UTF-8, or -1 if all are. Decodes through
   * a small buffer: checking never holds the text.
   */
  private int firstInvalidUtf8() {
    int i = 0;
    while (i < bytes.length && bytes[i] >= 0) {
      i++; // ASCII: the usual case, checked without a decoder
    }
    if (i == bytes.length) {
      return -1;
    }
    CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(bytes, i, bytes.length - i);
    CharBuffer out = CharBuffer.allocate(Math.min(1024, bytes.length - i + 1));
    while (true) {
      CoderResult result = decoder.decode(in, out, true);
      if (result.isError()) {
        return in.position();
      }
      if (result.isUnderflow()) {
        return -1;
      }
      out.clear(); // overflow: the next characters
    }
  }

  private ValueConversionException notUtf8(int offset) {
    return new ValueConversionException(
        "a STRING value must be UTF-8, this one is not: byte "
            + offset
            + " of "
            + bytes.length
            + " (0x"
            + HexFormat.of().toHexDigits(bytes[offset])
            + ") is not valid UTF-8");
  }

  private void requireType(VariantType expected) {
    if (type != expected) {
      throw new ValueConversionException("Expected a " + expected + " value, got " + type);
    }
  }

  @Override
  public boolean equals(Object o) {
    return this == o
        || (o instanceof Variant other && type == other.type && Arrays.equals(bytes, other.bytes));
  }

  @Override
  public int hashCode() {
    return 31 * type.hashCode() + Arrays.hashCode(bytes);
  }

  /** Returns the type and the first bytes in hex, for logs. */
  @Override
  public String toString() {
    int shown = Math.min(bytes.length, 32);
    String hex = HexFormat.of().formatHex(bytes, 0, shown);
    return "Variant{"
        + type
        + ", "
        + bytes.length
        + " bytes"
        + (bytes.length == 0 ? "" : ", " + hex + (shown < bytes.length ? "…" : ""))
        + "}";
  }
}
