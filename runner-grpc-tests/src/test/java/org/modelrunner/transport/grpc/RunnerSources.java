package org.modelrunner.transport.grpc;

import java.io.IOException;
import java.nio.file.Path;
import org.modelrunner.testsupport.JavaSources;
import org.modelrunner.transport.grpc.runnerfixtures.TrackerBase;

/**
 * Compiles this module's test submissions: {@link JavaSources} with the base-class fixture on the
 * class path.
 */
final class RunnerSources {
  private RunnerSources() {}

  static JavaSources create() {
    return JavaSources.create(TrackerBase.class);
  }

  /**
   * Writes a jar with {@code <apiPackage>.Base}, an abstract class with one method {@code long
   * value()}: the base class of a runner executable's test submission.
   */
  static Path baseApiJar(String apiPackage, Path jar) {
    return create()
        .add(
            apiPackage + ".Base",
            "package "
                + apiPackage
                + ";\npublic abstract class Base { public abstract long value(); }\n")
        .jarTo(jar);
  }

  static Path locationOf(Class<?> type) {
    return JavaSources.locationOf(type);
  }

  static void pack(Path folder, Path jar) throws IOException {
    JavaSources.pack(folder, jar);
  }
}
