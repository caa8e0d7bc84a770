/**
 * A live page of a coordinator's {@link org.modelrunner.client.ModelFleet}, served from its own JVM
 * by the JDK's HTTP server ({@code com.sun.net.httpserver}): {@link
 * org.modelrunner.fleetpage.FleetPage} shows every model's state, outcome counts, latency
 * percentiles, cooldown and consecutive failures and timeouts, why the models that are out were
 * taken out, the directory's link, and the fleet's last events, and keeps itself up to date through
 * server-sent events. The same document is served as JSON for scripts and monitoring.
 *
 * <p>The page binds to loopback unless told otherwise, and has no authentication: see {@link
 * org.modelrunner.fleetpage.FleetPage.Builder#address}. It reads the fleet through its public API
 * only ({@link org.modelrunner.client.ModelFleet#models()}, {@link
 * org.modelrunner.client.ModelFleet#directoryStatus()} and a {@link
 * org.modelrunner.client.FleetListener}), once per push whatever the number of viewers, and never
 * holds up the fleet: the listener only appends to a bounded ring.
 */
package org.modelrunner.fleetpage;
