package org.modelrunner.conformance.models;

/**
 * The base class every model of the conformance suite extends: the suite's setups name it ({@value
 * #NAME}), as a coordinator names its own base class.
 *
 * <p>It ships in the suite's jar, not in the submissions: a runner finds it on its host class path
 * (a runner built on {@code org.modelrunner.loader} does, since submissions fall back to the host
 * for the classes they lack), and the implementations live only in the submissions the suite
 * compiles at run time. A runner started as another process needs the suite's jar on its class path
 * ({@link org.modelrunner.conformance.Deployment#hostClassPath()}).
 */
public abstract class ConformanceBase {
  /** The fully qualified name of this class, as sent in a setup. */
  public static final String NAME = "org.modelrunner.conformance.models.ConformanceBase";

  /** For subclasses. */
  protected ConformanceBase() {}
}
