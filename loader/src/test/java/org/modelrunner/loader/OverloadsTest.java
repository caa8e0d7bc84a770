package org.modelrunner.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** How {@link Overloads} calls a method: through its handle first, then through reflection. */
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
  void aMethodIsCalledThroughItsHandleForItsFirstCallsThenThroughReflection() throws Exception {
    Method method = method("throughReflection");
    Overloads overloads = new Overloads(List.of(method), () -> 3);
    Target target = new Target();
    List<Object> calls = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      calls.add(overloads.invoke(method, target, new Object[0]));
    }
    assertThat(calls).containsExactly(false, false, false, true, true, true);
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
    for (int call = 1; call <= 20; call++) { // fewer than HANDLE_CALLS
      assertThat(later.invoke(method, target, new Object[0])).as("call %d", call).isEqualTo(false);
    }
  }

  @Test
  void eachMethodCountsItsOwnCalls() throws Exception {
    Method viaHandle = method("throughReflection");
    Method other = method("half", double.class);
    Overloads overloads = new Overloads(List.of(other, viaHandle), () -> 2);
    Target target = new Target();
    for (int i = 0; i < 5; i++) {
      assertThat(overloads.invoke(other, target, new Object[] {3.0})).isEqualTo(1.5);
    }
    // The other method's calls took none of this one's two.
    List<Object> calls = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      calls.add(overloads.invoke(viaHandle, target, new Object[0]));
    }
    assertThat(calls).containsExactly(false, false, true);
  }

  @Test
  void argumentsAndResultsAreConvertedAsReflectionConvertsThem() throws Exception {
    Method half = method("half", double.class);
    Method join = method("join", String.class, String[].class);
    for (int handleCalls : new int[] {1_000, 0}) {
      Overloads overloads = new Overloads(List.of(half, join), () -> handleCalls);
      Target target = new Target();
      assertThat(overloads.invoke(half, target, new Object[] {3.0})).isEqualTo(1.5);
      assertThat(overloads.invoke(join, target, new Object[] {"a", new String[] {"b", "c"}}))
          .isEqualTo("abc");
    }
  }

  @Test
  void whatTheMethodThrowsIsWrappedAsReflectionWrapsIt() throws Exception {
    Method fail = method("fail");
    for (int handleCalls : new int[] {1_000, 0}) {
      Overloads overloads = new Overloads(List.of(fail), () -> handleCalls);
      Throwable thrown = catchThrowable(() -> overloads.invoke(fail, new Target(), new Object[0]));
      assertThat(thrown)
          .as("%d calls through the handle", handleCalls)
          .isInstanceOf(InvocationTargetException.class)
          .cause()
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("boom");
    }
  }
}
