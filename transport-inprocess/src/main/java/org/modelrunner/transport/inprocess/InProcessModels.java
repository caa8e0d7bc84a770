package org.modelrunner.transport.inprocess;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.modelrunner.loader.HostedModel;
import org.modelrunner.loader.Submission;
import org.modelrunner.spi.ModelDirectory;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.ModelState;
import org.modelrunner.spi.TransportSettings;

/**
 * The JVM-wide registry of in-process models: each is registered under a name and reached at {@code
 * inproc://name} through the {@link InProcessTransportProvider}'s transports, as if it ran behind
 * its own runner process.
 *
 * <pre>{@code
 * try (InProcessRunner alice = InProcessModels.submission("alice", Path.of("submissions/alice"))
 *         .modelId("m1")
 *         .faults(Faults.builder().failEvery(10).build())
 *         .register();
 *     ModelTransport transport = new InProcessTransportProvider().create(TransportSettings.defaults());
 *     ModelConnection connection = transport.connect(alice.endpoint())) {
 *   connection.setup("com.example.TrackerBase", Arguments.none(), Duration.ofSeconds(5)).join();
 * }
 * }</pre>
 *
 * <p>A model comes from a submission (a directory or a jar, loaded in a class loader of its own by
 * {@link HostedModel#open}), or, for a coordinator's unit tests, from an implementation class on
 * the class path ({@link HostedModel#forImplementation}). Registration returns an {@link
 * InProcessRunner}, the handle that controls faults and crashes and that closes the model. {@link
 * #directory()} reports the registered models to a client as a {@link ModelDirectory}.
 *
 * <p>Threads: every runner, transport and started directory shares a few daemon threads (workers
 * named {@code modelrunner-inproc-N}, a timer and an events thread), started on first use and
 * stopped when the last of them is closed; {@link #awaitThreadsStopped} lets a test check that
 * nothing was left open.
 */
public final class InProcessModels {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

  private static final Object LOCK = new Object();
  private static final ConcurrentHashMap<String, HostedRunner> RUNNERS = new ConcurrentHashMap<>();
  private static final List<RegistryDirectory> DIRECTORIES = new ArrayList<>(); // guarded by LOCK

  private InProcessModels() {}

  /**
   * Starts the registration of the submission at {@code path} (a jar, or a directory of classes and
   * jars) under {@code name}; the model is loaded in its own class loader when {@link
   * Registration#register()} is called.
   *
   * @throws IllegalArgumentException if {@code name} is not a valid name (letters, digits, {@code .
   *     _ -}, starting with a letter or digit)
   * @throws NullPointerException if an argument is null
   */
  public static Registration submission(String name, Path path) {
    Objects.requireNonNull(path, "path");
    return new Registration(checkName(name), () -> HostedModel.open(path));
  }

  /**
   * Starts the registration of a submission whose isolation the caller configured (see {@link
   * Submission#builder}); the runner owns it and closes it with the model.
   *
   * @throws IllegalArgumentException if {@code name} is not a valid name
   * @throws NullPointerException if an argument is null
   */
  public static Registration submission(String name, Submission submission) {
    Objects.requireNonNull(submission, "submission");
    return new Registration(
        checkName(name), () -> HostedModel.builder(submission).ownsSubmission(true).build());
  }

  /**
   * Starts the registration of an implementation class already on the class path, without discovery
   * or isolation ({@link HostedModel#forImplementation}): for a coordinator's own tests.
   *
   * @throws IllegalArgumentException if {@code name} is not a valid name
   * @throws NullPointerException if an argument is null
   */
  public static Registration implementation(String name, Class<?> implementation) {
    Objects.requireNonNull(implementation, "implementation");
    return new Registration(checkName(name), () -> HostedModel.forImplementation(implementation));
  }

  /**
   * Registers the submission at {@code path} under {@code name} with the default options.
   *
   * @throws IllegalStateException if a model is already registered under {@code name}
   * @throws IllegalArgumentException if the name is invalid, or the path does not hold a submission
   */
  public static InProcessRunner register(String name, Path path) {
    return submission(name, path).register();
  }

  /**
   * Registers an implementation class on the class path under {@code name} with the default
   * options.
   *
   * @throws IllegalStateException if a model is already registered under {@code name}
   * @throws IllegalArgumentException if the name is invalid
   */
  public static InProcessRunner register(String name, Class<?> implementation) {
    return implementation(name, implementation).register();
  }

  /**
   * Returns a new directory of the registered models: on {@link ModelDirectory#start start}, a
   * snapshot of the models registered at that moment, then {@code RUNNING} for every registration
   * and {@code STOPPED} for every close or crash, delivered one at a time, in order, on the
   * transport's events thread.
   */
  public static ModelDirectory directory() {
    return new RegistryDirectory();
  }

  /**
   * Returns the endpoint of the model registered (or to be registered) under {@code name}: {@code
   * inproc://name}.
   *
   * @throws IllegalArgumentException if {@code name} is not a valid name
   */
  public static URI endpoint(String name) {
    checkName(name);
    try {
      return new URI(InProcessTransportProvider.SCHEME, name, null, null, null);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("Cannot make an endpoint of '" + name + "'", e);
    }
  }

  /** Returns the names under which models are registered now, sorted. */
  public static List<String> names() {
    List<String> names = new ArrayList<>(RUNNERS.keySet());
    names.sort(Comparator.naturalOrder());
    return names;
  }

  /** Closes every registered model (for a test's clean-up). */
  public static void closeAll() {
    for (HostedRunner runner : new ArrayList<>(RUNNERS.values())) {
      runner.close();
    }
  }

  /**
   * Waits until every thread of the in-process transport has ended, which happens once every
   * runner, transport and directory is closed (and model code running on a worker has returned: a
   * closed runner interrupts it). For tests that check that nothing was left open.
   *
   * @return whether no thread is left; false if some still run after {@code timeout}
   * @throws InterruptedException if interrupted while waiting
   */
  public static boolean awaitThreadsStopped(Duration timeout) throws InterruptedException {
    Objects.requireNonNull(timeout, "timeout");
    return TransportThreads.awaitNone(timeout);
  }

  // ---------------------------------------------------------------- for the package

  static HostedRunner lookup(String name) {
    return RUNNERS.get(name);
  }

  /**
   * Returns the model name of an {@code inproc://name} endpoint.
   *
   * @throws IllegalArgumentException if the URI is not an {@code inproc} URI with a valid name and
   *     no path, query or fragment
   */
  static String nameOf(URI endpoint) {
    Objects.requireNonNull(endpoint, "endpoint");
    if (!InProcessTransportProvider.SCHEME.equalsIgnoreCase(endpoint.getScheme())) {
      throw new IllegalArgumentException(
          "Not an inproc:// endpoint: "
              + endpoint
              + " (the in-process transport serves inproc://name)");
    }
    String name = endpoint.getRawAuthority();
    if (endpoint.isOpaque() || name == null || name.isEmpty()) {
      throw new IllegalArgumentException(
          "The endpoint " + endpoint + " names no model (inproc://name)");
    }
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "The endpoint "
              + endpoint
              + " does not name a model: '"
              + name
              + "' is not a name of letters, digits, '.', '_' and '-'");
    }
    String path = endpoint.getRawPath();
    if ((path != null && !path.isEmpty() && !path.equals("/"))
        || endpoint.getRawQuery() != null
        || endpoint.getRawFragment() != null) {
      throw new IllegalArgumentException(
          "The endpoint "
              + endpoint
              + " must be just inproc://name, without path, query or fragment");
    }
    return name;
  }

  private static String checkName(String name) {
    Objects.requireNonNull(name, "name");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "A model name is letters, digits, '.', '_' and '-', starting with a letter or digit; got '"
              + name
              + "'");
    }
    return name;
  }

  private static IllegalStateException nameInUse(String name) {
    return new IllegalStateException("A model is already registered as inproc://" + name);
  }

  private static void add(HostedRunner runner) {
    List<RegistryDirectory> notified;
    synchronized (LOCK) {
      if (RUNNERS.putIfAbsent(runner.name, runner) != null) {
        throw nameInUse(runner.name);
      }
      runner.registered = true;
      notified = List.copyOf(DIRECTORIES);
      for (RegistryDirectory directory : notified) {
        directory.enqueueUpdate(runner.directoryEntry, ModelState.RUNNING);
      }
    }
    notified.forEach(RegistryDirectory::schedule);
  }

  /** Removes the runner (if it is the one registered under its name) and reports it stopped. */
  static void unregister(HostedRunner runner) {
    List<RegistryDirectory> notified;
    synchronized (LOCK) {
      if (!RUNNERS.remove(runner.name, runner)) {
        return;
      }
      runner.registered = false;
      notified = List.copyOf(DIRECTORIES);
      for (RegistryDirectory directory : notified) {
        directory.enqueueUpdate(runner.directoryEntry, ModelState.STOPPED);
      }
    }
    notified.forEach(RegistryDirectory::schedule);
  }

  /** Queues the snapshot for a starting directory and adds it to the directories reported to. */
  static void attach(RegistryDirectory directory) {
    synchronized (LOCK) {
      List<HostedRunner> running = new ArrayList<>(RUNNERS.values());
      running.sort(Comparator.comparing(runner -> runner.name));
      List<ModelEndpoint> entries = new ArrayList<>(running.size());
      for (HostedRunner runner : running) {
        entries.add(runner.directoryEntry);
      }
      directory.enqueueSnapshot(entries);
      DIRECTORIES.add(directory);
    }
  }

  static void detach(RegistryDirectory directory) {
    synchronized (LOCK) {
      DIRECTORIES.remove(directory);
    }
  }

  /**
   * The options of one registration; every option has a default. Made by {@link
   * InProcessModels#submission} or {@link InProcessModels#implementation}; {@link #register()}
   * loads the model and registers it.
   */
  public static final class Registration {
    private final String name;
    private final java.util.function.Supplier<HostedModel> model;
    private String modelId;
    private String deploymentId;
    private Map<String, String> infos = Map.of();
    private int maxMessageBytes = TransportSettings.DEFAULT_MAX_MESSAGE_BYTES;
    private boolean zeroCopy;
    private Faults faults = Faults.none();

    private Registration(String name, java.util.function.Supplier<HostedModel> model) {
      this.name = name;
      this.model = model;
    }

    /** Sets the model id the directory reports. Default: the name. */
    public Registration modelId(String modelId) {
      this.modelId = Objects.requireNonNull(modelId, "modelId");
      return this;
    }

    /**
     * Sets the deployment id the directory reports. Default: the model id. Give each new
     * registration of the same model id its own deployment id to simulate a new submission.
     */
    public Registration deploymentId(String deploymentId) {
      this.deploymentId = Objects.requireNonNull(deploymentId, "deploymentId");
      return this;
    }

    /** Sets the descriptive information the directory reports (copied; values may be null). */
    public Registration infos(Map<String, String> infos) {
      Objects.requireNonNull(infos, "infos");
      this.infos = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(infos));
      return this;
    }

    /**
     * Sets the runner's message size limit, for requests it accepts and replies it sends. Default:
     * {@link TransportSettings#DEFAULT_MAX_MESSAGE_BYTES}, as the gRPC runner.
     *
     * @throws IllegalArgumentException if {@code bytes} is not positive
     */
    public Registration maxMessageBytes(int bytes) {
      if (bytes <= 0) {
        throw new IllegalArgumentException("maxMessageBytes must be positive, got " + bytes);
      }
      this.maxMessageBytes = bytes;
      return this;
    }

    /**
     * Sets whether the runner skips the byte round trip: it takes the caller's arguments and hands
     * back its reply as they are, instead of decoding its own copy and encoding the reply. Sizes
     * are still computed and limited. Off by default; a model must then never modify what it
     * receives.
     */
    public Registration zeroCopy(boolean zeroCopy) {
      this.zeroCopy = zeroCopy;
      return this;
    }

    /** Sets the faults injected from the start. Default: {@link Faults#none()}. */
    public Registration faults(Faults faults) {
      this.faults = Objects.requireNonNull(faults, "faults");
      return this;
    }

    /**
     * Loads the model and registers it; from now on {@code inproc://name} reaches it and
     * directories report it {@code RUNNING}.
     *
     * @throws IllegalStateException if a model is already registered under the name
     * @throws IllegalArgumentException if the submission cannot be opened (see {@link
     *     HostedModel#open})
     */
    public InProcessRunner register() {
      if (RUNNERS.containsKey(name)) {
        throw nameInUse(name);
      }
      String id = modelId != null ? modelId : name;
      ModelEndpoint entry =
          new ModelEndpoint(id, deploymentId != null ? deploymentId : id, endpoint(name), infos);
      HostedModel hosted = model.get();
      HostedRunner runner;
      try {
        runner = new HostedRunner(name, entry, hosted, maxMessageBytes, zeroCopy, faults);
      } catch (RuntimeException | Error e) {
        hosted.close();
        throw e;
      }
      try {
        add(runner);
      } catch (IllegalStateException e) {
        runner.close();
        throw e;
      }
      return new InProcessRunner(runner);
    }
  }
}
