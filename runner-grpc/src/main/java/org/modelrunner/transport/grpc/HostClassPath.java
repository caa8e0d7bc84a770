package org.modelrunner.transport.grpc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.stream.Stream;
import org.modelrunner.loader.Submission;

/**
 * The host class path: jars and class folders, where a coordinator's base-class jar lives, that a
 * submission sees through its fallback class loader. Over it, either the application's class loader
 * (an embedded runner, by default) or only the JDK and the shared API packages ({@link
 * Submission#DEFAULT_SHARED_PACKAGES}): then nothing else of the runner (gRPC, Netty, protobuf,
 * Jackson's data binding, commons-cli, this package) is visible to submitted code.
 *
 * <p>An entry is a jar, or a folder: the folder is a class folder and every {@code .jar} beneath it
 * (in sorted path order) is added too, as for a submission.
 */
final class HostClassPath {
  private HostClassPath() {}

  /**
   * Returns a loader of the entries with the given parent, or null when there are no entries. The
   * caller closes it.
   *
   * @throws IllegalArgumentException if an entry does not exist or is neither a jar nor a folder
   * @throws UncheckedIOException if a folder cannot be read
   */
  static URLClassLoader loader(List<Path> entries, ClassLoader parent) {
    if (entries.isEmpty()) {
      return null;
    }
    List<URL> urls = new ArrayList<>();
    for (Path entry : expand(entries)) {
      try {
        urls.add(entry.toUri().toURL());
      } catch (MalformedURLException e) {
        throw new IllegalArgumentException(
            "Cannot use " + entry + " as a host class path entry", e);
      }
    }
    return new URLClassLoader("modelrunner-host-class-path", urls.toArray(new URL[0]), parent);
  }

  /** Returns a loader that shows the JDK and the shared packages of {@code host}, nothing else. */
  static ClassLoader sharedPackagesOnly(ClassLoader host) {
    return new SharedPackagesLoader(host);
  }

  /** Returns the jars and class folders the entries stand for, checked. */
  static List<Path> expand(List<Path> entries) {
    List<Path> result = new ArrayList<>();
    for (Path given : entries) {
      Path entry = given.toAbsolutePath().normalize();
      if (Files.isDirectory(entry)) {
        result.add(entry);
        try (Stream<Path> files = Files.walk(entry)) {
          files
              .filter(
                  file ->
                      Files.isRegularFile(file) && file.getFileName().toString().endsWith(".jar"))
              .sorted()
              .forEach(result::add);
        } catch (IOException e) {
          throw new UncheckedIOException("Cannot read the host class path folder " + entry, e);
        }
      } else if (Files.isRegularFile(entry)) {
        result.add(entry);
      } else {
        throw new IllegalArgumentException(
            "The host class path entry " + entry + " does not exist");
      }
    }
    return result;
  }

  /**
   * The parent of the host class path's loader: the JDK (platform loader), and the classes and
   * resources of the shared packages from the host; nothing else.
   */
  static final class SharedPackagesLoader extends ClassLoader {
    static {
      registerAsParallelCapable();
    }

    private final ClassLoader host;

    SharedPackagesLoader(ClassLoader host) {
      super("modelrunner-shared-packages", ClassLoader.getPlatformClassLoader());
      this.host = host;
    }

    static boolean isShared(String className) {
      for (String prefix : Submission.DEFAULT_SHARED_PACKAGES) {
        if (className.startsWith(prefix)) {
          return true;
        }
      }
      return false;
    }

    @Override
    protected Class<?> findClass(String name) throws ClassNotFoundException {
      if (isShared(name)) {
        return host.loadClass(name);
      }
      throw new ClassNotFoundException(name);
    }

    @Override
    protected URL findResource(String name) {
      return isShared(name.replace('/', '.')) ? host.getResource(name) : null;
    }

    @Override
    protected Enumeration<URL> findResources(String name) throws IOException {
      return isShared(name.replace('/', '.'))
          ? host.getResources(name)
          : Collections.emptyEnumeration();
    }
  }
}
