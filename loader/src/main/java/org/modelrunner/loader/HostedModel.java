package org.modelrunner.loader;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.DiscoveryResult;
import org.modelrunner.spi.ModelBusyException;
import org.modelrunner.spi.ModelDiscovery;
import org.modelrunner.spi.ProviderRegistry;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.StatusCode;
import org.modelrunner.spi.StatusMessages;
import org.modelrunner.spi.ValueConversionException;
import org.modelrunner.spi.ValueConverter;
import org.modelrunner.spi.Variant;

/**
 * Hosts one submitted model: finds the implementation of the base class a coordinator names,
 * creates it, calls its methods and resets it, answering each request with the protocol's exact
 * {@link Reply} (PROTOCOL §1.4–1.6). Transports (the gRPC runner, the in-process transport) put
 * this behind their endpoints.
 *
 * <h2>Setup</h2>
 *
 * {@link #setup} takes the fully qualified name of the <em>base class</em>, which is resolved
 * through the submission's class loader (from the submission itself, else the host). The
 * implementation is found by the {@link ModelDiscovery} providers: the submission's {@code
 * META-INF/services/<base class>} entry if it has one, else a scan of its classes. Exactly one
 * implementation must be found; unlike the Python runner, which silently takes the first in
 * alphabetical order, several are a {@code BAD_IMPLEMENTATION} that names them all. Setup is
 * idempotent: once an instance exists, later setups succeed without creating another.
 *
 * <h2>Calls</h2>
 *
 * Only public instance methods of the implementation can be called; static methods cannot, nor can
 * the methods of {@code java.lang.Object} ({@code toString}, {@code equals}, {@code hashCode},
 * {@code getClass}, {@code wait}, {@code notify}…), even when the implementation overrides them
 * (including {@code clone} and {@code finalize} made public). Arguments are bound like a Python
 * call:
 *
 * <ul>
 *   <li>positional arguments, sorted by position, fill the first parameters;
 *   <li>a keyword argument fills the parameter of that name if no positional argument filled it; on
 *       a call, any other keyword is dropped (so coordinators can add optional inputs), while on
 *       setup it fails. A dropped keyword is logged once per method, for the first {@value
 *       DroppedKeywords#MAX_WARNINGS} distinct ones, then a line says that further ones are not
 *       logged: what the runner keeps and logs is bounded whatever the requests send. Names are
 *       known only for classes compiled with {@code javac -parameters}; without them every keyword
 *       is dropped, with a warning that says so;
 *   <li>a parameter that receives nothing gets {@code null} ({@code Optional.empty()} for an {@code
 *       Optional}); a primitive parameter that receives nothing fails the call;
 *   <li>values are decoded into the declared (generic) parameter types by {@link ValueConverter}: a
 *       JSON argument becomes a record or POJO through Jackson, {@code Object} receives the natural
 *       form; a value that does not fit fails the call with a message that names the parameter.
 * </ul>
 *
 * Overloads are chosen by number of arguments: among the overloads whose parameters are all filled
 * by the positional arguments and the keywords naming their other parameters, the one that takes
 * the most keyword arguments wins; if none is filled completely and exactly one can take the
 * positional arguments, that one is used. Anything else is an ambiguous call and fails with a
 * message listing the overloads. The same rules choose among public constructors at setup, where an
 * overload must also take every keyword.
 *
 * <h2>Results and failures</h2>
 *
 * A method's result is encoded by the {@link ValueConverter}; {@code void} and {@code null} give a
 * success without a value. An exception thrown by the model is reported as {@code MODEL_FAILED}
 * with {@code "The model raised an exception: "} followed by the exception's {@code toString()}
 * (class and message; its class name and a note when its {@code toString()} throws), as is an
 * argument or result that cannot be converted. An argument whose bytes cannot be a value of its
 * type (a STRING that is not UTF-8, a NONE with bytes, a DOUBLE that is not 8 bytes) is refused
 * before the model is called, with {@code "Malformed argument: "} and where it is, as the Python
 * runner fails to decode it ({@code SETUP_FAILED} at setup); as there, the method is looked up
 * first, so a call of an unknown method is {@code BAD_IMPLEMENTATION} whatever its arguments.
 *
 * <h2>Concurrency and lifetime</h2>
 *
 * One setup, call or reset runs at a time: one that arrives while another runs throws {@link
 * ModelBusyException} at once. Model code runs on the caller's thread with the submission's class
 * loader as the thread's context class loader. The threads the model starts are known as its own
 * (in the submission's thread group when the caller's thread is one of the submission's, {@link
 * Submission#newThread}; by that context class loader when the submission has a class loader of its
 * own; see {@link Submission#strayThreads()}): those still running after a reset or at close are
 * reported with a warning that names them. {@link #reset()} drops the instance (closing it if it is
 * {@link AutoCloseable}); the next setup creates a new one. {@link #close()} also closes the
 * submission's class loader when this model owns the submission.
 */
public final class HostedModel implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(HostedModel.class.getName());
  private static final int MAX_NOTES = 10;

  /** How long reset and close give threads the model told to stop before reporting them. */
  private static final long STRAY_THREAD_WAIT_NANOS = 200_000_000L;

  /** Compare-and-set on {@link #busy}: a field, not an object of its own (one cache line less). */
  private static final VarHandle BUSY;

  static {
    try {
      BUSY = MethodHandles.lookup().findVarHandle(HostedModel.class, "busy", boolean.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** Every method {@code java.lang.Object} declares, public or protected. */
  private static final List<Method> OBJECT_METHODS = List.of(Object.class.getDeclaredMethods());

  private final Submission submission;

  /** The submission's class loader, the context of its code's calls (read on every call). */
  private final ClassLoader classLoader;

  private final boolean ownsSubmission;
  private final ValueConverter converter;

  /** The discovery providers; for a fixed implementation, loaded only if discovery is asked. */
  private volatile ProviderRegistry<ModelDiscovery> discovery;

  private final ArgumentBinder binder;
  private final Class<?> fixedImplementation;
  private volatile boolean busy;
  private volatile boolean closed;

  // Written only by the thread that holds the busy flag; volatile for the read-only accessors.
  private volatile Class<?> implementation;
  private volatile Object instance;
  private Class<?> implementationBase;
  private Map<String, Overloads> methods = Map.of();

  /**
   * The method name called last and its overloads, from {@link #methods}: a model's calls mostly
   * call one method, found so without the table (in a fan-out over thousands of isolated models,
   * each model's table is lines of memory of their own to fetch, on every call). Guarded by the
   * claim, as {@link #methods}; cleared with the instance (the next may be of another class, whose
   * methods this one's class loader must not outlive).
   */
  private String lastCalled;

  private Overloads lastOverloads;

  private HostedModel(Builder builder) {
    this.submission = builder.submission;
    this.classLoader = submission.classLoader();
    this.ownsSubmission = builder.ownsSubmission;
    if (builder.binder != null) {
      this.binder = builder.binder;
      this.converter = builder.binder.converter();
    } else {
      this.converter = builder.converter != null ? builder.converter : ValueConverter.create();
      this.binder = new ArgumentBinder(converter);
    }
    this.fixedImplementation = builder.implementation;
    this.discovery =
        builder.discovery != null || fixedImplementation != null
            ? builder.discovery
            : ProviderRegistry.load(ModelDiscovery.class);
  }

  /**
   * One converter and one argument binder per implementation class for the models {@link
   * #forImplementation} hosts: the classes of one class loader may share a converter (see {@link
   * ValueConverter}), and thousands of models of one class then neither load their codecs each nor
   * touch codecs and binders of their own on every call (a dropped keyword is logged once for them
   * all).
   */
  private static final ClassValue<ArgumentBinder> SHARED_BINDERS =
      new ClassValue<>() {
        @Override
        protected ArgumentBinder computeValue(Class<?> type) {
          return new ArgumentBinder(ValueConverter.create());
        }
      };

  /**
   * Opens the submission at {@code path} (a jar or a directory, see {@link Submission}) and hosts
   * it; the model owns the submission and closes it with itself.
   *
   * @throws IllegalArgumentException if the path does not exist, holds no jar and no class file, or
   *     holds a jar that cannot be read as one (the message names it and says why)
   */
  public static HostedModel open(Path path) {
    return builder(Submission.open(path)).ownsSubmission(true).build();
  }

  /**
   * Hosts an implementation class that is already loaded (from the application's class path, say),
   * without discovery or isolation: for a coordinator's own tests. Setup still checks that the
   * class extends or implements the base class it names.
   */
  public static HostedModel forImplementation(Class<?> implementation) {
    Builder builder =
        builder(Submission.ofClassLoader(implementation.getClassLoader()))
            .implementation(implementation);
    builder.binder = SHARED_BINDERS.get(implementation); // and with it, its converter
    return builder.build();
  }

  /** Returns a builder that hosts the given submission. */
  public static Builder builder(Submission submission) {
    return new Builder(submission);
  }

  /** Returns the submission this model runs. */
  public Submission submission() {
    return submission;
  }

  /**
   * Finds the implementation of {@code className} and creates it with {@code arguments}.
   *
   * @param className the fully qualified name of the base class; surrounding white space is ignored
   * @return {@code SUCCESS} ({@code "Instance created successfully"}, or {@code "Instance already
   *     exists"} when an instance exists: the arguments are then ignored), {@code INVALID_ARGUMENT}
   *     for an empty name, {@code BAD_IMPLEMENTATION} when the base class or a single
   *     implementation cannot be found, or {@code SETUP_FAILED} for a malformed name, arguments
   *     that do not fit, or a constructor (or static initialiser) that threw
   * @throws ModelBusyException if another request is running
   * @throws IllegalStateException if this model is closed
   */
  public Reply setup(String className, Arguments arguments) {
    Objects.requireNonNull(arguments, "arguments");
    return setup(className, arguments, null);
  }

  /**
   * Arguments still to be decoded from a request, which a transport may find malformed (a value of
   * an unknown type, say): the protocol's checks come first, and a malformed argument is answered
   * in their order ({@code SETUP_FAILED} or {@code MODEL_FAILED} "Malformed argument: …").
   */
  @FunctionalInterface
  public interface PendingArguments {
    /**
     * Decodes the arguments.
     *
     * @throws IllegalArgumentException if they are malformed; the message says how
     */
    Arguments decode();
  }

  /**
   * Sets the model up with arguments decoded only once the protocol's checks passed: {@link
   * #setup(String, Arguments)} for a transport that receives them encoded.
   *
   * @throws ModelBusyException if another request is running
   * @throws IllegalStateException if this model is closed
   */
  public Reply setup(String className, PendingArguments pending) {
    return setup(className, null, Objects.requireNonNull(pending, "pending"));
  }

  /** Setup with decoded arguments, or with pending ones (exactly one of the two). */
  private Reply setup(String className, Arguments decoded, PendingArguments pending) {
    acquire();
    try {
      return setupClaimed(className, decoded, pending);
    } finally {
      release();
    }
  }

  /** Setup by the holder of the claim. */
  Reply setupClaimed(String className, Arguments decoded, PendingArguments pending) {
    String name = className == null ? "" : className.strip();
    if (name.isEmpty()) {
      return Reply.of(StatusCode.INVALID_ARGUMENT, StatusMessages.CLASS_NAME_EMPTY);
    }
    if (instance != null) {
      return Reply.of(StatusCode.SUCCESS, StatusMessages.INSTANCE_EXISTS);
    }
    Arguments arguments;
    try {
      arguments = wellFormed(decoded, pending);
    } catch (IllegalArgumentException malformed) {
      LOG.log(
          System.Logger.Level.WARNING, "Malformed Setup arguments: {0}", malformed.getMessage());
      return Reply.of(StatusCode.SETUP_FAILED, "Malformed argument: " + malformed.getMessage());
    }
    int dot = name.lastIndexOf('.');
    if (dot <= 0 || dot == name.length() - 1) {
      return Reply.of(
          StatusCode.SETUP_FAILED,
          "class_name must be the fully qualified name of the base class (package.ClassName), got '"
              + name
              + "'");
    }
    Class<?> base;
    try {
      base = Class.forName(name, false, submission.classLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      return Reply.of(
          StatusCode.BAD_IMPLEMENTATION,
          noImplementation(name)
              + " The base class cannot be loaded from the submission or the host: "
              + e);
    }
    Class<?> found = implementation != null && isSameBase(base) ? implementation : null;
    if (found == null) {
      Object discovered = discover(base);
      if (discovered instanceof Reply failure) {
        return failure;
      }
      found = (Class<?>) discovered;
    }
    return construct(base, found, arguments);
  }

  /**
   * Returns the arguments, decoded if still pending, once checked well formed.
   *
   * @throws IllegalArgumentException if they are malformed; the message says how
   */
  private static Arguments wellFormed(Arguments decoded, PendingArguments pending) {
    Arguments arguments =
        decoded != null ? decoded : Objects.requireNonNull(pending.decode(), "arguments");
    ArgumentBinder.checkWellFormed(arguments);
    return arguments;
  }

  private boolean isSameBase(Class<?> base) {
    return implementationBase == base;
  }

  private Object discover(Class<?> base) {
    if (fixedImplementation != null) {
      if (base.isAssignableFrom(fixedImplementation) && base != fixedImplementation) {
        return fixedImplementation;
      }
      return Reply.of(
          StatusCode.BAD_IMPLEMENTATION,
          noImplementation(base.getName())
              + " "
              + fixedImplementation.getName()
              + " does not extend or implement it.");
    }
    List<String> notes = new ArrayList<>();
    ProviderRegistry<ModelDiscovery> providers = discovery;
    if (providers == null) {
      providers = ProviderRegistry.load(ModelDiscovery.class);
      discovery = providers;
    }
    for (ModelDiscovery provider : providers.providers()) {
      DiscoveryResult result = withContextLoader(() -> provider.discover(submission, base));
      if (!result.isApplicable()) {
        continue;
      }
      notes.addAll(result.notes());
      List<Class<?>> classes = result.implementations();
      for (String note : notes) {
        LOG.log(System.Logger.Level.DEBUG, "Discovery of {0}: {1}", base.getName(), note);
      }
      if (classes.size() == 1) {
        return classes.get(0);
      }
      if (classes.isEmpty()) {
        return Reply.of(
            StatusCode.BAD_IMPLEMENTATION, noImplementation(base.getName()) + summary(notes));
      }
      return Reply.of(
          StatusCode.BAD_IMPLEMENTATION,
          "Several classes inherit from <class '"
              + base.getName()
              + "'>: "
              + classes.stream().map(Class::getName).collect(Collectors.joining(", "))
              + ". A submission must contain exactly one implementation, or name it in META-INF/services/"
              + base.getName()
              + ".");
    }
    return Reply.of(
        StatusCode.BAD_IMPLEMENTATION,
        noImplementation(base.getName())
            + " No discovery provider decided; "
            + providers.describe());
  }

  private static String noImplementation(String baseName) {
    return StatusMessages.noImplementation(baseName);
  }

  private static String summary(List<String> notes) {
    if (notes.isEmpty()) {
      return "";
    }
    String shown = notes.stream().limit(MAX_NOTES).collect(Collectors.joining("; "));
    return " Skipped: "
        + shown
        + (notes.size() > MAX_NOTES ? "; and " + (notes.size() - MAX_NOTES) + " more" : "")
        + ".";
  }

  private Reply construct(Class<?> base, Class<?> type, Arguments arguments) {
    List<Constructor<?>> constructors = Arrays.asList(type.getConstructors());
    if (constructors.isEmpty()) {
      return Reply.of(StatusCode.SETUP_FAILED, type.getName() + " has no public constructor");
    }
    ClassLoader previous = Thread.currentThread().getContextClassLoader();
    Thread.currentThread().setContextClassLoader(classLoader);
    try {
      ArgumentBinder.Bound<Constructor<?>> bound = binder.bind(constructors, arguments, true);
      Object created = bound.executable().newInstance(bound.arguments());
      implementation = type;
      implementationBase = base;
      instance = created;
      methods = CALLABLE_METHODS.get(type); // lastCalled was cleared with the last instance
      LOG.log(
          System.Logger.Level.INFO,
          "Created {0} as the implementation of {1}",
          type.getName(),
          base.getName());
      return Reply.of(StatusCode.SUCCESS, StatusMessages.INSTANCE_CREATED);
    } catch (ArgumentBinder.BindingException e) {
      return Reply.of(StatusCode.SETUP_FAILED, e.getMessage());
    } catch (InvocationTargetException e) {
      return Reply.of(StatusCode.SETUP_FAILED, describe(e.getCause()));
    } catch (ExceptionInInitializerError e) {
      return Reply.of(
          StatusCode.SETUP_FAILED,
          "the static initialiser of " + type.getName() + " threw " + describe(e.getCause()));
    } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
      return Reply.of(StatusCode.SETUP_FAILED, describe(e));
    } finally {
      Thread.currentThread().setContextClassLoader(previous);
    }
  }

  /**
   * The callable methods of each implementation class, by name, with what calls them ({@link
   * Overloads}: reflection, or method handles past a process's first classes), made once per class
   * and shared by its instances: a fleet of one class looks its calls up in one table that stays in
   * the cache, not in one table per model.
   */
  private static final ClassValue<Map<String, Overloads>> CALLABLE_METHODS =
      new ClassValue<>() {
        @Override
        protected Map<String, Overloads> computeValue(Class<?> type) {
          return callableMethods(type);
        }
      };

  private static Map<String, Overloads> callableMethods(Class<?> type) {
    Map<String, List<Method>> table = new HashMap<>();
    for (Method method : type.getMethods()) {
      if (Modifier.isStatic(method.getModifiers())
          || method.isBridge()
          || method.isSynthetic()
          || isObjectMethod(method)) {
        continue;
      }
      // Also for public methods: it spares the access check on every call.
      method.trySetAccessible();
      table.computeIfAbsent(method.getName(), k -> new ArrayList<>()).add(method);
    }
    return Overloads.ofClass(table);
  }

  /**
   * Returns whether {@code method} has the name and parameters of a method {@code java.lang.Object}
   * declares, public or protected: {@code clone()} and {@code finalize()} made public by an
   * override are no more callable than {@code toString()}.
   */
  private static boolean isObjectMethod(Method method) {
    for (Method declared : OBJECT_METHODS) {
      if (declared.getName().equals(method.getName())
          && Arrays.equals(declared.getParameterTypes(), method.getParameterTypes())) {
        return true;
      }
    }
    return false;
  }

  /**
   * Calls {@code methodName} on the instance created by {@link #setup}.
   *
   * @return {@code SUCCESS} with the encoded result (no value for {@code void} or {@code null}),
   *     {@code FAILED_PRECONDITION} before setup, {@code INVALID_ARGUMENT} for an empty name,
   *     {@code BAD_IMPLEMENTATION} when there is no such callable method, or {@code MODEL_FAILED}
   *     when the model threw or an argument or the result could not be converted
   * @throws ModelBusyException if another request is running
   * @throws IllegalStateException if this model is closed
   */
  public Reply call(String methodName, Arguments arguments) {
    Objects.requireNonNull(arguments, "arguments");
    return call(methodName, arguments, null);
  }

  /**
   * Calls a method with arguments decoded only once the protocol's checks passed: {@link
   * #call(String, Arguments)} for a transport that receives them encoded.
   *
   * @throws ModelBusyException if another request is running
   * @throws IllegalStateException if this model is closed
   */
  public Reply call(String methodName, PendingArguments pending) {
    return call(methodName, null, Objects.requireNonNull(pending, "pending"));
  }

  /**
   * A call with decoded arguments, or with pending ones (exactly one of the two): decoded ones cost
   * no extra object on the in-process hot path.
   */
  private Reply call(String methodName, Arguments decoded, PendingArguments pending) {
    acquire();
    try {
      return callClaimed(methodName, decoded, pending);
    } finally {
      release();
    }
  }

  /** A call by the holder of the claim. */
  Reply callClaimed(String methodName, Arguments decoded, PendingArguments pending) {
    if (instance == null) {
      return Reply.of(StatusCode.FAILED_PRECONDITION, StatusMessages.SETUP_NOT_CALLED);
    }
    if (methodName == null || methodName.isEmpty()) {
      return Reply.of(StatusCode.INVALID_ARGUMENT, StatusMessages.METHOD_NAME_EMPTY);
    }
    // The method first, then its arguments: the Python runner looks the method up before it
    // decodes them, so an unknown method is BAD_IMPLEMENTATION whatever its arguments.
    Overloads overloads;
    if (methodName.equals(lastCalled)) {
      overloads = lastOverloads;
    } else {
      overloads = methods.get(methodName);
      lastCalled = overloads == null ? null : methodName;
      lastOverloads = overloads;
    }
    if (overloads == null) {
      return Reply.of(
          StatusCode.BAD_IMPLEMENTATION,
          "Method \""
              + methodName
              + "\" not found in class \""
              + implementation.getSimpleName()
              + "\"");
    }
    Arguments arguments;
    try {
      arguments = wellFormed(decoded, pending);
    } catch (IllegalArgumentException malformed) {
      LOG.log(System.Logger.Level.WARNING, "Malformed Call arguments: {0}", malformed.getMessage());
      return Reply.of(
          StatusCode.MODEL_FAILED,
          StatusMessages.modelRaised("Malformed argument: " + malformed.getMessage()));
    }
    ClassLoader previous = Thread.currentThread().getContextClassLoader();
    Thread.currentThread().setContextClassLoader(classLoader);
    try {
      Method method = overloads.only();
      Object[] javaArguments;
      if (method != null) {
        javaArguments =
            binder.bindOnly(
                method, overloads.onlyParameterCount(), overloads.onlyParameters(), arguments);
      } else {
        ArgumentBinder.Bound<Method> bound = binder.bind(overloads.methods(), arguments, false);
        method = bound.executable();
        javaArguments = bound.arguments();
      }
      Object result = overloads.invoke(method, instance, javaArguments);
      if (result == null) {
        return Reply.success(null);
      }
      Variant encoded;
      try {
        encoded = converter.encode(result);
      } catch (ValueConversionException e) {
        return Reply.of(
            StatusCode.MODEL_FAILED,
            StatusMessages.MODEL_RAISED
                + "the result of "
                + methodName
                + " cannot be encoded: "
                + e.getMessage());
      } catch (RuntimeException | Error e) {
        // Model code can run while its result is encoded (a getter): what it throws is its
        // failure.
        return Reply.of(
            StatusCode.MODEL_FAILED,
            StatusMessages.MODEL_RAISED
                + "the result of "
                + methodName
                + " cannot be encoded: "
                + describe(e));
      }
      return Reply.success(encoded);
    } catch (ArgumentBinder.BindingException e) {
      return Reply.of(StatusCode.MODEL_FAILED, StatusMessages.MODEL_RAISED + e.getMessage());
    } catch (InvocationTargetException e) {
      return Reply.of(
          StatusCode.MODEL_FAILED, StatusMessages.MODEL_RAISED + describe(e.getCause()));
    } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
      return Reply.of(StatusCode.MODEL_FAILED, StatusMessages.MODEL_RAISED + describe(e));
    } finally {
      Thread.currentThread().setContextClassLoader(previous);
    }
  }

  /**
   * Drops the instance (closing it first if it is {@link AutoCloseable}); the next setup creates a
   * new one.
   *
   * @return {@code SUCCESS}: {@code "Instance successfully reset"}, or {@code "No instance exists
   *     to reset"}
   * @throws ModelBusyException if another request is running
   * @throws IllegalStateException if this model is closed
   */
  public Reply reset() {
    acquire();
    try {
      return resetClaimed();
    } finally {
      release();
    }
  }

  /** A reset by the holder of the claim. */
  Reply resetClaimed() {
    if (instance == null) {
      return Reply.of(StatusCode.SUCCESS, StatusMessages.NO_INSTANCE_TO_RESET);
    }
    dropInstance();
    reportStrayThreads("Rest");
    return Reply.of(StatusCode.SUCCESS, StatusMessages.INSTANCE_RESET);
  }

  /**
   * Runs the value path of a call on dummy values, without touching the submission: decodes and
   * encodes numbers, strings and JSON with this model's converter, {@code rounds} times each, so
   * that the classes the first calls need are loaded (and their code compiled) before they come. A
   * runner calls it on a background thread once it serves; it never throws, and it takes no claim,
   * so calls and setups go on meanwhile.
   *
   * @param rounds how many times each value goes through (a few thousand let the JIT compile the
   *     path of numbers)
   */
  public void warmUp(int rounds) {
    try {
      Variant number = Variant.ofDouble(1.5);
      Variant integer = Variant.ofLong(7);
      Variant text = Variant.ofString("warm-up");
      double sink = 0;
      for (int i = 0; i < rounds; i++) {
        sink += ((Number) converter.decode(number, Object.class)).doubleValue();
        sink += converter.decode(integer, long.class);
        sink += ((String) converter.decode(text, String.class)).length();
        sink += converter.encode(sink).size();
        sink += converter.encode(i).size();
        sink += converter.encode("warm-up").size();
        sink += converter.encode(null).size();
      }
      // JSON last: its mapper is built on first use, and most calls carry numbers.
      Variant json = converter.encode(Map.of("warm-up", List.of(1, 2.5, "three")));
      for (int i = 0; i < Math.min(rounds, 100); i++) {
        sink += ((Map<?, ?>) converter.decode(json, Object.class)).size();
        sink += converter.encode(List.of(sink)).size();
      }
      if (sink == Double.MIN_VALUE) {
        LOG.log(System.Logger.Level.TRACE, "warm-up {0}", sink); // keeps the work observable
      }
    } catch (RuntimeException | LinkageError e) {
      LOG.log(System.Logger.Level.DEBUG, "Warm-up of the value path failed: {0}", e.toString());
    }
  }

  /** Returns whether setup has created an instance that has not been reset since. */
  public boolean isSetUp() {
    return instance != null;
  }

  /**
   * Returns the implementation class found by the last successful setup, or empty if there has been
   * none.
   */
  public Optional<Class<?>> implementationClass() {
    return Optional.ofNullable(implementation);
  }

  /**
   * Drops the instance and, if this model owns its submission, closes the submission's class
   * loader. A request still running when this is called completes first: the instance is dropped
   * and the class loader closed when it returns. Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (BUSY.compareAndSet(this, false, true)) {
      releaseAll();
    }
    // Otherwise the request in flight releases everything when it returns (see release()).
  }

  private void acquire() {
    if (!tryAcquire()) {
      throw new ModelBusyException();
    }
  }

  /**
   * Claims the model for one request, without waiting: the claim {@link RunnerCore} hands out.
   *
   * @return false if another request holds it
   * @throws IllegalStateException if this model is closed
   */
  boolean tryAcquire() {
    if (closed) {
      throw new IllegalStateException("This model is closed");
    }
    return BUSY.compareAndSet(this, false, true);
  }

  /** Returns whether a request holds the model. */
  boolean isClaimed() {
    return busy && !closed;
  }

  /** Releases the claim taken with {@link #tryAcquire()}. */
  void releaseClaim() {
    release();
  }

  private void release() {
    if (closed) {
      releaseAll();
      return; // stays "busy" forever: nothing may run on a closed model
    }
    busy = false;
  }

  /**
   * Drops the instance and, if owned, closes the submission. Called once, by the busy flag's
   * holder.
   */
  private void releaseAll() {
    dropInstance();
    reportStrayThreads("close");
    implementation = null;
    implementationBase = null;
    if (ownsSubmission) {
      submission.close();
    }
  }

  private void dropInstance() {
    Object dropped = instance;
    instance = null;
    methods = Map.of();
    lastCalled = null;
    lastOverloads = null;
    if (dropped instanceof AutoCloseable closeable) {
      ClassLoader previous = Thread.currentThread().getContextClassLoader();
      Thread.currentThread().setContextClassLoader(classLoader);
      try {
        closeable.close();
      } catch (Exception | LinkageError e) {
        LOG.log(System.Logger.Level.WARNING, "Closing the model instance failed: " + describe(e));
      } finally {
        Thread.currentThread().setContextClassLoader(previous);
      }
    }
  }

  /**
   * Warns about the threads model code started and left running ({@link
   * Submission#strayThreads()}), once the instance is dropped: they keep running, and keep the
   * submission's classes. Threads that end within a short wait (told to stop by the model's {@code
   * close()}, say) are not reported.
   */
  private void reportStrayThreads(String when) {
    List<Thread> strays = strayThreads();
    if (strays.isEmpty()) {
      return;
    }
    long deadline = System.nanoTime() + STRAY_THREAD_WAIT_NANOS;
    try {
      for (Thread thread : strays) {
        long left = deadline - System.nanoTime();
        if (left > 0) {
          thread.join(Math.max(1, left / 1_000_000));
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    strays = strayThreads();
    if (strays.isEmpty()) {
      return;
    }
    StringBuilder shown = new StringBuilder();
    for (int i = 0; i < strays.size() && i < MAX_NOTES; i++) {
      Thread thread = strays.get(i);
      shown.append(i == 0 ? "" : ", ").append('\'').append(thread.getName()).append("' (");
      shown.append(thread.getState());
      StackTraceElement[] stack = thread.getStackTrace();
      if (stack.length > 0) {
        shown.append(", at ").append(stack[0]);
      }
      shown.append(')');
    }
    if (strays.size() > MAX_NOTES) {
      shown.append(" and ").append(strays.size() - MAX_NOTES).append(" more");
    }
    LOG.log(
        System.Logger.Level.WARNING,
        "The model left {0} thread(s) running after {1}: {2}. They keep running (and keep the"
            + " submission''s classes): a model should stop the threads it starts, in close() if it"
            + " is AutoCloseable",
        strays.size(),
        when,
        shown);
  }

  /** Returns the threads model code started and left running, other than this one. */
  private List<Thread> strayThreads() {
    List<Thread> strays = submission.strayThreads();
    strays.remove(Thread.currentThread());
    return strays;
  }

  private <T> T withContextLoader(java.util.function.Supplier<T> action) {
    ClassLoader previous = Thread.currentThread().getContextClassLoader();
    Thread.currentThread().setContextClassLoader(classLoader);
    try {
      return action.get();
    } finally {
      Thread.currentThread().setContextClassLoader(previous);
    }
  }

  /**
   * Describes what model code threw: its {@code toString()} (class and message), or, when that
   * itself throws (model code too) or gives null, the class name with a note; never throws.
   */
  static String describe(Throwable error) {
    if (error == null) {
      return "unknown error";
    }
    String text;
    try {
      text = error.toString();
    } catch (RuntimeException | Error failure) {
      return error.getClass().getName()
          + " (its description cannot be given: toString() threw "
          + failure.getClass().getName()
          + ")";
    }
    return text != null ? text : error.getClass().getName() + " (its toString() gave null)";
  }

  /** Configures a {@link HostedModel}. */
  public static final class Builder {
    private final Submission submission;
    private boolean ownsSubmission;
    private ValueConverter converter;

    /** A binder shared with other models, with its converter; set by forImplementation only. */
    private ArgumentBinder binder;

    private ProviderRegistry<ModelDiscovery> discovery;
    private Class<?> implementation;

    private Builder(Submission submission) {
      this.submission = Objects.requireNonNull(submission, "submission");
    }

    /**
     * Sets whether {@link HostedModel#close()} also closes the submission. Default {@code false}.
     */
    public Builder ownsSubmission(boolean owns) {
      this.ownsSubmission = owns;
      return this;
    }

    /**
     * Sets the converter for arguments and results. By default each model gets a new {@link
     * ValueConverter#create()}, so that caches of the submission's types die with it.
     */
    public Builder valueConverter(ValueConverter converter) {
      this.converter = Objects.requireNonNull(converter, "converter");
      return this;
    }

    /**
     * Sets the discovery providers. By default those found with {@link java.util.ServiceLoader}.
     */
    public Builder discovery(ProviderRegistry<ModelDiscovery> discovery) {
      this.discovery = Objects.requireNonNull(discovery, "discovery");
      return this;
    }

    /**
     * Uses this implementation class instead of discovering one in the submission; setup still
     * checks that it extends or implements the base class.
     */
    public Builder implementation(Class<?> implementation) {
      this.implementation = Objects.requireNonNull(implementation, "implementation");
      return this;
    }

    /** Returns the hosted model; it has no instance until {@link HostedModel#setup}. */
    public HostedModel build() {
      return new HostedModel(this);
    }
  }
}
