package org.modelrunner.spi;

import java.net.URL;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A participant's submitted code, as {@link ModelDiscovery} providers see it: the class loader it
 * is loaded in, where it came from, and what it contains.
 */
public interface SubmittedCode {
  /** Returns the submission's own class loader; classes it defines belong to the submission. */
  ClassLoader classLoader();

  /** Returns the jars and class folders that make up the submission, in class-path order. */
  List<Path> locations();

  /** Returns the binary names of every class file in the submission, sorted, without duplicates. */
  List<String> classNames();

  /**
   * Returns the submission's own resources of that name (never the host's), in class-path order.
   */
  List<URL> resources(String name);

  /**
   * Returns the jar or class folder the given class was loaded from, or empty when it has none (a
   * JDK class, or a class defined at run time).
   */
  Optional<Path> locationOf(Class<?> type);
}
