package org.modelrunner.loader;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The class loader of one submission (Flink's child-first pattern).
 *
 * <p>Lookup order for a class: the JDK (platform loader); then, for a name in a shared package, the
 * host (our API and logging facades are always the host's, so that submission and host agree on
 * them); then the submission's own jars and folders; then the fallback loader (where a base class
 * published by the coordinator may live). A shared class the host does not have is taken from the
 * submission.
 */
final class SubmissionClassLoader extends URLClassLoader {
  static {
    registerAsParallelCapable();
  }

  private final ClassLoader host;
  private final ClassLoader fallback;
  private final List<String> sharedPrefixes;

  SubmissionClassLoader(
      String name,
      URL[] urls,
      ClassLoader host,
      ClassLoader fallback,
      List<String> sharedPrefixes) {
    super(name, urls, ClassLoader.getPlatformClassLoader());
    this.host = host;
    this.fallback = fallback;
    this.sharedPrefixes = List.copyOf(sharedPrefixes);
  }

  private boolean isShared(String name) {
    for (String prefix : sharedPrefixes) {
      if (name.startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }

  @Override
  protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
    synchronized (getClassLoadingLock(name)) {
      Class<?> type = findLoadedClass(name);
      if (type == null) {
        type = lookUp(name);
      }
      if (resolve) {
        resolveClass(type);
      }
      return type;
    }
  }

  private Class<?> lookUp(String name) throws ClassNotFoundException {
    try {
      return getParent().loadClass(name);
    } catch (ClassNotFoundException notInJdk) {
      // continue
    }
    if (isShared(name)) {
      try {
        return host.loadClass(name);
      } catch (ClassNotFoundException notInHost) {
        // the host lacks this facade: the submission's own copy may do
      }
    }
    try {
      return findClass(name);
    } catch (ClassNotFoundException notInSubmission) {
      if (fallback == null) {
        throw notInSubmission;
      }
    }
    return fallback.loadClass(name);
  }

  /** Returns whether this loader has defined or been asked for the class (for tests). */
  boolean hasLoaded(String name) {
    return findLoadedClass(name) != null;
  }

  @Override
  public URL getResource(String name) {
    URL url = getParent().getResource(name);
    if (url == null && isShared(resourceToClassName(name))) {
      url = host.getResource(name);
    }
    if (url == null) {
      url = findResource(name);
    }
    if (url == null && fallback != null) {
      url = fallback.getResource(name);
    }
    return url;
  }

  @Override
  public Enumeration<URL> getResources(String name) throws IOException {
    Set<URL> urls = new LinkedHashSet<>();
    urls.addAll(Collections.list(getParent().getResources(name)));
    if (isShared(resourceToClassName(name))) {
      urls.addAll(Collections.list(host.getResources(name)));
    }
    urls.addAll(Collections.list(findResources(name)));
    if (fallback != null) {
      urls.addAll(Collections.list(fallback.getResources(name)));
    }
    return Collections.enumeration(new ArrayList<>(urls));
  }

  private static String resourceToClassName(String resource) {
    return resource.replace('/', '.');
  }
}
