package org.modelrunner.spi.codecs;

import java.lang.reflect.Type;
import org.modelrunner.spi.ValueCodec;
import org.modelrunner.spi.ValueConversionException;
import org.modelrunner.spi.Variant;
import org.modelrunner.spi.VariantType;

/**
 * STRING ↔ text, as UTF-8: encodes any {@code CharSequence}, {@code char} and enum constants (by
 * {@link Enum#name()}). Decodes into {@code String}, {@code CharSequence}, {@code Object}, {@code
 * char} (exactly one character) and enum types (by constant name).
 */
public final class StringCodec extends ValueCodec {
  /** Creates the codec. */
  public StringCodec() {}

  @Override
  public VariantType type() {
    return VariantType.STRING;
  }

  @Override
  public boolean canEncode(Object value) {
    return value instanceof CharSequence || value instanceof Character || value instanceof Enum<?>;
  }

  @Override
  public Variant encode(Object value) {
    if (value instanceof Enum<?> constant) {
      return Variant.ofString(constant.name());
    }
    return Variant.ofString(value.toString());
  }

  @Override
  public Object decode(Variant variant, Type target) {
    String value = variant.asString();
    Class<?> raw = Targets.raw(target);
    if (Targets.accepts(raw, String.class)) {
      return value;
    }
    if (raw == char.class || raw == Character.class) {
      if (value.length() != 1) {
        throw new ValueConversionException(
            "a STRING of length "
                + value.length()
                + " cannot be converted to "
                + target.getTypeName());
      }
      return value.charAt(0);
    }
    if (raw.isEnum()) {
      for (Object constant : raw.getEnumConstants()) {
        if (((Enum<?>) constant).name().equals(value)) {
          return constant;
        }
      }
      throw new ValueConversionException("\"" + value + "\" is not a constant of " + raw.getName());
    }
    throw Targets.mismatch(variant, target);
  }

  /** Keeps no state: converters share one instance. */
  @Override
  protected boolean isStateless() {
    return true;
  }
}
