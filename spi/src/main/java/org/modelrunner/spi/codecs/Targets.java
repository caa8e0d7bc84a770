package org.modelrunner.spi.codecs;

import java.lang.reflect.GenericArrayType;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import org.modelrunner.spi.ValueConversionException;
import org.modelrunner.spi.Variant;

/** Helpers shared by the built-in codecs to reason about decode targets. */
final class Targets {
  private Targets() {}

  /** Returns the raw class of a target type ({@code Object} for type variables and wildcards). */
  static Class<?> raw(Type type) {
    if (type instanceof Class<?> c) {
      return c;
    }
    if (type instanceof ParameterizedType p) {
      return raw(p.getRawType());
    }
    if (type instanceof GenericArrayType a) {
      return java.lang.reflect.Array.newInstance(raw(a.getGenericComponentType()), 0).getClass();
    }
    if (type instanceof WildcardType w) {
      return raw(w.getUpperBounds()[0]);
    }
    if (type instanceof TypeVariable<?> v) {
      return raw(v.getBounds()[0]);
    }
    return Object.class;
  }

  /**
   * Returns whether a value of class {@code boxed} can be assigned to a variable of class {@code
   * target}.
   */
  static boolean accepts(Class<?> target, Class<?> boxed) {
    return target.isAssignableFrom(boxed);
  }

  static ValueConversionException mismatch(Variant variant, Type target) {
    return new ValueConversionException(
        "a " + variant.type() + " value cannot be converted to " + target.getTypeName());
  }
}
