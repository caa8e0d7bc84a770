package org.modelrunner.spi.codecs;

import java.lang.reflect.Type;
import org.modelrunner.spi.ValueCodec;
import org.modelrunner.spi.ValueConversionException;
import org.modelrunner.spi.Variant;
import org.modelrunner.spi.VariantType;

/**
 * NONE ↔ {@code null}. A NONE value cannot become a primitive, and one that carries bytes is
 * malformed (the protocol's NONE is empty).
 */
public final class NoneCodec extends ValueCodec {
  /** Creates the codec. */
  public NoneCodec() {}

  @Override
  public VariantType type() {
    return VariantType.NONE;
  }

  @Override
  public boolean canEncode(Object value) {
    return value == null;
  }

  @Override
  public Variant encode(Object value) {
    return Variant.NONE;
  }

  @Override
  public Object decode(Variant variant, Type target) {
    variant.checkWellFormed();
    if (Targets.raw(target).isPrimitive()) {
      throw new ValueConversionException(
          "a NONE (null) value cannot be converted to the primitive " + target.getTypeName());
    }
    return null;
  }

  /** Keeps no state: converters share one instance. */
  @Override
  protected boolean isStateless() {
    return true;
  }
}
