package org.modelrunner.loader.discovery;

import java.lang.reflect.Modifier;
import java.util.Objects;
import java.util.Optional;
import org.modelrunner.spi.SubmittedCode;

/** The rules both discovery providers apply to a class before calling it an implementation. */
final class Candidates {
  private Candidates() {}

  /**
   * Returns why {@code type} cannot be the implementation of {@code base}, or empty when it can.
   */
  static Optional<String> rejection(SubmittedCode code, Class<?> type, Class<?> base) {
    if (type == base || !base.isAssignableFrom(type)) {
      return Optional.of("does not extend or implement " + base.getName());
    }
    int modifiers = type.getModifiers();
    if (type.isInterface() || Modifier.isAbstract(modifiers)) {
      return Optional.of("is abstract");
    }
    if (!Modifier.isPublic(modifiers)) {
      return Optional.of("is not public");
    }
    if (type.getEnclosingClass() != null && !Modifier.isStatic(modifiers)) {
      return Optional.of("is an inner class");
    }
    if (type.getClassLoader() != code.classLoader()) {
      return Optional.of("is not defined by the submission's own class loader");
    }
    Optional<?> location = code.locationOf(type);
    if (location.isPresent() && Objects.equals(location, code.locationOf(base))) {
      return Optional.of("ships in the same jar or folder as the base class");
    }
    return Optional.empty();
  }
}
