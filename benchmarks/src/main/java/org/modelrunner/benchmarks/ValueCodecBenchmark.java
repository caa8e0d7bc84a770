package org.modelrunner.benchmarks;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.modelrunner.spi.ValueConverter;
import org.modelrunner.spi.Variant;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What converting values costs on the hot path: a tick's JSON argument and a DOUBLE prediction.
 *
 * <p>Run: {@code java -cp benchmarks/target/model-runner-benchmarks.jar org.openjdk.jmh.Main
 * ValueCodecBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ValueCodecBenchmark {
  private final ValueConverter converter = ValueConverter.create();
  private final Map<String, Object> tick =
      Map.of(
          "falcon_location",
          21.179864629354732,
          "time",
          230.96231205799998,
          "dove_location",
          19.164986723324326,
          "falcon_id",
          1);
  private final Variant tickVariant = converter.encode(tick);
  private final Variant prediction = converter.encode(0.5);

  /** Encodes a tick's data as JSON. */
  @Benchmark
  public Variant encodeJsonTick() {
    return converter.encode(tick);
  }

  /** Decodes a tick's JSON into its natural form. */
  @Benchmark
  public Object decodeJsonTick() {
    return converter.decode(tickVariant);
  }

  /** Encodes a double prediction. */
  @Benchmark
  public Variant encodeDouble() {
    return converter.encode(0.5);
  }

  /** Decodes a double prediction. */
  @Benchmark
  public double decodeDouble() {
    return converter.decode(prediction, double.class);
  }
}
