/**
 * Micrometer bindings: {@link org.modelrunner.metrics.FleetMetrics} for a coordinator's fleet,
 * {@link org.modelrunner.metrics.RunnerMetrics} for a runner. The registry (Prometheus, OTLP, ...)
 * is the application's choice.
 */
package org.modelrunner.metrics;
