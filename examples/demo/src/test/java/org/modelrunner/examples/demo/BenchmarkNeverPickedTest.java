package org.modelrunner.examples.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.modelrunner.examples.tracker.LastValueTracker;
import org.modelrunner.examples.tracker.TrackerBase;
import org.modelrunner.loader.HostedModel;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.StatusCode;

/**
 * The benchmark implementation ships in the API jar, extends the base class and is public and
 * concrete, like a real model; discovery must never take it for a participant's model. Checked here
 * with the runner's own hosting ({@link HostedModel}), which tells which class it picked.
 */
class BenchmarkNeverPickedTest {
  private static final String BASE = TrackerBase.class.getName();

  @ParameterizedTest
  @CsvSource({
    "good,     org.modelrunner.examples.models.good.EwmaTracker",
    "slow,     org.modelrunner.examples.models.slow.SlowTracker",
    "throwing, org.modelrunner.examples.models.throwing.ThrowingTracker",
    "heavy,    org.modelrunner.examples.models.heavy.RegressionTracker"
  })
  void eachSubmissionGetsItsOwnImplementation(String name, String implementation) throws Exception {
    try (HostedModel model = HostedModel.open(Submissions.locate().get(name))) {
      Reply setup = model.setup(BASE, Arguments.none());

      assertThat(setup.status().isSuccess()).as("%s", setup).isTrue();
      Class<?> picked = model.implementationClass().orElseThrow();
      assertThat(picked.getName()).isEqualTo(implementation);
      assertThat(picked.getClassLoader()).isSameAs(model.submission().classLoader());
      // The benchmark is reachable from the submission (through the host, like the base class) ...
      assertThat(
              Class.forName(
                  LastValueTracker.class.getName(), false, model.submission().classLoader()))
          .isSameAs(LastValueTracker.class);
      // ... and the base class is the host's: the submission does not bundle the API jar.
      assertThat(Class.forName(BASE, false, model.submission().classLoader()))
          .isSameAs(TrackerBase.class);
    }
  }

  @Test
  void aSubmissionWithoutAnImplementationIsRefusedRatherThanGivenTheBenchmark() {
    try (HostedModel model = HostedModel.open(Submissions.locate().get("nothing"))) {
      Reply setup = model.setup(BASE, Arguments.none());

      assertThat(setup.status().is(StatusCode.BAD_IMPLEMENTATION)).as("%s", setup).isTrue();
      assertThat(model.implementationClass()).isEmpty();
    }
  }

  @Test
  void theApiJarAloneIsNoSubmission(@TempDir Path folder) throws Exception {
    copyTrackerApi(folder);
    try (HostedModel model = HostedModel.open(folder)) {
      Reply setup = model.setup(BASE, Arguments.none());

      assertThat(setup.status().is(StatusCode.BAD_IMPLEMENTATION)).as("%s", setup).isTrue();
      assertThat(setup.status().message())
          .contains(
              LastValueTracker.class.getName()
                  + " ships in the same jar or folder as the base class");
    }
  }

  @Test
  void aSubmissionThatBundlesTheApiJarByMistakeStillGetsItsOwnModel(@TempDir Path folder)
      throws Exception {
    Path good = Submissions.locate().get("good");
    for (String jar : SubmissionFolders.jars(good)) {
      Files.copy(good.resolve(jar), folder.resolve(jar));
    }
    copyTrackerApi(folder);
    try (HostedModel model = HostedModel.open(folder)) {
      Reply setup = model.setup(BASE, Arguments.none());

      assertThat(setup.status().isSuccess()).as("%s", setup).isTrue();
      assertThat(model.implementationClass().orElseThrow().getName())
          .isEqualTo("org.modelrunner.examples.models.good.EwmaTracker");
    }
  }

  /**
   * Copies the tracker API (its jar, or its class folder when run from an IDE) into {@code folder}.
   */
  private static void copyTrackerApi(Path folder) throws IOException, URISyntaxException {
    Path api =
        Path.of(TrackerBase.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    if (Files.isDirectory(api)) {
      try (Stream<Path> files = Files.walk(api)) {
        for (Path file : (Iterable<Path>) files::iterator) {
          Path target = folder.resolve(api.relativize(file).toString());
          if (Files.isDirectory(file)) {
            Files.createDirectories(target);
          } else {
            Files.copy(file, target);
          }
        }
      }
    } else {
      Files.copy(api, folder.resolve(api.getFileName()));
    }
  }
}
