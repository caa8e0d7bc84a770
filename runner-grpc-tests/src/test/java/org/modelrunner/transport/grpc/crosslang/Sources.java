package org.modelrunner.transport.grpc.crosslang;

import java.io.IOException;
import java.nio.file.Path;
import org.modelrunner.testsupport.JavaSources;
import org.modelrunner.transport.grpc.crosslang.fixtures.TickerBase;

/**
 * Compiles this module's test submissions: {@link JavaSources} with the base-class fixture on the
 * class path.
 */
final class Sources {
  private Sources() {}

  static JavaSources create() {
    return JavaSources.create(TickerBase.class);
  }

  static Path locationOf(Class<?> type) {
    return JavaSources.locationOf(type);
  }

  static void pack(Path folder, Path jar) throws IOException {
    JavaSources.pack(folder, jar);
  }
}
