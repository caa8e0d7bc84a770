package org.modelrunner.spi;

import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Converts Java values to {@link Variant}s and back, with the {@link ValueCodec}s found on the
 * class path.
 *
 * <p>Encoding (the Python runner's detection order, extended to Java types):
 *
 * <ul>
 *   <li>{@code null} → NONE;
 *   <li>{@code double}, {@code float} and their boxes → DOUBLE;
 *   <li>{@code long}, {@code int}, {@code short}, {@code byte}, their boxes, a {@code BigInteger}
 *       that fits in 64 bits, and {@code boolean} (as 1 or 0, like the Python runner) → INT;
 *   <li>{@code String}, any {@code CharSequence}, {@code char} and enum constants (by name) →
 *       STRING;
 *   <li>a {@link Variant} → itself;
 *   <li>anything else ({@code Map}, {@code List}, arrays, records, POJOs, Jackson trees) → JSON,
 *       through Jackson.
 * </ul>
 *
 * <p>Decoding turns a variant into the requested type: {@code Object.class} gives the natural form
 * (NONE → {@code null}, DOUBLE → {@code Double}, INT → {@code Long} or {@code BigInteger} beyond 64
 * bits, STRING → {@code String}, JSON → {@code Map}, {@code List}, {@code String}, {@code Long},
 * {@code Double}, {@code Boolean} or {@code null}); numeric targets are range-checked; a JSON
 * variant is mapped onto records, POJOs and generic types by Jackson, ignoring properties the
 * target does not declare. {@code Variant} as the target gives the variant itself, and {@code
 * Optional<T>} gives empty for NONE. A PARQUET or ARROW variant without an installed codec decodes
 * to itself ({@code Object} or {@code Variant} target) or to its bytes ({@code byte[]} target).
 *
 * <p>Malformed bytes fail, as they fail in the Python implementation, instead of giving a wrong
 * value: a NONE that carries bytes, a DOUBLE that is not 8 bytes, a STRING that is not valid UTF-8
 * (never replaced by U+FFFD), JSON text followed by anything but white space ({@link
 * Variant#checkWellFormed()} checks the fixed formats alone).
 *
 * <p>A converter is thread-safe. Its codecs may cache per-type information (Jackson does): create
 * one converter per isolated class loader and drop it with that loader.
 */
public final class ValueConverter {
  /**
   * One instance of each stateless codec class ({@link ValueCodec#isStateless()}), shared by the
   * converters that have one of the class: see there why.
   */
  private static final ClassValue<ValueCodec> SHARED =
      new ClassValue<>() {
        @Override
        protected ValueCodec computeValue(Class<?> type) {
          try {
            return (ValueCodec) type.getConstructor().newInstance();
          } catch (ReflectiveOperationException | RuntimeException e) {
            return null; // this converter's own instance, then
          }
        }
      };

  private final ProviderRegistry<ValueCodec> registry;

  /** The codecs, most preferred first, each stateless one replaced by its class's shared one. */
  private final ValueCodec[] encoders;

  /** The same, as {@link #codecs()} gives them. */
  private final List<ValueCodec> codecs;

  /** The most preferred codec of each variant type, by ordinal; null for none. */
  private final ValueCodec[] decoders = new ValueCodec[VariantType.values().length];

  private ValueConverter(ProviderRegistry<ValueCodec> registry) {
    this.registry = registry;
    List<ValueCodec> found = registry.providers();
    this.encoders = new ValueCodec[found.size()];
    for (int i = 0; i < encoders.length; i++) {
      ValueCodec codec = found.get(i);
      ValueCodec shared = codec.isStateless() ? SHARED.get(codec.getClass()) : null;
      encoders[i] = shared != null ? shared : codec;
      int type = codec.type().ordinal();
      if (decoders[type] == null) {
        decoders[type] = encoders[i];
      }
    }
    this.codecs = List.of(encoders);
  }

  /**
   * Returns a converter with new instances of the codecs found through {@link
   * java.util.ServiceLoader}.
   */
  public static ValueConverter create() {
    return new ValueConverter(ProviderRegistry.load(ValueCodec.class));
  }

  /** Returns a converter that uses exactly the given codecs (in priority order). */
  public static ValueConverter of(List<? extends ValueCodec> codecs) {
    return new ValueConverter(ProviderRegistry.of(ValueCodec.class, codecs));
  }

  /**
   * Returns the codecs in use, most preferred first (a stateless codec as the instance converters
   * share).
   */
  public List<ValueCodec> codecs() {
    return codecs;
  }

  /**
   * Encodes a value as a variant.
   *
   * @throws ValueConversionException if no codec encodes it, or the codec that claims it fails
   */
  public Variant encode(Object value) {
    if (value instanceof Variant variant) {
      return variant;
    }
    for (ValueCodec codec : encoders) {
      if (codec.canEncode(value)) {
        return codec.encode(value);
      }
    }
    throw new ValueConversionException(
        "No codec encodes a value of type "
            + (value == null ? "null" : value.getClass().getName())
            + "; "
            + registry.describe());
  }

  /**
   * Decodes a variant into its natural Java form (see the class description).
   *
   * @throws ValueConversionException if the bytes are malformed
   */
  public Object decode(Variant variant) {
    return decode(variant, Object.class);
  }

  /**
   * Decodes a variant into an instance of {@code target}.
   *
   * @throws ValueConversionException if the bytes are malformed or the value cannot become a {@code
   *     target}
   */
  public <T> T decode(Variant variant, Class<T> target) {
    @SuppressWarnings("unchecked")
    T value = (T) decode(variant, (Type) target);
    return value;
  }

  /**
   * Decodes a variant into an instance of {@code target}, which may be a parameterized type (such
   * as the generic type of a method parameter) or a primitive class.
   *
   * @throws ValueConversionException if the bytes are malformed or the value cannot become a {@code
   *     target}
   */
  public Object decode(Variant variant, Type target) {
    Objects.requireNonNull(variant, "variant");
    Objects.requireNonNull(target, "target");
    if (target == Variant.class) {
      return variant;
    }
    if (target instanceof ParameterizedType parameterized
        && parameterized.getRawType() == Optional.class) {
      if (variant.type() == VariantType.NONE) {
        return Optional.empty();
      }
      Type element = parameterized.getActualTypeArguments()[0];
      return Optional.ofNullable(decode(variant, element));
    }
    if (target == Optional.class) {
      return Optional.ofNullable(decode(variant, Object.class));
    }
    ValueCodec codec = decoders[variant.type().ordinal()];
    if (codec != null) {
      return codec.decode(variant, target);
    }
    if (target == Object.class) {
      return variant;
    }
    if (target == byte[].class) {
      return variant.toByteArray();
    }
    throw new ValueConversionException(
        "No codec decodes "
            + variant.type()
            + " values into "
            + target.getTypeName()
            + " (without one, such values are only available as Variant, byte[] or Object); "
            + registry.describe()
            + "; add a codec for "
            + variant.type()
            + " to the class path");
  }
}
