package org.modelrunner.spi;

/**
 * The model-discovery seam: finds, in submitted code, the classes that implement the base class a
 * coordinator named at setup.
 *
 * <p>Providers are found with {@link java.util.ServiceLoader} (register them in {@code
 * META-INF/services/org.modelrunner.spi.ModelDiscovery}) and asked in priority order; the first
 * that returns an applicable {@link DiscoveryResult} decides. The loader ships two: the
 * submission's own {@code META-INF/services/<base class name>} entry (preferred), then a scan of
 * its classes.
 */
public abstract class ModelDiscovery extends Provider {
  /**
   * Creates the provider; implementations have a public no-argument constructor that never throws.
   */
  protected ModelDiscovery() {}

  /**
   * Finds the implementations of {@code baseClass} in {@code code}. Must not initialise classes
   * (run static initialisers): only the chosen implementation is initialised, when it is
   * constructed.
   *
   * @param code the submission
   * @param baseClass the base class, as the submission's class loader resolves it
   * @return the classes found, or {@link DiscoveryResult#notApplicable()} to let the next provider
   *     decide
   */
  public abstract DiscoveryResult discover(SubmittedCode code, Class<?> baseClass);
}
