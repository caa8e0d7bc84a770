package org.modelrunner.loader;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.ref.WeakReference;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.ValueConverter;

/** Closing a hosted model releases the submission's class loader and everything it loaded. */
class ClassLoaderReleaseTest {
  @TempDir Path dir;

  @Test
  void closingAHostedModelLetsItsClassLoaderBeCollected() throws Exception {
    assertReleased();
  }

  @Test
  void aModelCalledThroughMethodHandlesLetsItsClassLoaderBeCollectedToo() throws Exception {
    // Past the first classes of a process, a model's methods are called through method handles.
    for (int i = 0; i <= Overloads.CLASSES_BY_REFLECTION; i++) {
      Overloads.ofClass(Map.of());
    }
    assertReleased();
  }

  private void assertReleased() throws Exception {
    Sources.create()
        .add(
            "com.example.Recorder",
            """
            package com.example;
            import java.util.ArrayList;
            import java.util.List;
            public class Recorder extends org.modelrunner.loader.fixtures.TrackerBase {
              public record Observation(double x, long id) {}
              public record Prediction(double mean, List<Observation> seen) {}
              private final List<Observation> seen = new ArrayList<>();
              public void tick(Object data) {}
              public void observe(Observation observation) { seen.add(observation); }
              public Object predict() { return new Prediction(seen.get(0).x(), seen); }
            }
            """)
        .jarTo(dir.resolve("sub/model.jar"));

    WeakReference<ClassLoader> loader = useAndClose(dir.resolve("sub"));

    Awaitility.await("the submission's class loader collected after close")
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(50))
        .until(
            () -> {
              System.gc();
              return loader.get() == null;
            });
  }

  /**
   * Hosts the model, exercises setup, JSON arguments and results (which fill Jackson's caches),
   * closes it.
   */
  private static WeakReference<ClassLoader> useAndClose(Path submission) {
    ValueConverter host = ValueConverter.create();
    HostedModel model = HostedModel.open(submission);
    assertThat(model.setup(DiscoveryTest.BASE, Arguments.none()).status().isSuccess()).isTrue();
    Reply observed =
        model.call(
            "observe",
            Arguments.builder().add(host.encode(Map.of("x", 1.5, "id", 7, "extra", true))).build());
    assertThat(observed.status().isSuccess()).as("%s", observed).isTrue();
    Reply predicted = model.call("predict", Arguments.none());
    assertThat(host.decode(predicted.value().orElseThrow()))
        .isEqualTo(Map.of("mean", 1.5, "seen", List.of(Map.of("x", 1.5, "id", 7L))));
    WeakReference<ClassLoader> loader = new WeakReference<>(model.submission().classLoader());
    model.close();
    return loader;
  }
}
