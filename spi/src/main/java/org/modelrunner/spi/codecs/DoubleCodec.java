package org.modelrunner.spi.codecs;

import java.lang.reflect.Type;
import java.math.BigDecimal;
import org.modelrunner.spi.ValueCodec;
import org.modelrunner.spi.ValueConversionException;
import org.modelrunner.spi.Variant;
import org.modelrunner.spi.VariantType;

/**
 * DOUBLE ↔ {@code double}, {@code float} and their boxes: 8 bytes, IEEE-754 binary64,
 * little-endian. Decodes into {@code double}, {@code float} (rounded), their boxes, {@code Number},
 * {@code Object} and {@code BigDecimal} (finite values only).
 */
public final class DoubleCodec extends ValueCodec {
  /** Creates the codec. */
  public DoubleCodec() {}

  @Override
  public VariantType type() {
    return VariantType.DOUBLE;
  }

  @Override
  public boolean canEncode(Object value) {
    return value instanceof Double || value instanceof Float;
  }

  @Override
  public Variant encode(Object value) {
    return Variant.ofDouble(((Number) value).doubleValue());
  }

  @Override
  public Object decode(Variant variant, Type target) {
    double value = variant.asDouble();
    Class<?> raw = Targets.raw(target);
    if (raw == double.class || Targets.accepts(raw, Double.class)) {
      return value;
    }
    if (raw == float.class || raw == Float.class) {
      return (float) value;
    }
    if (raw == BigDecimal.class) {
      if (!Double.isFinite(value)) {
        throw new ValueConversionException(
            value + " cannot be converted to " + target.getTypeName());
      }
      return new BigDecimal(Double.toString(value));
    }
    throw Targets.mismatch(variant, target);
  }

  /** Keeps no state: converters share one instance. */
  @Override
  protected boolean isStateless() {
    return true;
  }
}
