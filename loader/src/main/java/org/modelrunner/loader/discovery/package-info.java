/**
 * The built-in {@link org.modelrunner.spi.ModelDiscovery} providers: a submission's own {@code
 * META-INF/services/<base class>} entry ({@link
 * org.modelrunner.loader.discovery.ServiceFileDiscovery}, asked first) and a scan of its classes
 * ({@link org.modelrunner.loader.discovery.ClassScanDiscovery}). They are public only because
 * {@link java.util.ServiceLoader} requires it.
 */
package org.modelrunner.loader.discovery;
