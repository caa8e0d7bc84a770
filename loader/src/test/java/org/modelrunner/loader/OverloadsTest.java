package org.modelrunner.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.lang.invoke.MethodHandle;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.modelrunner.loader.fixtures.TrackerBase;

/** How {@link Overloads} calls a method: through handles or through reflection. */
class OverloadsTest {
  /** A model's methods, public as a model's callable methods are. */
  public static final class Target {
    public boolean throughReflection() {
      StackTraceElement[] frames = new Throwable().getStackTrace();
      // Frame 0 is this method; the frames between it and Overloads are how it was called.
      for (int i = 1; i < frames.length; i++) {
        String type = frames[i].getClassName();
        if (type.equals(Overloads.class.getName())) {
          return false;
        }
        if (type.equals("java.lang.reflect.Method") || type.startsWith("jdk.internal.reflect.")) {
          return true;
        }
      }
      return false;
    }

    public double half(double value) {
      return value / 2;
    }

    public String join(String first, String... rest) {
      return first + String.join("", rest);
    }

    public void fail() {
      throw new IllegalStateException("boom");
    }
  }

  private static Method method(String name, Class<?>... parameters) throws NoSuchMethodException {
    return Target.class.getMethod(name, parameters);
  }

  @Test
  void aClassIsCalledThroughHandlesOrThroughReflectionForGood() throws Exception {
    Method method = method("throughReflection");
    Target target = new Target();
    Overloads handles = new Overloads(List.of(method), true);
    Overloads reflection = new Overloads(List.of(method), false);
    for (int call = 1; call <= 5_000; call++) {
      assertThat(handles.invoke(method, target, new Object[0]))
          .as("call %d", call)
          .isEqualTo(false);
      assertThat(reflection.invoke(method, target, new Object[0]))
          .as("call %d", call)
          .isEqualTo(true);
    }
  }

  /**
   * The JDK customizes a handle on its 128th call (a class generated for it): ten thousand isolated
   * models reached it in one tick. No handle takes that many calls.
   */
  @Test
  void aMethodsHandleIsReplacedByANewOneBeforeTheJdkWouldCustomizeIt() throws Exception {
    Method method = method("throughReflection");
    Overloads overloads = new Overloads(List.of(method), true);
    Target target = new Target();
    java.util.Map<Object, Integer> callsByHandle = new java.util.IdentityHashMap<>();
    for (int call = 1; call <= 500; call++) {
      callsByHandle.merge(overloads.handle(0), 1, Integer::sum);
      assertThat(overloads.invoke(method, target, new Object[0]))
          .as("call %d", call)
          .isEqualTo(false);
    }
    assertThat(callsByHandle.values())
        .as("calls each handle took")
        .allSatisfy(calls -> assertThat(calls).isLessThanOrEqualTo(Overloads.RENEWED_AFTER))
        .hasSizeGreaterThanOrEqualTo(500 / Overloads.RENEWED_AFTER);
  }

  @Test
  void aProcessCallsItsFirstClassesThroughReflectionAndLaterOnesThroughHandlesFirst()
      throws Exception {
    Method method = method("throughReflection");
    Map<String, List<Method>> byName = Map.of("throughReflection", List.of(method));
    AtomicInteger classes = new AtomicInteger();
    Target target = new Target();
    for (int i = 1; i <= Overloads.CLASSES_BY_REFLECTION; i++) {
      Overloads early = Overloads.ofClass(byName, classes).get("throughReflection");
      assertThat(early.invoke(method, target, new Object[0])).as("class %d", i).isEqualTo(true);
    }
    // Ten thousand isolated submissions would all reach reflection's sixteenth call in one tick.
    Overloads later = Overloads.ofClass(byName, classes).get("throughReflection");
    for (int call = 1; call <= 20; call++) {
      assertThat(later.invoke(method, target, new Object[0])).as("call %d", call).isEqualTo(false);
    }
  }

  @Test
  void eachMethodCountsItsOwnCallsBeforeItsHandleIsRenewed() throws Exception {
    Method counted = method("throughReflection");
    Method other = method("half", double.class);
    Overloads overloads = new Overloads(List.of(other, counted), true);
    Target target = new Target();
    for (int i = 0; i < Overloads.RENEWED_AFTER - 1; i++) {
      assertThat(overloads.invoke(other, target, new Object[] {3.0})).isEqualTo(1.5);
    }
    // The other method's calls took none of this one's.
    Object first = overloads.handle(1);
    for (int i = 0; i < Overloads.RENEWED_AFTER - 1; i++) {
      overloads.invoke(counted, target, new Object[0]);
    }
    assertThat(overloads.handle(1)).isSameAs(first);
    overloads.invoke(counted, target, new Object[0]);
    assertThat(overloads.handle(1)).isNotSameAs(first);
  }

  @Test
  void argumentsAndResultsAreConvertedAsReflectionConvertsThem() throws Exception {
    Method half = method("half", double.class);
    Method join = method("join", String.class, String[].class);
    for (boolean throughHandles : new boolean[] {true, false}) {
      Overloads overloads = new Overloads(List.of(half, join), throughHandles);
      Target target = new Target();
      assertThat(overloads.invoke(half, target, new Object[] {3.0})).isEqualTo(1.5);
      assertThat(overloads.invoke(join, target, new Object[] {"a", new String[] {"b", "c"}}))
          .isEqualTo("abc");
    }
  }

  @Test
  void whatTheMethodThrowsIsWrappedAsReflectionWrapsIt() throws Exception {
    Method fail = method("fail");
    for (boolean throughHandles : new boolean[] {true, false}) {
      Overloads overloads = new Overloads(List.of(fail), throughHandles);
      Throwable thrown = catchThrowable(() -> overloads.invoke(fail, new Target(), new Object[0]));
      assertThat(thrown)
          .as("through handles: %s", throughHandles)
          .isInstanceOf(InvocationTargetException.class)
          .cause()
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("boom");
    }
  }

  /**
   * Two isolated submissions' classes (a class loader each) that extend the host's base class: the
   * method that overrides the base's is called through one handle, kept, that reaches each class's
   * own method; a method of their own has a handle of each class's own, renewed.
   */
  @Test
  void methodsThatOverrideAHostMethodShareOneKeptHandleThatReachesEachClasssOwn(
      @TempDir Path folder) throws Exception {
    List<String> returns = List.of("Object", "Double"); // the second's: covariant (a bridge)
    List<URLClassLoader> loaders = new ArrayList<>();
    try {
      Overloads[] predict = new Overloads[2];
      Overloads[] own = new Overloads[2];
      Method[] predictMethods = new Method[2];
      Method[] ownMethods = new Method[2];
      Object[] instances = new Object[2];
      for (int i = 0; i < 2; i++) {
        Path classes =
            Sources.create()
                .add(
                    "com.example.shared.Model",
                    """
                    package com.example.shared;
                    public class Model extends org.modelrunner.loader.fixtures.TrackerBase {
                      public void tick(Object data) {}
                      public %s predict() { return %d.5; }
                      public Object own() { return %d.25; }
                    }
                    """
                        .formatted(returns.get(i), i, i))
                .compileTo(folder.resolve("submission-" + i));
        URLClassLoader loader =
            new URLClassLoader(new URL[] {classes.toUri().toURL()}, getClass().getClassLoader());
        loaders.add(loader);
        Class<?> type = loader.loadClass("com.example.shared.Model");
        predictMethods[i] = type.getMethod("predict");
        ownMethods[i] = type.getMethod("own");
        instances[i] = type.getConstructor().newInstance();
        predict[i] = new Overloads(List.of(predictMethods[i]), true);
        own[i] = new Overloads(List.of(ownMethods[i]), true);
      }
      assertThat(Overloads.overridden(predictMethods[1]).getDeclaringClass())
          .isEqualTo(TrackerBase.class);
      MethodHandle shared = predict[0].handle(0);
      assertThat(predict[1].handle(0)).as("one handle for both classes").isSameAs(shared);
      assertThat(own[1].handle(0)).isNotSameAs(own[0].handle(0));
      Object ownFirst = own[0].handle(0);
      for (int call = 1; call <= 3 * Overloads.RENEWED_AFTER; call++) {
        for (int i = 0; i < 2; i++) {
          assertThat(predict[i].invoke(predictMethods[i], instances[i], new Object[0]))
              .as("class %d, call %d", i, call)
              .isEqualTo(i + 0.5);
          assertThat(own[i].invoke(ownMethods[i], instances[i], new Object[0]))
              .as("class %d, call %d", i, call)
              .isEqualTo(i + 0.25);
        }
      }
      assertThat(predict[0].handle(0)).as("kept: the JDK customizes it once").isSameAs(shared);
      assertThat(own[0].handle(0)).as("a class's own handle is renewed").isNotSameAs(ownFirst);
    } finally {
      for (URLClassLoader loader : loaders) {
        loader.close();
      }
    }
  }

  @Test
  void aMethodOverridesOnlyPublicMethodsOfTypesFromOutsideItsClassLoader() throws Exception {
    assertThat(Overloads.overridden(method("half", double.class))).isNull();
    // Object's toString, from the JDK: public, and its loader is not the test's.
    assertThat(Overloads.overridden(Target.class.getMethod("toString"))).isNull(); // not declared
    class Named {
      @Override
      public String toString() {
        return "named";
      }
    }
    assertThat(Overloads.overridden(Named.class.getMethod("toString")))
        .isEqualTo(Object.class.getMethod("toString"));
    assertThat(
            Overloads.overridden(
                org.modelrunner.loader.fixtures.ClassPathTracker.class.getMethod("predict")))
        .as("the base is on the same class path: a handle for it would serve its classes only")
        .isNull();
  }
}
