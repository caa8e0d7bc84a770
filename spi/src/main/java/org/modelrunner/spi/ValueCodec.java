package org.modelrunner.spi;

import java.lang.reflect.Type;

/**
 * The value-codec seam: turns Java values of some kinds into {@link Variant}s of one {@link
 * VariantType}, and variants of that type back into Java values of a requested type.
 *
 * <p>Codecs are found with {@link java.util.ServiceLoader} (register the implementation in {@code
 * META-INF/services/org.modelrunner.spi.ValueCodec}) and used by {@link ValueConverter}. To encode
 * a value, the converter asks the available codecs in priority order and uses the first whose
 * {@link #canEncode} is true; to decode, it uses the most preferred codec of the variant's type.
 * The built-in codecs handle NONE, DOUBLE, INT, STRING and JSON; JSON, with a low priority, takes
 * every value that no other codec claims. A codec for PARQUET or ARROW plugs in the same way; until
 * one does, those values pass through as opaque {@link Variant}s.
 *
 * <p>Each {@link ValueConverter} creates its own codec instances, so a codec may keep caches (of
 * types, of serializers) for the lifetime of its converter: they are dropped with it, which lets
 * the class loaders of the types they saw be collected. A codec that keeps nothing says so ({@link
 * #isStateless()}): converters then share one instance of its class.
 */
public abstract class ValueCodec extends Provider {
  /** Creates the codec; implementations have a public no-argument constructor that never throws. */
  protected ValueCodec() {}

  /** Returns the variant type this codec writes and reads. */
  public abstract VariantType type();

  /**
   * Returns whether this codec encodes {@code value}, which may be {@code null}. Must be cheap and
   * must not throw.
   */
  public abstract boolean canEncode(Object value);

  /**
   * Encodes a value for which {@link #canEncode} returned true.
   *
   * @throws ValueConversionException if this particular value cannot be encoded (out of range, say)
   */
  public abstract Variant encode(Object value);

  /**
   * Decodes a variant of this codec's {@link #type()} into an instance of {@code target}, which may
   * be a primitive class, a parameterized type, or {@code Object.class} for the value's natural
   * Java form.
   *
   * @throws ValueConversionException if the bytes are malformed or the value cannot become a {@code
   *     target}
   */
  public abstract Object decode(Variant variant, Type target);

  /**
   * Returns whether this codec keeps no state (no caches, no settings), so that every instance of
   * its class converts exactly as any other: converters then share one instance of the class, made
   * with its public no-argument constructor, rather than each asking its own. A process that hosts
   * thousands of isolated submissions has as many converters, and each call reaches its codecs: a
   * shared instance is one object in the processor's cache, where a converter's own is a line of
   * memory fetched on every call. False unless overridden; the built-in codecs of the fixed formats
   * (NONE, DOUBLE, INT, STRING) return true.
   */
  protected boolean isStateless() {
    return false;
  }
}
