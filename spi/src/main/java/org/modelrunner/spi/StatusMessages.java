package org.modelrunner.spi;

/**
 * The protocol's exact status messages (PROTOCOL.md §1.4), in one place for every runner, transport
 * and the conformance suite: the Python runner writes them so, and coordinators and tests compare
 * them.
 */
public final class StatusMessages {
  private StatusMessages() {}

  /** {@code SUCCESS} of a Setup that created the instance. */
  public static final String INSTANCE_CREATED = "Instance created successfully";

  /** {@code SUCCESS} of a Setup when an instance already exists (its arguments are ignored). */
  public static final String INSTANCE_EXISTS = "Instance already exists";

  /** {@code SUCCESS} of a Rest that dropped the instance. */
  public static final String INSTANCE_RESET = "Instance successfully reset";

  /** {@code SUCCESS} of a Rest without an instance. */
  public static final String NO_INSTANCE_TO_RESET = "No instance exists to reset";

  /** {@code INVALID_ARGUMENT} of a Setup whose class name is empty (after trimming). */
  public static final String CLASS_NAME_EMPTY = "class_name cannot be empty";

  /** {@code INVALID_ARGUMENT} of a Call whose method name is empty. */
  public static final String METHOD_NAME_EMPTY = "methodName cannot be empty";

  /** {@code FAILED_PRECONDITION} of a Call before Setup (or after Rest). */
  public static final String SETUP_NOT_CALLED = "Setup has not been called yet";

  /**
   * The start of every {@code MODEL_FAILED} message: the model's exception (or conversion error)
   * follows.
   */
  public static final String MODEL_RAISED = "The model raised an exception: ";

  /**
   * The gRPC description of {@code RESOURCE_EXHAUSTED} for a request that arrives while another
   * runs.
   */
  public static final String SERVER_BUSY = "Server busy";

  /**
   * Returns the start of the {@code BAD_IMPLEMENTATION} message of a setup that found no
   * implementation of {@code baseClassName} (the Python runner's words; details may follow).
   */
  public static String noImplementation(String baseClassName) {
    return "No Inherited class found from <class '" + baseClassName + "'>.";
  }

  /** Returns the {@code MODEL_FAILED} message for a failure described as {@code what}. */
  public static String modelRaised(String what) {
    return MODEL_RAISED + what;
  }
}
