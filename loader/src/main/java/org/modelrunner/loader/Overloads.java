package org.modelrunner.loader;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Parameter;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The callable methods of one name of an implementation class, and how each is called: through core
 * reflection for the first classes a process hosts, through method handles for the others, shared
 * by every instance of the class.
 *
 * <p>Why: on Java 17, core reflection calls a method through JNI fifteen times, then generates and
 * defines a class for it on the sixteenth call, in the calling thread. Ten thousand models hosted
 * in one process, each a class of its own (isolated submissions) and called once per tick, all
 * reached that call in the same tick: on two cores, a third to half of the first 40 ticks went over
 * a 100 ms deadline and thousands of healthy models were ejected for timeouts. A method handle has
 * no such step: handles of one shape share their code, whatever the class. Once warm, such a fleet
 * also runs faster through handles (one shared code path, not a generated class per method): {@code
 * FanOutBenchmark -Disolated=true} over 10,000 submissions, 18.9 and 23.3 ms a tick against 21.2
 * and 27.8 ms through reflection.
 *
 * <p>The JDK customizes a handle that is not a constant on its 128th call ({@code
 * java.lang.invoke.MethodHandle.CUSTOMIZE_THRESHOLD}): it generates a class for that handle alone,
 * in the calling thread. Ten thousand handles reached it in one tick too (on two cores, 15 and 17
 * of ticks 101-300 over a 100 ms deadline, and those ticks slower: 29-43 against 22-23 ms p50 with
 * customization turned off), so a method's handle is replaced by a new one every {@link
 * #RENEWED_AFTER} calls: a few objects, whose adapters' code is shared.
 *
 * <p>A method that overrides a public method of a type from outside its submission (the base class
 * the host gives every submission, say) is called through one handle shared by every class that
 * overrides it: a virtual call of the overridden method, which reaches each class's own. A fan-out
 * over thousands of isolated models then reads one handle (customized once, and kept: it is no
 * longer renewed) rather than a handle and its adapter of each model's own, a line of memory each
 * that no other call touches in a tick: {@code FanOutBenchmark -Disolated=true} over 10,000
 * submissions on two cores, eight alternated pairs: a tick p50 of 14.6-17.8 (median 15.0) against
 * 16.6-19.4 ms (median 17.1), 2.8-3.6 against 3.4-4.0 µs of processor time a call.
 *
 * <p>The first {@link #CLASSES_BY_REFLECTION} classes a process hosts are called through
 * reflection: their sixteenth calls cost a few milliseconds at most together; a handle's first
 * calls cost more than reflection's (a runner, which hosts one class, answered its first call after
 * Setup about 3 ms later); and a fleet of one class, many models of it, calls faster through
 * reflection, whose generated class is one call site the compiler inlines (1,000 models of one
 * class, 0.46-0.72 ms a tick against 0.71-1.23 ms through a handle, measured before the handles'
 * renewal). A method whose handle cannot be made (access, or too many parameters for a handle's
 * adapters) is called through reflection too.
 */
final class Overloads {
  /** A method's handle is replaced by a new one after this many calls (see the class). */
  static final int RENEWED_AFTER = 64;

  /** How many classes a process calls through reflection. */
  static final int CLASSES_BY_REFLECTION = 32;

  /** The classes this process has made overloads for. */
  private static final AtomicInteger CLASSES = new AtomicInteger();

  /** What a handle is made into: {@code (Object instance, Object[] arguments) -> Object}. */
  private static final MethodType SPREAD =
      MethodType.methodType(Object.class, Object.class, Object[].class);

  private static final VarHandle HANDLES =
      MethodHandles.arrayElementVarHandle(MethodHandle[].class);

  /**
   * The shared handles (see the class): by the type that declares the overridden method, then by
   * that method. Kept with the type, so a coordinator's base class that is unloaded takes its
   * handles with it.
   */
  private static final ClassValue<Map<Method, MethodHandle>> SHARED =
      new ClassValue<>() {
        @Override
        protected Map<Method, MethodHandle> computeValue(Class<?> type) {
          return new ConcurrentHashMap<>();
        }
      };

  /** A handle that marks a method called through reflection. */
  private static final MethodHandle REFLECTION = MethodHandles.constant(Object.class, null);

  private final List<Method> methods;

  /*
   * A name with one method (the usual case) keeps that method's state in fields of this object,
   * its parameters included (which the argument binder takes from here): a call then fetches one
   * object where it fetched the list, the arrays below, the method and its parameter arrays, each
   * a line of memory of its own on every call in a fan-out over thousands of isolated models.
   */

  /** The method, when it is the only one of its name; else null. */
  private final Method only;

  /** Its parameters ({@link Method#getParameters()} copies them on every call). */
  private final Parameter[] onlyParameters;

  /** Their number (a call without arguments of a method without parameters needs no more). */
  private final int onlyParameterCount;

  /**
   * The handle {@link #onlyHandle} is made from, renewed (see the class); null for reflection and
   * for a shared handle, which is kept.
   */
  private final MethodHandle onlyDirect;

  /** Its handle, or REFLECTION. */
  private volatile MethodHandle onlyHandle;

  /** Its calls through handles, updated as {@link #handleCalls}. */
  private int onlyCalls;

  /** One per method, in the same order: its handle, or REFLECTION (null when only one). */
  private final MethodHandle[] handles;

  /**
   * One per method: the handle {@link #handles} are made from, renewed; null for reflection and for
   * a shared handle.
   */
  private final MethodHandle[] direct;

  /**
   * One per method: its calls through handles. Updated without synchronisation: a lost update only
   * delays a renewal.
   */
  private final int[] handleCalls;

  /**
   * Through handles when {@code throughHandles}, else through reflection; the handles are made now,
   * so that a first call does not pay for them (the adapters of a shape not seen before are
   * generated then, a few milliseconds in a new process).
   */
  Overloads(List<Method> methods, boolean throughHandles) {
    this.methods = List.copyOf(methods);
    if (this.methods.size() == 1) {
      only = this.methods.get(0);
      onlyParameters = only.getParameters();
      onlyParameterCount = onlyParameters.length;
      MethodHandle shared = throughHandles ? shared(only) : null;
      onlyDirect = throughHandles && shared == null ? direct(only) : null;
      onlyHandle =
          shared != null ? shared : onlyDirect != null ? spread(onlyDirect, only) : REFLECTION;
      handles = null;
      direct = null;
      handleCalls = null;
      return;
    }
    only = null;
    onlyParameters = null;
    onlyParameterCount = 0;
    onlyDirect = null;
    this.handles = new MethodHandle[this.methods.size()];
    this.direct = new MethodHandle[this.methods.size()];
    this.handleCalls = new int[this.methods.size()];
    for (int i = 0; i < handles.length; i++) {
      Method method = this.methods.get(i);
      MethodHandle shared = throughHandles ? shared(method) : null;
      direct[i] = throughHandles && shared == null ? direct(method) : null;
      handles[i] =
          shared != null ? shared : direct[i] != null ? spread(direct[i], method) : REFLECTION;
    }
  }

  /**
   * Returns the overloads of each name of a class the process starts hosting (its callable methods
   * by name): at setup.
   */
  static Map<String, Overloads> ofClass(Map<String, List<Method>> byName) {
    return ofClass(byName, CLASSES);
  }

  /** As above, counting the classes hosted in {@code classes}; for tests. */
  static Map<String, Overloads> ofClass(Map<String, List<Method>> byName, AtomicInteger classes) {
    boolean throughHandles = classes.incrementAndGet() > CLASSES_BY_REFLECTION;
    Map<String, Overloads> overloads = new HashMap<>();
    byName.forEach((name, methods) -> overloads.put(name, new Overloads(methods, throughHandles)));
    return Map.copyOf(overloads);
  }

  /** Returns the methods, in the order the argument binder chooses among them. */
  List<Method> methods() {
    return methods;
  }

  /** Returns the method when it is the only one of its name, else null. */
  Method only() {
    return only;
  }

  /** Returns the parameters of {@link #only()} (not to be modified), or null. */
  Parameter[] onlyParameters() {
    return onlyParameters;
  }

  /** Returns the number of parameters of {@link #only()}. */
  int onlyParameterCount() {
    return onlyParameterCount;
  }

  /**
   * Calls {@code method}, one of {@link #methods()}, on {@code instance} with arguments of its
   * parameter types.
   *
   * @throws InvocationTargetException what the method threw, as {@link Method#invoke} wraps it
   * @throws IllegalAccessException if the method cannot be called from here
   */
  Object invoke(Method method, Object instance, Object[] arguments)
      throws InvocationTargetException, IllegalAccessException {
    MethodHandle handle;
    if (only != null) {
      handle = onlyHandle;
      if (handle == REFLECTION) {
        return method.invoke(instance, arguments);
      }
      if (onlyDirect != null && ++onlyCalls % RENEWED_AFTER == 0) {
        onlyHandle = spread(onlyDirect, method); // from the next call on
      }
    } else {
      int index = 0;
      while (methods.get(index) != method) {
        index++; // a method of this list: the binder chose it among them
      }
      handle = (MethodHandle) HANDLES.getAcquire(handles, index);
      if (handle == REFLECTION) {
        return method.invoke(instance, arguments);
      }
      if (direct[index] != null && ++handleCalls[index] % RENEWED_AFTER == 0) {
        HANDLES.setRelease(handles, index, spread(direct[index], method)); // from the next call on
      }
    }
    try {
      return (Object) handle.invokeExact(instance, arguments);
    } catch (Throwable thrown) {
      throw new InvocationTargetException(thrown);
    }
  }

  /** Returns the handle the next call of the method at {@code index} takes; for tests. */
  MethodHandle handle(int index) {
    return only != null ? onlyHandle : (MethodHandle) HANDLES.getAcquire(handles, index);
  }

  /**
   * The handle shared by every class whose {@code method} overrides the same public method of a
   * type from outside the method's class loader (see the class), or null if there is none or its
   * handle cannot be made.
   */
  private static MethodHandle shared(Method method) {
    Method overridden = overridden(method);
    if (overridden == null) {
      return null;
    }
    MethodHandle handle =
        SHARED
            .get(overridden.getDeclaringClass())
            .computeIfAbsent(
                overridden,
                declared -> {
                  MethodHandle direct = direct(declared); // a virtual call: each class's own
                  return direct == null ? REFLECTION : spread(direct, declared);
                });
    return handle == REFLECTION ? null : handle;
  }

  /**
   * Returns the public method of a public supertype, from another class loader than {@code
   * method}'s class, that {@code method} overrides: of the topmost such class, else of the first
   * such interface; or null.
   */
  static Method overridden(Method method) {
    if (Modifier.isStatic(method.getModifiers())) {
      return null;
    }
    Class<?> own = method.getDeclaringClass();
    Method found = null;
    for (Class<?> type = own.getSuperclass(); type != null; type = type.getSuperclass()) {
      Method declared = overriddenIn(type, method);
      if (declared != null) {
        found = declared; // the topmost wins: its handle serves the most classes
      }
    }
    if (found != null) {
      return found;
    }
    Deque<Class<?>> interfaces = new ArrayDeque<>();
    for (Class<?> type = own; type != null; type = type.getSuperclass()) {
      interfaces.addAll(Arrays.asList(type.getInterfaces()));
    }
    Set<Class<?>> seen = new HashSet<>();
    while (!interfaces.isEmpty()) {
      Class<?> type = interfaces.removeFirst();
      if (!seen.add(type)) {
        continue;
      }
      Method declared = overriddenIn(type, method);
      if (declared != null) {
        return declared;
      }
      interfaces.addAll(Arrays.asList(type.getInterfaces()));
    }
    return null;
  }

  /** The method of {@code type} that {@code method} overrides, if it may be shared; else null. */
  private static Method overriddenIn(Class<?> type, Method method) {
    if (!Modifier.isPublic(type.getModifiers())
        || type.getClassLoader() == method.getDeclaringClass().getClassLoader()) {
      return null; // a type of the submission's own: a handle for it would serve its classes only
    }
    try {
      Method declared = type.getDeclaredMethod(method.getName(), method.getParameterTypes());
      int modifiers = declared.getModifiers();
      return Modifier.isPublic(modifiers)
              && !Modifier.isStatic(modifiers)
              && declared.getReturnType().isAssignableFrom(method.getReturnType())
          ? declared
          : null;
    } catch (NoSuchMethodException e) {
      return null;
    }
  }

  /** The method's own handle, or null if it cannot be made (not accessible). */
  private static MethodHandle direct(Method method) {
    try {
      return MethodHandles.lookup()
          .unreflect(method) // the method is accessible (callableMethods): no access check
          .asFixedArity(); // a varargs method takes its array as the binder passes it
    } catch (IllegalAccessException e) {
      return null;
    }
  }

  /**
   * A new handle that calls {@code direct} with an array of arguments, or REFLECTION if there are
   * too many parameters for a handle's adapters.
   */
  private static MethodHandle spread(MethodHandle direct, Method method) {
    try {
      return direct.asSpreader(Object[].class, method.getParameterCount()).asType(SPREAD);
    } catch (IllegalArgumentException e) {
      return REFLECTION;
    }
  }
}
