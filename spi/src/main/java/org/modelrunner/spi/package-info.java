/**
 * The public API of Model Runner and its provider interfaces (seams).
 *
 * <p>Values travel as {@link org.modelrunner.spi.Variant}s (a {@link
 * org.modelrunner.spi.VariantType} and bytes in the Python implementation's formats); {@link
 * org.modelrunner.spi.ValueConverter} turns Java values into variants and back with the {@link
 * org.modelrunner.spi.ValueCodec}s on the class path. A setup or call carries {@link
 * org.modelrunner.spi.Arguments} and is answered with a {@link org.modelrunner.spi.Reply}: a {@link
 * org.modelrunner.spi.Status} with one of the protocol's {@link org.modelrunner.spi.StatusCode}s
 * and, for a call, the returned value.
 *
 * <p>Every seam is an abstract {@link org.modelrunner.spi.Provider} subclass found with {@link
 * java.util.ServiceLoader} and ordered by {@link org.modelrunner.spi.ProviderRegistry}: value
 * codecs and {@link org.modelrunner.spi.ModelDiscovery}. This package depends on no transport,
 * cache or queue library; only Jackson, for JSON values.
 */
package org.modelrunner.spi;
