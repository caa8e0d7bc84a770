package org.modelrunner.loader.discovery;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.objectweb.asm.ClassReader;

/**
 * The supertypes of every class of a submission, read from the class files' headers without loading
 * anything, so that the scan loads only the classes that may extend or implement the base class.
 * Loading every class of a submission with large dependencies costs seconds and metaspace; reading
 * headers costs little.
 */
final class ClassHeaders {
  /** Packages whose types can never extend a submission's or a coordinator's base class. */
  private static final List<String> PLATFORM =
      List.of("java/", "javax/", "jdk/", "sun/", "com/sun/");

  private record Header(String superName, String[] interfaces) {}

  private final Map<String, Header> headers;

  private ClassHeaders(Map<String, Header> headers) {
    this.headers = headers;
  }

  /** Reads the headers of the class files in these jars and folders (the first of a name wins). */
  static ClassHeaders read(List<Path> locations) {
    Map<String, Header> headers = new HashMap<>();
    for (Path location : locations) {
      try {
        if (Files.isDirectory(location)) {
          try (Stream<Path> files = Files.walk(location)) {
            for (Path file :
                (Iterable<Path>) files.filter(f -> f.toString().endsWith(".class"))::iterator) {
              try (InputStream in = Files.newInputStream(file)) {
                add(headers, in);
              }
            }
          }
        } else {
          try (JarFile jar = new JarFile(location.toFile())) {
            for (JarEntry entry : Collections.list(jar.entries())) {
              if (entry.getName().endsWith(".class") && !entry.getName().startsWith("META-INF/")) {
                try (InputStream in = jar.getInputStream(entry)) {
                  add(headers, in);
                }
              }
            }
          }
        }
      } catch (IOException e) {
        // Unreadable: the classes of this location are loaded to be checked, as without headers.
      }
    }
    return new ClassHeaders(headers);
  }

  private static void add(Map<String, Header> headers, InputStream in) {
    try {
      ClassReader reader = new ClassReader(in);
      headers.putIfAbsent(
          reader.getClassName(), new Header(reader.getSuperName(), reader.getInterfaces()));
    } catch (IOException | RuntimeException malformed) {
      // Not a readable class file: it will be loaded (and fail, and be noted) like any unknown
      // class.
    }
  }

  /**
   * Returns whether the class may extend or implement the base class: its supertypes, followed
   * through the submission's own headers, reach the base class, or leave the submission for a type
   * that is not the platform's (which only loading can check). A class without a readable header
   * may.
   */
  boolean mayExtend(String className, String baseClassName) {
    String base = baseClassName.replace('.', '/');
    if (isPlatform(base)) {
      return true; // the platform's own supertypes are not in the headers: only loading can tell
    }
    Deque<String> pending = new ArrayDeque<>();
    Set<String> seen = new HashSet<>();
    pending.add(className.replace('.', '/'));
    while (!pending.isEmpty()) {
      String name = pending.poll();
      if (name == null || !seen.add(name)) {
        continue;
      }
      if (name.equals(base)) {
        return true;
      }
      Header header = headers.get(name);
      if (header == null) {
        if (!isPlatform(name)) {
          return true;
        }
        continue;
      }
      pending.add(header.superName());
      Collections.addAll(pending, header.interfaces());
    }
    return false;
  }

  private static boolean isPlatform(String name) {
    for (String prefix : PLATFORM) {
      if (name.startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }
}
