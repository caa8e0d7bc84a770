package org.modelrunner.examples.demo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Finds the example submissions: each is the folder {@code <models>/<name>/target/submission} that
 * its module's build fills with the model's jar (and, for {@code heavy}, the jars of its own
 * dependencies).
 */
final class SubmissionFolders {
  /** The example submissions, each registered under its name, which is also its model id. */
  static final List<String> NAMES = List.of("good", "slow", "throwing", "nothing", "heavy");

  /** Where the build puts them, relative to the project's root. */
  static final Path DEFAULT_MODELS = Path.of("examples", "models");

  private static final String OWN_JAR_PREFIX = "model-runner-example-";

  static final String BUILD_COMMAND = "./mvnw -B -ntp -DskipTests install";

  private SubmissionFolders() {}

  /**
   * Returns the submission folder of each example, by name, in {@link #NAMES} order.
   *
   * @throws MissingSubmissionsException if a folder is missing or holds no jar; the message says
   *     how to build them
   */
  static Map<String, Path> locate(Path models) {
    Map<String, Path> found = new LinkedHashMap<>();
    List<String> missing = new ArrayList<>();
    for (String name : NAMES) {
      Path folder = models.resolve(name).resolve("target").resolve("submission");
      if (holdsJar(folder)) {
        found.put(name, folder.toAbsolutePath().normalize());
      } else {
        missing.add(folder.toString());
      }
    }
    if (!missing.isEmpty()) {
      throw new MissingSubmissionsException(
          "The example submissions are not built: "
              + missing.get(0)
              + " holds no jar"
              + (missing.size() > 1 ? " (nor do " + (missing.size() - 1) + " others)" : "")
              + ".\n"
              + "Run the build first, from the project's root: "
              + BUILD_COMMAND
              + "\n"
              + "then start the demo from there: java -jar examples/demo/target/model-runner-demo.jar\n"
              + "(or point --models-dir at the folder that holds <name>/target/submission; it is now "
              + models.toAbsolutePath().normalize()
              + ").");
    }
    return found;
  }

  /**
   * Returns the names of the jars in a submission folder: the example's own first, then the others
   * sorted.
   */
  static List<String> jars(Path folder) {
    try (Stream<Path> files = Files.list(folder)) {
      return files
          .map(file -> file.getFileName().toString())
          .filter(name -> name.endsWith(".jar"))
          .sorted(
              Comparator.comparing((String name) -> !name.startsWith(OWN_JAR_PREFIX))
                  .thenComparing(Comparator.naturalOrder()))
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot list " + folder, e);
    }
  }

  private static boolean holdsJar(Path folder) {
    return Files.isDirectory(folder) && !jars(folder).isEmpty();
  }

  /** The example submissions have not been built (or are not where they were looked for). */
  static final class MissingSubmissionsException extends IllegalStateException {
    MissingSubmissionsException(String message) {
      super(message);
    }
  }
}
