package org.modelrunner.conformance;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelTransport;

/**
 * Everything one test opened (transports, connections, runners, submission class loaders) and the
 * threads that were alive before it, so that after the test the suite can close what is left open
 * and check that closing released the threads, the connections and the class loaders.
 */
final class Ledger {
  /** Threads the JDK, JUnit and the build tool start lazily and keep: never reported. */
  private static final List<String> JVM_THREADS =
      List.of(
          "junit-jupiter-timeout-watcher",
          "ForkJoinPool.commonPool-worker-",
          "CompletableFutureDelayScheduler",
          "Attach Listener",
          "process reaper",
          "Common-Cleaner",
          "surefire-forkedjvm-",
          "Reference Handler",
          "Finalizer",
          "Signal Dispatcher",
          "Notification Thread");

  private static final Duration PROBE_TIMEOUT = Duration.ofMillis(500);
  private static final Duration MIN_COLLECTION_TIME = Duration.ofSeconds(10);

  private final Set<Thread> baseline;
  private final List<String> ignoredPrefixes;
  private final List<ModelConnection> connections = Collections.synchronizedList(new ArrayList<>());
  private final List<ModelTransport> transports = Collections.synchronizedList(new ArrayList<>());
  private final List<RunnerHandle> runners = Collections.synchronizedList(new ArrayList<>());
  private final List<LoaderReference> loaders = Collections.synchronizedList(new ArrayList<>());
  private final ReferenceQueue<ClassLoader> collected = new ReferenceQueue<>();

  private Ledger(Set<Thread> baseline, Collection<String> sharedThreadPrefixes) {
    this.baseline = baseline;
    List<String> ignored = new ArrayList<>(JVM_THREADS);
    ignored.addAll(sharedThreadPrefixes);
    this.ignoredPrefixes = List.copyOf(ignored);
  }

  /** Takes the snapshot of live threads a test starts from. */
  static Ledger open(Collection<String> sharedThreadPrefixes) {
    Set<Thread> live = Collections.newSetFromMap(new IdentityHashMap<>());
    live.addAll(liveThreads());
    return new Ledger(live, sharedThreadPrefixes);
  }

  <T extends ModelTransport> T track(T transport) {
    transports.add(transport);
    return transport;
  }

  ModelConnection track(ModelConnection connection) {
    connections.add(connection);
    return connection;
  }

  RunnerHandle track(RunnerHandle runner) {
    runners.add(runner);
    return runner;
  }

  /**
   * Keeps a weak reference to a submission's class loader, to check after the test that it was
   * collected.
   */
  void trackLoader(String runnerName, ClassLoader loader) {
    loaders.add(new LoaderReference(runnerName, loader, collected));
  }

  /**
   * Forgets a runner, transport or connection the test closed itself and no longer needs, so that
   * the ledger does not keep it (and through it a submission's class loader) reachable.
   */
  void forget(Object resource) {
    runners.remove(resource);
    transports.remove(resource);
    connections.remove(resource);
  }

  /** Returns the threads alive now that were not alive before the test and are not ignored. */
  List<Thread> newThreads() {
    return liveThreads().stream()
        .filter(thread -> !baseline.contains(thread) && !isIgnored(thread.getName()))
        .collect(Collectors.toList());
  }

  /**
   * Waits until every thread started during the test has ended, at most {@code timeout}, and
   * returns the ones still alive. Joins the threads rather than sleeping.
   */
  List<Thread> awaitNewThreadsEnded(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      List<Thread> alive = newThreads();
      long left = deadline - System.nanoTime();
      if (alive.isEmpty() || left <= 0) {
        return alive;
      }
      try {
        alive.get(0).join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return newThreads();
      }
    }
  }

  /**
   * Closes every connection and transport, stops every runner, then checks that the connections no
   * longer answer, that the threads started during the test ended and that the class loaders were
   * collected.
   *
   * @return the problems found, each a sentence that says what to check; empty if everything was
   *     released
   */
  List<String> releaseAll(Duration releaseTimeout, Duration tolerance) {
    List<String> problems = new ArrayList<>();
    List<ModelConnection> openConnections = snapshot(connections);
    for (ModelConnection connection : openConnections) {
      try {
        connection.close();
      } catch (RuntimeException e) {
        problems.add(
            "ModelConnection.close() of "
                + connection.endpoint()
                + " threw "
                + e
                + "; it must never throw");
      }
    }
    for (ModelTransport transport : snapshot(transports)) {
      long start = System.nanoTime();
      try {
        transport.close();
      } catch (RuntimeException e) {
        problems.add("ModelTransport.close() threw " + e);
      }
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      if (took.compareTo(releaseTimeout) > 0) {
        problems.add(
            "ModelTransport.close() took "
                + took.toMillis()
                + " ms, more than the release timeout of "
                + releaseTimeout.toMillis()
                + " ms");
      }
    }
    for (ModelConnection connection : openConnections) {
      String problem = probeClosed(connection, tolerance);
      if (problem != null) {
        problems.add(problem);
      }
    }
    for (RunnerHandle runner : snapshot(runners)) {
      try {
        runner.stop();
      } catch (RuntimeException e) {
        problems.add("RunnerHandle.stop() of " + runner.endpoint() + " threw " + e);
      }
    }
    connections.clear();
    transports.clear();
    runners.clear();
    openConnections = null;

    List<Thread> leaked = awaitNewThreadsEnded(releaseTimeout);
    if (!leaked.isEmpty()) {
      problems.add(describeLeak(leaked, releaseTimeout));
    }
    if (!loaders.isEmpty()) {
      List<String> kept =
          awaitCollected(
              releaseTimeout.compareTo(MIN_COLLECTION_TIME) > 0
                  ? releaseTimeout
                  : MIN_COLLECTION_TIME);
      if (!kept.isEmpty()) {
        problems.add(
            "The class loader of the submission of "
                + String.join(", ", kept)
                + " was not garbage-collected after its runner was stopped: something still references the"
                + " submission's classes or instances (the runner or its handle kept in a registry, a cache"
                + " keyed by class, a thread still running model code, a thread-local or context class loader,"
                + " a shutdown hook). Take a heap dump and look at the paths to the submission's class loader.");
      }
    }
    return problems;
  }

  /**
   * Waits until every tracked class loader has been collected (System.gc() and the reference queue,
   * not a fixed sleep), at most {@code timeout}, and returns the names of the runners whose loader
   * was not.
   */
  List<String> awaitCollected(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      List<String> kept = new ArrayList<>();
      synchronized (loaders) {
        for (LoaderReference reference : loaders) {
          if (!reference.refersTo(null)) {
            kept.add(reference.runnerName);
          }
        }
      }
      if (kept.isEmpty() || System.nanoTime() >= deadline) {
        if (kept.isEmpty()) {
          loaders.clear();
        }
        return kept;
      }
      System.gc();
      try {
        collected.remove(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return kept;
      }
    }
  }

  /**
   * Sends a health check on a closed connection: it must fail (or be refused at once), never be
   * answered.
   */
  private static String probeClosed(ModelConnection connection, Duration tolerance) {
    CompletableFuture<HealthStatus> future;
    try {
      future = connection.checkHealth(PROBE_TIMEOUT);
    } catch (IllegalStateException | org.modelrunner.spi.TransportException e) {
      return null;
    } catch (RuntimeException e) {
      return "A health check on a closed connection to " + connection.endpoint() + " threw " + e;
    }
    try {
      HealthStatus status =
          future.get(PROBE_TIMEOUT.plus(tolerance).toMillis(), TimeUnit.MILLISECONDS);
      return "The connection to "
          + connection.endpoint()
          + " still answered a health check ("
          + status
          + ") after it and its transport were closed: closing must release the connection";
    } catch (ExecutionException e) {
      return null;
    } catch (TimeoutException e) {
      return "A health check on the closed connection to "
          + connection.endpoint()
          + " did not complete within its timeout plus the tolerance: a closed connection must fail requests";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  static String describeLeak(List<Thread> leaked, Duration waited) {
    StringBuilder text = new StringBuilder();
    text.append(leaked.size())
        .append(" thread(s) started during the test still run ")
        .append(waited.toMillis())
        .append(
            " ms after the test's transports were closed and its runners stopped (a transport or runner"
                + " that does not stop the threads it starts, an executor never shut down, a model call left"
                + " running; if the transport keeps a JVM-wide pool on purpose, declare its thread names in"
                + " TransportFixture.sharedThreadNamePrefixes()):");
    for (Thread thread : leaked) {
      text.append("\n  '")
          .append(thread.getName())
          .append("' (")
          .append(thread.getState())
          .append(thread.isDaemon() ? ", daemon" : "")
          .append(")");
      StackTraceElement[] stack = thread.getStackTrace();
      Arrays.stream(stack).limit(6).forEach(frame -> text.append("\n      at ").append(frame));
    }
    return text.toString();
  }

  private boolean isIgnored(String name) {
    for (String prefix : ignoredPrefixes) {
      if (name.startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }

  private static Set<Thread> liveThreads() {
    return Thread.getAllStackTraces().keySet();
  }

  private static <T> List<T> snapshot(List<T> list) {
    synchronized (list) {
      return new ArrayList<>(list);
    }
  }

  /** A weak reference to a submission's class loader, named after its runner. */
  private static final class LoaderReference extends WeakReference<ClassLoader> {
    final String runnerName;

    LoaderReference(String runnerName, ClassLoader loader, ReferenceQueue<ClassLoader> queue) {
      super(loader, queue);
      this.runnerName = runnerName;
    }
  }
}
