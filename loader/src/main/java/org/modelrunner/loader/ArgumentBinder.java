package org.modelrunner.loader;

import java.lang.reflect.Executable;
import java.lang.reflect.Method;
import java.lang.reflect.Parameter;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.modelrunner.spi.Argument;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.KeywordArgument;
import org.modelrunner.spi.ValueConversionException;
import org.modelrunner.spi.ValueConverter;
import org.modelrunner.spi.Variant;

/**
 * Chooses among the overloads of a method (or the constructors of a class) and turns protocol
 * arguments into Java arguments. The rules are those documented on {@link HostedModel}.
 */
final class ArgumentBinder {
  /** Thrown when the arguments do not fit; the message is meant for the participant. */
  static final class BindingException extends Exception {
    BindingException(String message) {
      super(message);
    }

    BindingException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** A chosen executable and its Java arguments. */
  record Bound<E extends Executable>(E executable, Object[] arguments) {}

  private final ValueConverter converter;
  private final DroppedKeywords dropped = new DroppedKeywords();

  /** {@link Executable#getParameters()} copies its array on every call: keep one per executable. */
  private final Map<Executable, Parameter[]> parameters = new ConcurrentHashMap<>();

  /** An executable and its parameters. */
  private record Known(Executable executable, Parameter[] parameters) {}

  /** The executable bound last: a model's calls mostly call one method (no map look-up then). */
  private volatile Known last = new Known(null, new Parameter[0]);

  ArgumentBinder(ValueConverter converter) {
    this.converter = converter;
  }

  /** Returns the converter that makes the arguments' values. */
  ValueConverter converter() {
    return converter;
  }

  /**
   * Checks that every argument's bytes can be a value of its type ({@link
   * Variant#checkWellFormed()}), before any is bound.
   *
   * @throws IllegalArgumentException for the first that cannot, saying where it is and why
   */
  static void checkWellFormed(Arguments arguments) {
    List<Argument> positional = arguments.positional();
    for (int i = 0; i < positional.size(); i++) {
      Argument argument = positional.get(i);
      try {
        argument.value().checkWellFormed();
      } catch (ValueConversionException e) {
        throw new IllegalArgumentException(
            "the argument at position "
                + Integer.toUnsignedString(argument.position())
                + ": "
                + e.getMessage(),
            e);
      }
    }
    List<KeywordArgument> keyword = arguments.keyword();
    for (int i = 0; i < keyword.size(); i++) {
      KeywordArgument argument = keyword.get(i);
      try {
        argument.value().checkWellFormed();
      } catch (ValueConversionException e) {
        throw new IllegalArgumentException(
            "the keyword argument '"
                + DroppedKeywords.abbreviate(argument.keyword())
                + "': "
                + e.getMessage(),
            e);
      }
    }
  }

  /**
   * Chooses the overload and binds the arguments.
   *
   * @param strict true for constructors (setup): every keyword must name an unfilled parameter
   */
  <E extends Executable> Bound<E> bind(List<E> overloads, Arguments arguments, boolean strict)
      throws BindingException {
    List<Variant> positional = arguments.inCallOrder();
    Map<String, Variant> keywords = keywords(arguments);
    E chosen = choose(overloads, positional.size(), keywords, strict);
    return new Bound<>(chosen, convert(chosen, parametersOf(chosen), positional, keywords, strict));
  }

  /**
   * Binds a call's arguments to the one method of its name, as {@link #bind} does with that method
   * alone (not strict), its parameters and their number given (see {@link
   * Overloads#onlyParameters()}).
   */
  Object[] bindOnly(Method only, int parameterCount, Parameter[] parameters, Arguments arguments)
      throws BindingException {
    if (parameterCount == 0 && arguments.positional().isEmpty() && arguments.keyword().isEmpty()) {
      return NO_ARGUMENTS; // as below, without the parameters' array
    }
    List<Variant> positional = arguments.inCallOrder();
    Map<String, Variant> keywords = keywords(arguments);
    checkPositionalCount(only, parameterCount, positional.size());
    return convert(only, parameters, positional, keywords, false);
  }

  private static Map<String, Variant> keywords(Arguments arguments) {
    if (arguments.keyword().isEmpty()) {
      return Map.of();
    }
    Map<String, Variant> keywords = new LinkedHashMap<>();
    for (KeywordArgument keyword : arguments.keyword()) {
      keywords.put(keyword.keyword(), keyword.value());
    }
    return keywords;
  }

  private static void checkPositionalCount(Executable only, int parameterCount, int positionalCount)
      throws BindingException {
    if (positionalCount > parameterCount) {
      throw new BindingException(
          signature(only)
              + " takes "
              + parameterCount
              + " positional argument"
              + (parameterCount == 1 ? "" : "s")
              + " but "
              + positionalCount
              + " were given");
    }
  }

  private <E extends Executable> E choose(
      List<E> overloads, int positionalCount, Map<String, Variant> keywords, boolean strict)
      throws BindingException {
    if (overloads.size() == 1) {
      E only = overloads.get(0);
      checkPositionalCount(only, only.getParameterCount(), positionalCount);
      return only;
    }
    List<E> fitting = new ArrayList<>();
    List<E> best = new ArrayList<>();
    int bestConsumed = -1;
    for (E candidate : overloads) {
      if (candidate.getParameterCount() < positionalCount) {
        continue;
      }
      int consumed = consumedKeywords(candidate, positionalCount, keywords);
      if (strict && consumed < keywords.size()) {
        continue;
      }
      fitting.add(candidate);
      if (candidate.getParameterCount() - positionalCount - consumed == 0) {
        if (consumed > bestConsumed) {
          best.clear();
          bestConsumed = consumed;
        }
        if (consumed == bestConsumed) {
          best.add(candidate);
        }
      }
    }
    if (best.size() == 1) {
      return best.get(0);
    }
    if (best.isEmpty() && fitting.size() == 1) {
      return fitting.get(0);
    }
    String described =
        overloads.stream().map(ArgumentBinder::signature).collect(Collectors.joining(", "));
    String given =
        positionalCount
            + " positional and "
            + keywords.size()
            + " keyword argument(s)"
            + (keywords.isEmpty() ? "" : " " + keywords.keySet());
    if (fitting.isEmpty()) {
      throw new BindingException("no overload takes " + given + "; declared: " + described);
    }
    List<E> ambiguous = best.isEmpty() ? fitting : best;
    throw new BindingException(
        "ambiguous call with "
            + given
            + ": it fits "
            + ambiguous.stream().map(ArgumentBinder::signature).collect(Collectors.joining(", "))
            + " (overloads are told apart by their number of parameters only)");
  }

  /** Counts the keywords that name a parameter of {@code candidate} not filled by position. */
  private int consumedKeywords(
      Executable candidate, int positionalCount, Map<String, Variant> keywords) {
    Parameter[] parameters = parametersOf(candidate);
    int consumed = 0;
    for (int i = positionalCount; i < parameters.length; i++) {
      if (parameters[i].isNamePresent() && keywords.containsKey(parameters[i].getName())) {
        consumed++;
      }
    }
    return consumed;
  }

  private static final Object[] NO_ARGUMENTS = {};

  private Object[] convert(
      Executable executable,
      Parameter[] parameters,
      List<Variant> positional,
      Map<String, Variant> keywords,
      boolean strict)
      throws BindingException {
    if (parameters.length == 0 && positional.isEmpty() && keywords.isEmpty()) {
      return NO_ARGUMENTS; // the usual call of a method without parameters: nothing to allocate
    }
    Variant[] values = new Variant[parameters.length];
    for (int i = 0; i < positional.size(); i++) {
      values[i] = positional.get(i);
    }
    boolean namesPresent = parameters.length == 0 || parameters[0].isNamePresent();
    for (Map.Entry<String, Variant> keyword : keywords.entrySet()) {
      String name = keyword.getKey();
      int index = -1;
      if (namesPresent) {
        for (int i = 0; i < parameters.length; i++) {
          if (parameters[i].getName().equals(name)) {
            index = i;
            break;
          }
        }
      }
      if (index >= 0 && index >= positional.size()) {
        values[index] = keyword.getValue();
        continue;
      }
      String reason;
      if (!namesPresent) {
        reason = "its parameter names are unknown (compile the model with javac -parameters)";
      } else if (index >= 0) {
        reason = "parameter '" + parameters[index].getName() + "' is already given by position";
      } else {
        reason = "it has no parameter of that name";
      }
      if (strict) {
        throw new BindingException(
            signature(executable)
                + " cannot take the keyword argument '"
                + DroppedKeywords.abbreviate(name)
                + "': "
                + reason);
      }
      dropped.dropped(executable, name, reason);
    }
    Object[] arguments = new Object[parameters.length];
    for (int i = 0; i < parameters.length; i++) {
      arguments[i] = value(parameters[i], values[i], i);
    }
    return arguments;
  }

  private Parameter[] parametersOf(Executable executable) {
    Known known = last;
    if (known.executable() == executable) {
      return known.parameters();
    }
    Parameter[] found = parameters.computeIfAbsent(executable, Executable::getParameters);
    last = new Known(executable, found);
    return found;
  }

  private Object value(Parameter parameter, Variant variant, int index) throws BindingException {
    if (variant == null) {
      Class<?> raw = parameter.getType();
      if (raw.isPrimitive()) {
        throw new BindingException(
            "missing argument for parameter "
                + describe(parameter, index)
                + " of primitive type "
                + raw.getName());
      }
      return raw == Optional.class ? Optional.empty() : null;
    }
    try {
      return converter.decode(variant, parameter.getParameterizedType());
    } catch (ValueConversionException e) {
      throw new BindingException(
          "argument for parameter " + describe(parameter, index) + " is invalid: " + e.getMessage(),
          e);
    }
  }

  private static String describe(Parameter parameter, int index) {
    return parameter.isNamePresent()
        ? "'" + parameter.getName() + "' (position " + (index + 1) + ")"
        : "at position " + (index + 1);
  }

  static String signature(Executable executable) {
    String name =
        executable instanceof java.lang.reflect.Constructor<?>
            ? executable.getDeclaringClass().getSimpleName()
            : executable.getName();
    StringBuilder text = new StringBuilder(name).append('(');
    Parameter[] parameters = executable.getParameters();
    for (int i = 0; i < parameters.length; i++) {
      if (i > 0) {
        text.append(", ");
      }
      Type type = parameters[i].getParameterizedType();
      text.append(
          type instanceof ParameterizedType
              ? type.getTypeName()
              : parameters[i].getType().getSimpleName());
      if (parameters[i].isNamePresent()) {
        text.append(' ').append(parameters[i].getName());
      }
    }
    return text.append(')').toString();
  }
}
