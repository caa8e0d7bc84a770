package org.modelrunner.client;

/**
 * How long a model's answered calls took, from sending the call to its answer (timeouts excluded),
 * since the model was connected. Values are in microseconds, recorded in a histogram with one
 * significant digit (each percentile is within about 6% of the exact value).
 *
 * @param count the calls measured
 * @param p50Micros the median
 * @param p90Micros the 90th percentile
 * @param p99Micros the 99th percentile
 * @param maxMicros the longest
 */
public record LatencyPercentiles(
    long count, long p50Micros, long p90Micros, long p99Micros, long maxMicros) {
  /** No call measured yet. */
  public static final LatencyPercentiles NONE = new LatencyPercentiles(0, 0, 0, 0, 0);

  @Override
  public String toString() {
    return count == 0
        ? "no calls"
        : String.format(
            java.util.Locale.ROOT,
            "%d calls, p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms",
            count,
            p50Micros / 1e3,
            p90Micros / 1e3,
            p99Micros / 1e3,
            maxMicros / 1e3);
  }
}
