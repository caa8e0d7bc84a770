package org.modelrunner.spi.codecs;

import java.lang.reflect.Type;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.modelrunner.spi.ValueCodec;
import org.modelrunner.spi.ValueConversionException;
import org.modelrunner.spi.Variant;
import org.modelrunner.spi.VariantType;

/**
 * INT ↔ integral Java values: encodes {@code long}, {@code int}, {@code short}, {@code byte}, their
 * boxes, {@code AtomicInteger}, {@code AtomicLong}, {@code BigInteger} (when it fits in 64 bits)
 * and {@code boolean} (1 or 0, as the Python runner does) as 8 little-endian bytes.
 *
 * <p>Decodes values of any length into {@code long}, {@code int}, {@code short}, {@code byte} and
 * their boxes (range-checked), {@code BigInteger}, {@code boolean} (0 or 1 only), {@code double},
 * {@code float}, {@code BigDecimal}, and {@code Number} or {@code Object} ({@code Long}, or {@code
 * BigInteger} beyond 64 bits).
 */
public final class IntCodec extends ValueCodec {
  private static final BigInteger MIN_LONG = BigInteger.valueOf(Long.MIN_VALUE);
  private static final BigInteger MAX_LONG = BigInteger.valueOf(Long.MAX_VALUE);

  /** Creates the codec. */
  public IntCodec() {}

  @Override
  public VariantType type() {
    return VariantType.INT;
  }

  @Override
  public boolean canEncode(Object value) {
    return value instanceof Long
        || value instanceof Integer
        || value instanceof Short
        || value instanceof Byte
        || value instanceof Boolean
        || value instanceof BigInteger
        || value instanceof AtomicInteger
        || value instanceof AtomicLong;
  }

  @Override
  public Variant encode(Object value) {
    if (value instanceof Boolean b) {
      return Variant.ofLong(b ? 1 : 0);
    }
    if (value instanceof BigInteger big) {
      if (big.compareTo(MIN_LONG) < 0 || big.compareTo(MAX_LONG) > 0) {
        throw new ValueConversionException(
            "the integer " + big + " is out of range for an INT value (64-bit signed)");
      }
      return Variant.ofLong(big.longValue());
    }
    return Variant.ofLong(((Number) value).longValue());
  }

  @Override
  public Object decode(Variant variant, Type target) {
    BigInteger value = variant.asBigInteger();
    Class<?> raw = Targets.raw(target);
    if (raw == long.class || raw == Long.class) {
      return ranged(value, Long.MIN_VALUE, Long.MAX_VALUE, target).longValue();
    }
    if (raw == int.class || raw == Integer.class) {
      return ranged(value, Integer.MIN_VALUE, Integer.MAX_VALUE, target).intValue();
    }
    if (raw == short.class || raw == Short.class) {
      return ranged(value, Short.MIN_VALUE, Short.MAX_VALUE, target).shortValue();
    }
    if (raw == byte.class || raw == Byte.class) {
      return ranged(value, Byte.MIN_VALUE, Byte.MAX_VALUE, target).byteValue();
    }
    if (raw == boolean.class || raw == Boolean.class) {
      if (value.signum() == 0 || value.equals(BigInteger.ONE)) {
        return value.signum() != 0;
      }
      throw new ValueConversionException(
          "the INT value "
              + value
              + " cannot be converted to "
              + target.getTypeName()
              + " (only 0 and 1 can)");
    }
    if (raw == double.class || raw == Double.class) {
      return value.doubleValue();
    }
    if (raw == float.class || raw == Float.class) {
      return value.floatValue();
    }
    if (raw == BigInteger.class) {
      return value;
    }
    if (raw == BigDecimal.class) {
      return new BigDecimal(value);
    }
    if (Targets.accepts(raw, Long.class) && Targets.accepts(raw, BigInteger.class)) {
      return value.bitLength() <= 63 ? (Object) value.longValue() : value;
    }
    throw Targets.mismatch(variant, target);
  }

  private static BigInteger ranged(BigInteger value, long min, long max, Type target) {
    if (value.bitLength() > 63 || value.longValue() < min || value.longValue() > max) {
      throw new ValueConversionException(
          "the INT value "
              + value
              + " is out of range for "
              + target.getTypeName()
              + " ["
              + min
              + ", "
              + max
              + "]");
    }
    return value;
  }

  /** Keeps no state: converters share one instance. */
  @Override
  protected boolean isStateless() {
    return true;
  }
}
