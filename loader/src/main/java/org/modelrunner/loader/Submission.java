package org.modelrunner.loader;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.MalformedURLException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.WeakHashMap;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.modelrunner.spi.SubmittedCode;

/**
 * A participant's submitted code, loaded in a class loader of its own.
 *
 * <p>A submission is one jar, or a directory: the directory itself is a class folder (its {@code
 * .class} files are named by their path below it) and every {@code .jar} beneath it, in sorted path
 * order, is added to its class path.
 *
 * <p>Isolation: the submission's class loader has the JDK's platform loader as parent. Classes of
 * the {@linkplain Builder#sharePackages shared packages} (by default this library's API, {@code
 * org.modelrunner.spi}, the Jackson annotations, and the SLF4J and Log4j logging facades) are
 * always taken from the host, even when the submission bundles its own copy. Every other class
 * comes from the submission first, and only when the submission lacks it from the {@linkplain
 * Builder#fallbackClassLoader fallback loader}, where a coordinator's base-class jar can live. Two
 * submissions never see each other's classes.
 *
 * <p>Threads: a submission has a {@linkplain #threadGroup() thread group} (made when first asked
 * for). A runner that runs model code on threads it makes with {@link #newThread} (the gRPC runner
 * does) runs it in that group, so the threads model code starts belong to it too. A runner that
 * runs model code on threads shared with other submissions (the in-process transport does) cannot:
 * there, the threads model code starts are known by their context class loader, which a new thread
 * takes from the thread that starts it, and model code runs with the submission's. {@link
 * #strayThreads()} lists both kinds still alive, which {@link HostedModel} reports at reset and
 * close. The second kind needs a class loader of the submission's own: a submission {@linkplain
 * #ofClassLoader of a class loader it does not own} (the class path, say) shares it with the host,
 * and only its group counts.
 *
 * <p>Closing the submission closes its class loader; once nothing else refers to its classes, the
 * loader and everything it loaded can be collected.
 */
public final class Submission implements SubmittedCode, AutoCloseable {
  /** The package prefixes shared with the host by default. */
  public static final List<String> DEFAULT_SHARED_PACKAGES =
      List.of(
          "org.modelrunner.spi.",
          "com.fasterxml.jackson.annotation.",
          "org.slf4j.",
          "org.apache.logging.log4j.");

  private static final AtomicInteger IDS = new AtomicInteger();

  private final Path path;
  private final List<Path> locations;
  private final List<String> classNames;
  private final ClassLoader classLoader;
  private final boolean ownsClassLoader;

  /** The name of {@link #threadGroup}. */
  private final String threadGroupName;

  /** The parent of {@link #threadGroup}: the group of the thread that opened the submission. */
  private final ThreadGroup parentGroup;

  /**
   * The submission's thread group, made by the first {@link #threadGroup()} or {@link #newThread}:
   * a host that runs model code on threads shared with other submissions (the in-process
   * transport's) makes none. On Java 17 a thread group stays in its parent's list until it is
   * destroyed, and every look for the JVM's threads walks them all, so one group for each of 10,000
   * hosted models made the stray-thread check at each model's close and reset walk 10,000 groups.
   * Guarded by {@link #runnerThreads}.
   */
  private ThreadGroup threadGroup;

  /** The threads made by {@link #newThread}: the runner's, not the model's. Guarded by itself. */
  private final Set<Thread> runnerThreads = Collections.newSetFromMap(new WeakHashMap<>());

  private Submission(
      Path path, ClassLoader classLoader, List<Path> locations, List<String> classNames) {
    this.path = path;
    this.classLoader = classLoader;
    this.ownsClassLoader = false;
    this.threadGroupName = "submission-" + IDS.incrementAndGet() + ":class-path";
    this.parentGroup = Thread.currentThread().getThreadGroup();
    this.locations = List.copyOf(locations);
    this.classNames = List.copyOf(classNames);
  }

  private Submission(Builder builder, List<Path> locations, List<String> classNames) {
    this.ownsClassLoader = true;
    this.path = builder.path;
    this.locations = List.copyOf(locations);
    this.classNames = List.copyOf(classNames);
    URL[] urls = new URL[locations.size()];
    for (int i = 0; i < urls.length; i++) {
      try {
        urls[i] = locations.get(i).toUri().toURL();
      } catch (MalformedURLException e) {
        throw new IllegalArgumentException(
            "Cannot use " + locations.get(i) + " as a class path entry", e);
      }
    }
    List<String> shared = new ArrayList<>(DEFAULT_SHARED_PACKAGES);
    shared.addAll(builder.extraShared);
    String name = "submission-" + IDS.incrementAndGet() + ":" + path.getFileName();
    this.threadGroupName = name;
    this.parentGroup = Thread.currentThread().getThreadGroup();
    this.classLoader =
        new SubmissionClassLoader(name, urls, builder.host, builder.fallback, shared);
  }

  /**
   * Opens the submission at {@code path} (a jar or a directory) with the default isolation.
   *
   * @throws IllegalArgumentException if the path does not exist, holds no jar and no class file, or
   *     holds a jar that cannot be read as one (not a zip file, say): the message names the jar and
   *     the cause
   * @throws UncheckedIOException if the submission cannot be read
   */
  public static Submission open(Path path) {
    return builder(path).build();
  }

  /**
   * Returns a submission made of classes already loaded by {@code loader} (typically the
   * application's class path), without isolation: for hosting an implementation class in a
   * coordinator's own tests. {@link #classNames()} is empty (nothing is scanned) and {@link
   * #close()} leaves the loader open.
   */
  public static Submission ofClassLoader(ClassLoader loader) {
    Objects.requireNonNull(loader, "loader");
    return new Submission(Path.of("").toAbsolutePath(), loader, List.of(), List.of());
  }

  /** Returns a builder for the submission at {@code path} (a jar or a directory). */
  public static Builder builder(Path path) {
    return new Builder(path);
  }

  /** Returns the path the submission was opened from. */
  public Path path() {
    return path;
  }

  @Override
  public ClassLoader classLoader() {
    return classLoader;
  }

  @Override
  public List<Path> locations() {
    return locations;
  }

  @Override
  public List<String> classNames() {
    return classNames;
  }

  @Override
  public List<URL> resources(String name) {
    if (!(classLoader instanceof SubmissionClassLoader own)) {
      return List.of();
    }
    try {
      return Collections.list(own.findResources(name));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read resource " + name + " of " + path, e);
    }
  }

  @Override
  public Optional<Path> locationOf(Class<?> type) {
    CodeSource source = type.getProtectionDomain().getCodeSource();
    if (source == null || source.getLocation() == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(Path.of(source.getLocation().toURI()).toAbsolutePath().normalize());
    } catch (URISyntaxException
        | IllegalArgumentException
        | java.nio.file.FileSystemNotFoundException e) {
      return Optional.empty();
    }
  }

  /**
   * Returns the submission's thread group: the group of the threads {@link #newThread} makes, and
   * so of the threads model code starts from them (unless it names another group).
   */
  public ThreadGroup threadGroup() {
    synchronized (runnerThreads) {
      if (threadGroup == null) {
        try {
          threadGroup = new ThreadGroup(parentGroup, threadGroupName);
        } catch (IllegalThreadStateException destroyed) {
          threadGroup = new ThreadGroup(threadGroupName); // the opener's group is gone: this one's
        }
      }
      return threadGroup;
    }
  }

  /**
   * Returns a new daemon thread of the runner, not started, in the submission's {@linkplain
   * #threadGroup() thread group}, with the submission's class loader as its context class loader: a
   * runner runs model code on such threads, so that the threads the model starts can be told apart
   * from the runner's ({@link #strayThreads()}).
   */
  public Thread newThread(Runnable body, String name) {
    Thread thread = new Thread(threadGroup(), body, name);
    thread.setDaemon(true);
    thread.setContextClassLoader(classLoader);
    synchronized (runnerThreads) {
      runnerThreads.add(thread);
    }
    return thread;
  }

  /**
   * Returns the threads model code started and left alive, and that are not the runner's: those of
   * the submission's thread group (started from a thread made by {@link #newThread}) and, when the
   * submission has a class loader of its own, those anywhere whose context class loader is the
   * submission's (started from a thread that ran model code, which runs with it). The JDK's common
   * fork-join pool, which model code may have started, is not the model's; neither is the calling
   * thread.
   */
  public List<Thread> strayThreads() {
    ThreadGroup group;
    synchronized (runnerThreads) {
      group = threadGroup;
    }
    Set<Thread> candidates = new LinkedHashSet<>();
    if (group != null) { // none made: no thread can be in it
      candidates.addAll(threadsOf(group));
    }
    if (ownsClassLoader) {
      ThreadGroup root = Thread.currentThread().getThreadGroup();
      while (root.getParent() != null) {
        root = root.getParent();
      }
      for (Thread thread : threadsOf(root)) {
        if (thread.getContextClassLoader() == classLoader) {
          candidates.add(thread);
        }
      }
    }
    List<Thread> strays = new ArrayList<>();
    synchronized (runnerThreads) {
      for (Thread thread : candidates) {
        if (thread.isAlive()
            && thread != Thread.currentThread()
            && !runnerThreads.contains(thread)
            && !(thread instanceof ForkJoinWorkerThread worker
                && worker.getPool() == ForkJoinPool.commonPool())) {
          strays.add(thread);
        }
      }
    }
    return strays;
  }

  private static List<Thread> threadsOf(ThreadGroup group) {
    Thread[] threads = new Thread[group.activeCount() + 8];
    int count = group.enumerate(threads, true);
    return Arrays.asList(threads).subList(0, count);
  }

  /**
   * Closes the class loader (not one given to {@link #ofClassLoader}); classes already loaded keep
   * working, new ones cannot be loaded.
   */
  @Override
  public void close() {
    if (!ownsClassLoader) {
      return;
    }
    try {
      ((SubmissionClassLoader) classLoader).close();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot close the class loader of " + path, e);
    }
  }

  @Override
  public String toString() {
    return "Submission{"
        + path
        + ", "
        + locations.size()
        + " entries, "
        + classNames.size()
        + " classes}";
  }

  /** Configures the isolation of a submission. */
  public static final class Builder {
    private final Path path;
    private ClassLoader host = Submission.class.getClassLoader();
    private ClassLoader fallback = Submission.class.getClassLoader();
    private final List<String> extraShared = new ArrayList<>();

    private Builder(Path path) {
      this.path = Objects.requireNonNull(path, "path").toAbsolutePath().normalize();
    }

    /**
     * Sets the loader the shared packages are taken from. Defaults to the loader of this library,
     * which is what a host that depends on this library wants.
     */
    public Builder hostClassLoader(ClassLoader host) {
      this.host = Objects.requireNonNull(host, "host");
      return this;
    }

    /**
     * Sets the loader asked for classes the submission does not contain, such as the coordinator's
     * base class. Defaults to the loader of this library, so that base classes on the host's class
     * path are found; a runner that wants submissions to see nothing of the host but a few API jars
     * passes a loader of just those jars. {@code null} means the submission sees only itself, the
     * JDK and the shared packages.
     */
    public Builder fallbackClassLoader(ClassLoader fallback) {
      this.fallback = fallback;
      return this;
    }

    /**
     * Adds package prefixes (such as {@code "com.example.api."}) whose classes are always taken
     * from the host, in addition to {@link #DEFAULT_SHARED_PACKAGES}.
     */
    public Builder sharePackages(String... prefixes) {
      for (String prefix : prefixes) {
        Objects.requireNonNull(prefix, "prefix");
        extraShared.add(prefix.endsWith(".") ? prefix : prefix + ".");
      }
      return this;
    }

    /**
     * Reads the submission's layout and creates its class loader.
     *
     * @throws IllegalArgumentException if the path does not exist, holds no jar and no class file,
     *     or holds a jar that cannot be read as one (the message names it and says why)
     * @throws UncheckedIOException if the submission cannot be read
     */
    public Submission build() {
      if (!Files.exists(path)) {
        throw new IllegalArgumentException("The submission " + path + " does not exist");
      }
      List<Path> locations = new ArrayList<>();
      TreeSet<String> names = new TreeSet<>();
      try {
        if (Files.isDirectory(path)) {
          boolean hasClassFiles = false;
          List<Path> jars = new ArrayList<>();
          try (Stream<Path> files = Files.walk(path)) {
            for (Path file : (Iterable<Path>) files.sorted()::iterator) {
              String fileName = file.getFileName().toString();
              if (!Files.isRegularFile(file)) {
                continue;
              }
              if (fileName.endsWith(".jar")) {
                jars.add(file);
              } else if (fileName.endsWith(".class")) {
                String className = toClassName(path.relativize(file).toString().replace('\\', '/'));
                if (className != null) {
                  hasClassFiles = true;
                  names.add(className);
                }
              }
            }
          }
          if (hasClassFiles) {
            locations.add(path);
          }
          for (Path jar : jars) {
            locations.add(jar);
            addJarClassNames(jar, path, names);
          }
        } else {
          locations.add(path);
          addJarClassNames(path, path, names);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot read the submission " + path, e);
      }
      if (locations.isEmpty()) {
        throw new IllegalArgumentException(
            "The submission " + path + " contains no jar and no class file");
      }
      return new Submission(this, locations, new ArrayList<>(names));
    }

    /**
     * Adds the classes of a jar of the submission.
     *
     * @throws IllegalArgumentException if the jar cannot be read as one (not a zip file, damaged):
     *     the message names the jar and the cause
     */
    private static void addJarClassNames(Path jar, Path submission, TreeSet<String> names) {
      try (JarFile file = new JarFile(jar.toFile())) {
        for (JarEntry entry : Collections.list(file.entries())) {
          if (!entry.isDirectory()) {
            String className = toClassName(entry.getName());
            if (className != null) {
              names.add(className);
            }
          }
        }
      } catch (IOException | RuntimeException e) {
        // ZipException, an unreadable file; an IllegalStateException or IllegalArgumentException
        // for a damaged entry.
        throw new IllegalArgumentException(
            (jar.equals(submission)
                    ? "The submission " + jar
                    : "The jar " + submission.relativize(jar) + " in the submission " + submission)
                + " cannot be read as a jar: "
                + describe(e),
            e);
      }
    }

    private static String describe(Exception e) {
      String message = e.getMessage();
      String kind = e.getClass().getSimpleName();
      return message == null || message.isBlank() ? kind : message + " (" + kind + ")";
    }

    /**
     * Returns the binary class name of a class file entry, or null for what is not a loadable
     * class.
     */
    private static String toClassName(String entry) {
      if (!entry.endsWith(".class") || entry.startsWith("META-INF/")) {
        return null;
      }
      String name = entry.substring(0, entry.length() - ".class".length());
      if (name.endsWith("module-info") || name.endsWith("package-info")) {
        return null;
      }
      return name.replace('/', '.');
    }
  }
}
