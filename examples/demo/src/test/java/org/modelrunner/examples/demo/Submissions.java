package org.modelrunner.examples.demo;

import java.nio.file.Path;
import java.util.Map;

/** Where the tests find the submission folders the reactor built. */
final class Submissions {
  /** Set by the demo's pom (surefire) to examples/models; the default works from examples/demo. */
  private static final String PROPERTY = "modelrunner.examples.models";

  private Submissions() {}

  static Path models() {
    return Path.of(System.getProperty(PROPERTY, "../models"));
  }

  static Map<String, Path> locate() {
    return SubmissionFolders.locate(models());
  }
}
