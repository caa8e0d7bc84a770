package org.modelrunner.spi;

/**
 * The type tag of a {@link Variant}, with the numbers of the protocol's {@code commons.VariantType}
 * enum.
 *
 * <p>{@link #PARQUET} and {@link #ARROW} are carried as opaque bytes unless a {@link ValueCodec}
 * for them is installed.
 */
public enum VariantType {
  /** No value: empty bytes; Java {@code null}. */
  NONE(0),
  /** 8 bytes, IEEE-754 binary64, little-endian. */
  DOUBLE(1),
  /** 8 bytes of two's complement, little-endian (any length on decode, sign-extended). */
  INT(2),
  /** UTF-8 text. */
  STRING(3),
  /** A Parquet file, as written from a table or data frame. */
  PARQUET(4),
  /** Reserved: no existing implementation produces it. */
  ARROW(5),
  /** UTF-8 JSON text, with the bare tokens {@code NaN}, {@code Infinity}, {@code -Infinity}. */
  JSON(6);

  private static final VariantType[] BY_NUMBER = new VariantType[7];

  static {
    for (VariantType type : values()) {
      BY_NUMBER[type.number] = type;
    }
  }

  private final int number;

  VariantType(int number) {
    this.number = number;
  }

  /** Returns the number of this type on the wire. */
  public int number() {
    return number;
  }

  /**
   * Returns the type with the given wire number.
   *
   * @throws IllegalArgumentException if no type has that number
   */
  public static VariantType forNumber(int number) {
    if (number < 0 || number >= BY_NUMBER.length) {
      throw new IllegalArgumentException("Unknown VariantType number: " + number);
    }
    return BY_NUMBER[number];
  }
}
