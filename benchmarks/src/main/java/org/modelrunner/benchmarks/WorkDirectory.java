package org.modelrunner.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A benchmark's work folder in the temporary directory (its submission, its processes' logs, a
 * class-data archive): deleted when the benchmark's JVM exits, so that runs do not pile up there (a
 * run of {@code GrpcBaselineBenchmark} leaves a 20 MB archive), unless the run failed (an exception
 * that no code caught, in any thread: the logs say why) or {@code -Dkeep=true}; a folder kept is
 * named on standard error.
 */
final class WorkDirectory {
  private static volatile boolean failed;

  private WorkDirectory() {}

  /** Makes the folder, named {@code prefix} and a number, and arranges its deletion. */
  static Path create(String prefix) throws IOException {
    Path work = Files.createTempDirectory(prefix);
    Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
    Thread.setDefaultUncaughtExceptionHandler(
        (thread, error) -> {
          failed = true;
          if (previous != null) {
            previous.uncaughtException(thread, error);
          } else { // as the JVM reports it (its thread group would call this handler again)
            System.err.print("Exception in thread \"" + thread.getName() + "\" ");
            error.printStackTrace(System.err);
          }
        });
    Runtime.getRuntime()
        .addShutdownHook(new Thread(() -> atExit(work), "modelrunner-benchmark-work"));
    return work;
  }

  private static void atExit(Path work) {
    Processes.stopAll(); // their logs are in the folder
    if (failed || Boolean.getBoolean("keep")) {
      System.err.println("Work folder kept: " + work);
      return;
    }
    try {
      delete(work);
    } catch (IOException e) {
      System.err.println("Work folder " + work + " not deleted: " + e);
    }
  }

  /** Deletes {@code path}: a file, or a folder and everything in it; nothing if it is gone. */
  static void delete(Path path) throws IOException {
    if (!Files.exists(path)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(path)) {
      for (Path each : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(each);
      }
    }
  }
}
