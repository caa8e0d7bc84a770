package org.modelrunner.testsupport;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds {@code variants.json}, the encodings produced by the Python implementation, which lives in
 * {@code ../shared/vectors/} beside the project. The build passes its path as the system property
 * {@value #PROPERTY}; without it (a test run from an IDE), the folders above the working directory
 * are searched.
 */
public final class SharedVectors {
  /** The system property the build sets to the vectors file. */
  public static final String PROPERTY = "modelrunner.vectors";

  private static final String RELATIVE = "shared/vectors/variants.json";

  private SharedVectors() {}

  /**
   * Returns the vectors file.
   *
   * @throws IllegalStateException if it cannot be found (tests must fail, not skip, without it)
   */
  public static Path path() {
    String property = System.getProperty(PROPERTY);
    if (property != null && !property.isBlank() && Files.isRegularFile(Path.of(property))) {
      return Path.of(property);
    }
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path candidate = dir.resolve(RELATIVE);
      if (Files.isRegularFile(candidate)) {
        return candidate;
      }
    }
    throw new IllegalStateException(
        "Cannot find the test vectors: system property "
            + PROPERTY
            + " is "
            + (property == null ? "unset" : "'" + property + "' (no such file)")
            + ", and no "
            + RELATIVE
            + " was found in "
            + Path.of("").toAbsolutePath()
            + " or above");
  }
}
