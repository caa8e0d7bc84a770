/**
 * The built-in {@link org.modelrunner.spi.ValueCodec} providers for NONE, DOUBLE, INT, STRING and
 * JSON.
 *
 * <p>They are registered in {@code META-INF/services} and used through {@link
 * org.modelrunner.spi.ValueConverter}; they are public only because {@link java.util.ServiceLoader}
 * requires it. Their byte formats are those of the Python implementation, byte for byte.
 */
package org.modelrunner.spi.codecs;
