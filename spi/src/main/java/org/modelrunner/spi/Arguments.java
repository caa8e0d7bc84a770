package org.modelrunner.spi;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * The arguments of one setup or call: positional arguments with their positions, and keyword
 * arguments. Immutable; build one with {@link #builder()} or {@link #of(List, List)}.
 *
 * <p>{@link #positional()} keeps the order the arguments were given in; {@link #inCallOrder()}
 * sorts them by position (unsigned, stable for ties), which is the order a model receives them in.
 */
public final class Arguments {
  private static final Arguments NONE = new Arguments(List.of(), List.of());
  private static final Comparator<Argument> BY_POSITION =
      (a, b) -> Integer.compareUnsigned(a.position(), b.position());

  private final List<Argument> positional;
  private final List<KeywordArgument> keyword;

  /** The values in call order, computed on first use. */
  private List<Variant> callOrder;

  private Arguments(List<Argument> positional, List<KeywordArgument> keyword) {
    this.positional = positional;
    this.keyword = keyword;
  }

  /** Returns the empty argument list. */
  public static Arguments none() {
    return NONE;
  }

  /**
   * Returns the arguments made of the given lists (copied).
   *
   * @throws NullPointerException if a list or an element is null
   */
  public static Arguments of(List<Argument> positional, List<KeywordArgument> keyword) {
    if (positional.isEmpty() && keyword.isEmpty()) {
      return NONE;
    }
    return new Arguments(List.copyOf(positional), List.copyOf(keyword));
  }

  /** Returns a builder that numbers positional arguments 1, 2, 3… in the order they are added. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns the positional arguments in the order they were given. */
  public List<Argument> positional() {
    return positional;
  }

  /** Returns the keyword arguments in the order they were given. */
  public List<KeywordArgument> keyword() {
    return keyword;
  }

  /**
   * Returns the positional values sorted by position (unsigned, stable for ties), as an immutable
   * list.
   */
  public List<Variant> inCallOrder() {
    List<Variant> values = callOrder;
    if (values == null) {
      values = sortedValues();
      callOrder = values; // immutable and equal whichever thread computes it: a racy write is safe
    }
    return values;
  }

  private List<Variant> sortedValues() {
    int size = positional.size();
    if (size == 0) {
      return List.of();
    }
    List<Argument> sorted = positional;
    for (int i = 1; i < size; i++) {
      if (BY_POSITION.compare(positional.get(i - 1), positional.get(i)) > 0) {
        sorted = new ArrayList<>(positional);
        sorted.sort(BY_POSITION);
        break;
      }
    }
    Variant[] values = new Variant[size];
    for (int i = 0; i < size; i++) {
      values[i] = sorted.get(i).value();
    }
    return List.of(values);
  }

  /** Returns whether there are no arguments at all. */
  public boolean isEmpty() {
    return positional.isEmpty() && keyword.isEmpty();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Arguments other
        && positional.equals(other.positional)
        && keyword.equals(other.keyword);
  }

  @Override
  public int hashCode() {
    return Objects.hash(positional, keyword);
  }

  @Override
  public String toString() {
    return "Arguments{positional=" + positional + ", keyword=" + keyword + "}";
  }

  /** Collects arguments; positional ones are numbered from 1 in the order they are added. */
  public static final class Builder {
    private final List<Argument> positional = new ArrayList<>();
    private final List<KeywordArgument> keyword = new ArrayList<>();

    private Builder() {}

    /** Adds the next positional argument. */
    public Builder add(Variant value) {
      positional.add(new Argument(positional.size() + 1, value));
      return this;
    }

    /** Adds a keyword argument. */
    public Builder add(String name, Variant value) {
      keyword.add(new KeywordArgument(name, value));
      return this;
    }

    /** Returns the arguments collected so far. */
    public Arguments build() {
      return Arguments.of(positional, keyword);
    }
  }
}
