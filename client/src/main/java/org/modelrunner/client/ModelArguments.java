package org.modelrunner.client;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One model's own arguments for a fan-out: positional and keyword arguments, computed per model by
 * {@link FanOut.Builder#perModel}. This is the Python client's per-model argument function, which
 * returns both ({@code (args, kwargs)}): for example, each model's own {@code performance_metrics}
 * keyword.
 *
 * <pre>{@code
 * FanOut.builder("predict")
 *     .perModel(model -> ModelArguments.of(tick).keyword("performance_metrics", metrics.get(model.modelId())))
 *     .build();
 * }</pre>
 *
 * <p>Values are plain Java values, as in {@link FanOut}; {@code null} is {@code NONE}. Immutable:
 * {@link #keyword} returns a copy.
 *
 * @param positional the positional arguments, in order (may hold nulls)
 * @param keywords the keyword arguments by name (values may be null); they win over the fan-out's
 *     shared keywords of the same name
 */
public record ModelArguments(List<Object> positional, Map<String, Object> keywords) {
  /**
   * Creates the arguments (copies both).
   *
   * @throws NullPointerException if a collection or a keyword name is null
   */
  public ModelArguments {
    positional =
        Collections.unmodifiableList(
            new ArrayList<>(Objects.requireNonNull(positional, "positional")));
    Map<String, Object> copy = new LinkedHashMap<>();
    for (Map.Entry<String, Object> keyword :
        Objects.requireNonNull(keywords, "keywords").entrySet()) {
      copy.put(Objects.requireNonNull(keyword.getKey(), "keyword name"), keyword.getValue());
    }
    keywords = Collections.unmodifiableMap(copy);
  }

  /** Returns these positional arguments and no keyword ({@code null} values are {@code NONE}). */
  public static ModelArguments of(Object... positional) {
    return new ModelArguments(
        positional == null ? Arrays.asList((Object) null) : Arrays.asList(positional), Map.of());
  }

  /** Returns a copy with the keyword argument {@code name} set to {@code value}. */
  public ModelArguments keyword(String name, Object value) {
    Map<String, Object> more = new LinkedHashMap<>(keywords);
    more.put(Objects.requireNonNull(name, "name"), value);
    return new ModelArguments(positional, more);
  }
}
