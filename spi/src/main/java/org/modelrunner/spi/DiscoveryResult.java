package org.modelrunner.spi;

import java.util.List;
import java.util.Objects;

/**
 * What a {@link ModelDiscovery} found: either nothing to say (the next provider decides) or the
 * list of implementation classes it found, which may be empty (there is none), hold one (use it) or
 * several (ambiguous). {@link #notes()} says what was skipped and why, for the setup's error
 * message and logs.
 */
public final class DiscoveryResult {
  private final boolean applicable;
  private final List<Class<?>> implementations;
  private final List<String> notes;

  private DiscoveryResult(boolean applicable, List<Class<?>> implementations, List<String> notes) {
    this.applicable = applicable;
    this.implementations = List.copyOf(implementations);
    this.notes = List.copyOf(notes);
  }

  /**
   * Returns the result of a provider that does not apply to this submission: the next one decides.
   */
  public static DiscoveryResult notApplicable() {
    return new DiscoveryResult(false, List.of(), List.of());
  }

  /**
   * Returns the result of a provider that decided: these are the implementations (possibly none).
   *
   * @param notes what was skipped and why; may be empty
   */
  public static DiscoveryResult found(List<Class<?>> implementations, List<String> notes) {
    Objects.requireNonNull(implementations, "implementations");
    return new DiscoveryResult(true, implementations, notes);
  }

  /** Returns whether the provider decided (if false, the next provider is asked). */
  public boolean isApplicable() {
    return applicable;
  }

  /** Returns the implementation classes found, in the order they were found. */
  public List<Class<?>> implementations() {
    return implementations;
  }

  /** Returns what was skipped and why. */
  public List<String> notes() {
    return notes;
  }
}
