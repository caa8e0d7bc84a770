package org.modelrunner.loader;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

/**
 * The callable methods of one name of an implementation class, and how each is called: through a
 * method handle for its first calls, then through core reflection, shared by every instance of the
 * class.
 *
 * <p>Why: on Java 17, core reflection calls a method through JNI fifteen times, then generates and
 * defines a class for it on the sixteenth call, in the calling thread. Ten thousand models hosted
 * in one process, each a class of its own (isolated submissions) and called once per tick, all
 * reached that call in the same tick: on two cores, a third to half of the first 40 ticks went over
 * a 100 ms deadline and thousands of healthy models were ejected for timeouts. A method handle has
 * no such step (handles of one shape share their code, whatever the class), but the compiler cannot
 * inline through a handle that is not a constant, and once warm, a fleet of one class calls its
 * methods faster through reflection (the generated class is one call site the compiler inlines). So
 * a method is called through its handle for a number of calls drawn at random for each method (from
 * {@link #HANDLE_CALLS} to twice that), then through reflection: the classes generated for ten
 * thousand methods are spread over thousands of ticks instead of falling in one.
 *
 * <p>The first {@link #CLASSES_BY_REFLECTION} classes a process hosts are called through reflection
 * from the start: their sixteenth calls cost a few milliseconds at most together, and a handle's
 * first calls cost more than reflection's (a runner's first call after Setup took about 3 ms more).
 * A method whose handle cannot be made (access, or too many parameters for a handle's adapters) is
 * called through reflection too.
 */
final class Overloads {
  /** The fewest calls a method takes through its handle before reflection takes over. */
  static final int HANDLE_CALLS = 2_048;

  /** How many classes a process calls through reflection from their first call. */
  static final int CLASSES_BY_REFLECTION = 32;

  /** The classes this process has made overloads for. */
  private static final AtomicInteger CLASSES = new AtomicInteger();

  /** What a handle is made into: {@code (Object instance, Object[] arguments) -> Object}. */
  private static final MethodType SPREAD =
      MethodType.methodType(Object.class, Object.class, Object[].class);

  private static final VarHandle HANDLES =
      MethodHandles.arrayElementVarHandle(MethodHandle[].class);

  /** A handle that marks a method called through reflection. */
  private static final MethodHandle REFLECTION = MethodHandles.constant(Object.class, null);

  private final List<Method> methods;

  /** One per method, in the same order: its handle, or REFLECTION once reflection takes over. */
  private final MethodHandle[] handles;

  /**
   * One per method: the calls it still takes through its handle. Updated without synchronisation: a
   * lost update only delays the switch.
   */
  private final int[] handleCallsLeft;

  /**
   * Each method taking {@code handleCalls} calls through its handle (none: reflection only); the
   * handles are made now, so that a first call does not pay for them (the adapters of a shape not
   * seen before are generated then, a few milliseconds in a new process).
   */
  Overloads(List<Method> methods, IntSupplier handleCalls) {
    this.methods = List.copyOf(methods);
    this.handles = new MethodHandle[this.methods.size()];
    this.handleCallsLeft = new int[this.methods.size()];
    for (int i = 0; i < handles.length; i++) {
      handleCallsLeft[i] = handleCalls.getAsInt();
      handles[i] = handleCallsLeft[i] > 0 ? make(this.methods.get(i)) : REFLECTION;
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
    boolean handlesFirst = classes.incrementAndGet() > CLASSES_BY_REFLECTION;
    IntSupplier handleCalls =
        handlesFirst
            ? () -> HANDLE_CALLS + ThreadLocalRandom.current().nextInt(HANDLE_CALLS)
            : () -> 0;
    Map<String, Overloads> overloads = new HashMap<>();
    byName.forEach((name, methods) -> overloads.put(name, new Overloads(methods, handleCalls)));
    return Map.copyOf(overloads);
  }

  /** Returns the methods, in the order the argument binder chooses among them. */
  List<Method> methods() {
    return methods;
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
    int index = 0;
    if (methods.size() > 1) {
      while (methods.get(index) != method) {
        index++; // a method of this list: the binder chose it among them
      }
    }
    MethodHandle handle = (MethodHandle) HANDLES.getAcquire(handles, index);
    if (handle == REFLECTION) {
      return method.invoke(instance, arguments);
    }
    if (--handleCallsLeft[index] <= 0) {
      HANDLES.setRelease(handles, index, REFLECTION); // from the next call on
    }
    try {
      return (Object) handle.invokeExact(instance, arguments);
    } catch (Throwable thrown) {
      throw new InvocationTargetException(thrown);
    }
  }

  private static MethodHandle make(Method method) {
    try {
      return MethodHandles.lookup()
          .unreflect(method) // the method is accessible (callableMethods): no access check
          .asFixedArity() // a varargs method takes its array as the binder passes it
          .asSpreader(Object[].class, method.getParameterCount())
          .asType(SPREAD);
    } catch (IllegalAccessException | IllegalArgumentException e) {
      return REFLECTION; // not accessible, or too many parameters for a handle's adapters
    }
  }
}
