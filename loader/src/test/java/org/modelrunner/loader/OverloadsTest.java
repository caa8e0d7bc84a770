package org.modelrunner.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

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
}
