package org.modelrunner.spi;

/**
 * The common base of every provider found through {@link java.util.ServiceLoader} (grpc-java's
 * pattern).
 *
 * <p>A provider has a public no-argument constructor that never throws. {@link #isAvailable()} says
 * whether it can work in this environment (a missing optional dependency, say); available providers
 * are used in descending {@link #priority()} order, ties broken by class name. {@link
 * ProviderRegistry} does the loading and sorting, and describes every provider it saw when nothing
 * fits.
 */
public abstract class Provider {
  /**
   * Creates the provider; subclasses must have a public no-argument constructor that never throws.
   */
  protected Provider() {}

  /**
   * Returns whether this provider can be used here. Must not throw. The default is {@code true}.
   *
   * @see #unavailableReason()
   */
  public boolean isAvailable() {
    return true;
  }

  /** Returns why {@link #isAvailable()} is false, for error messages. */
  public String unavailableReason() {
    return "not available in this environment";
  }

  /**
   * Returns the priority, from 0 to 10: higher is preferred. The default is 5; a catch-all provider
   * uses a low one so that specific providers win.
   */
  public int priority() {
    return 5;
  }
}
