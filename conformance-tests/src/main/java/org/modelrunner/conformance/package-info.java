/**
 * The conformance suite that certifies a transport, in the shape of the Reactive Streams TCK.
 *
 * <p>A transport author implements a {@link org.modelrunner.conformance.TransportFixture} (how to
 * make the client-side {@link org.modelrunner.spi.ModelTransport}, how to deploy a submission
 * behind a runner the transport reaches, which {@link org.modelrunner.conformance.Capability
 * capabilities} it has) and runs the whole suite with a one-line subclass of {@link
 * org.modelrunner.conformance.TransportConformanceSuite} in their test sources. Each rule of {@link
 * org.modelrunner.conformance.TransportRules} is one JUnit test of the same name: {@code
 * required_…} rules hold for every transport, {@code optional_…} rules need a capability and are
 * reported as skipped without it. The javadoc of each rule says what it means and what to check
 * when it fails.
 *
 * <p>Throughout, the suite checks that every connection future completes by its timeout plus the
 * fixture's tolerance, and after each test that the test's connections, threads and (with {@link
 * org.modelrunner.conformance.Capability#CLASS_LOADER_RELEASE}) submission class loaders were
 * released. The models it deploys are compiled from Java source at run time and extend {@link
 * org.modelrunner.conformance.models.ConformanceBase}; the values it round-trips are the shared
 * vectors made with the Python implementation, which ship in this jar.
 */
package org.modelrunner.conformance;
