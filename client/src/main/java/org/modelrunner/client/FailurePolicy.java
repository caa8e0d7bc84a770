package org.modelrunner.client;

import org.modelrunner.spi.StatusCode;
import org.modelrunner.spi.TransportException;

/**
 * The fleet's failure policy, as the Python client's: what one outcome means for its model. It
 * classifies the outcome into a {@link Kind}, updates the model's counters and says what to do (a
 * {@link Decision}); acting on the decision (disconnecting, reporting, checking health, setting up
 * again) is the fleet's. It never calls back into the fleet.
 */
final class FailurePolicy {
  /** What an outcome is, for the policy. */
  enum Kind {
    /** The model answered SUCCESS: the counters start again. */
    SUCCESS,
    /** The client did not send the call or dropped it (cooldown, quorum, closing…): not counted. */
    NOT_COUNTED,
    /** {@code INVALID_ARGUMENT}: the coordinator's error (an empty method name); not counted. */
    COORDINATOR_ERROR,
    /** {@code FAILED_PRECONDITION}: the runner lost its instance; not counted, set it up again. */
    LOST_INSTANCE,
    /** {@code BAD_IMPLEMENTATION}: disconnected at once. */
    BAD_IMPLEMENTATION,
    /** Another answer than SUCCESS (the model raised, say), or a transport failure: a failure. */
    FAILURE,
    /** No answer by the deadline: a timeout. */
    TIMEOUT,
    /** {@code BUSY}: the runner still runs an earlier call; counts as a timeout. */
    BUSY,
    /**
     * {@code UNAVAILABLE}: the runner cannot be reached; counts as a timeout, health checked at
     * once.
     */
    UNREACHABLE,
    /**
     * Authentication failed ({@code UNAUTHENTICATED}, {@code AUTHENTICATION_FAILED}, {@code
     * CREDENTIALS_REQUIRED}): the runner refused the coordinator, or is not the runner expected.
     * Disconnected at once and reported {@code CONNECTION_FAILED} with the reason.
     */
    AUTHENTICATION
  }

  /** A model's consecutive failures and timeouts after an outcome. */
  record Counters(int failures, int timeouts) {}

  /** What the fleet should do after an outcome. */
  sealed interface Decision {
    /** Nothing. */
    Decision NONE = new None();

    /** Nothing to do. */
    record None() implements Decision {}

    /**
     * Disconnect and report the model with {@code code} ({@code firstCrossing}: the limit was just
     * crossed, for a fleet that only logs decisions).
     */
    record Disconnect(FailureCode code, String reason, boolean firstCrossing) implements Decision {}

    /**
     * Disconnect and report the model with {@code code} for its ejection time, then check it and
     * take it back ({@code firstCrossing} as for {@link Disconnect}).
     */
    record Eject(FailureCode code, String reason, boolean firstCrossing) implements Decision {}

    /** Check the runner's health, out of band. */
    record CheckHealth(String why) implements Decision {}

    /** Set the model up again (its runner lost its instance). */
    record SetUpAgain(String why) implements Decision {}

    /** Log the coordinator's error; nothing else. */
    record CoordinatorError(CallFailure failure) implements Decision {}
  }

  private final int maxConsecutiveFailures;
  private final int maxConsecutiveTimeouts;
  private final boolean cooldownAfterTimeouts;
  private final int healthCheckEvery;
  private final boolean readmission;
  private final Stall stall;

  /**
   * When a fan-out's timeouts are the fleet's own stall rather than the models': more than {@code
   * fraction} of at least {@code minModels} called models timed out, or the fan-out completed more
   * than {@code lateNanos} after its deadline (its timer ran late: the coordinator's threads were
   * starved). Null turns the guard off.
   */
  record Stall(double fraction, int minModels, long lateNanos) {
    /** The defaults: more than half of at least 5 models, or 500 ms late. */
    static final Stall DEFAULT = new Stall(0.5, 5, 500_000_000L);
  }

  /**
   * @param maxConsecutiveFailures over this many, the model is disconnected; 0 disables
   * @param maxConsecutiveTimeouts over this many, the model is disconnected; 0 disables
   * @param cooldownAfterTimeouts whether a model sits out calls after timeouts
   * @param healthCheckEvery check health after every this many consecutive timeouts; 0 only when
   *     unreachable
   * @param readmission whether a model over a limit is ejected (to be re-admitted) rather than
   *     disconnected for good; {@code BAD_IMPLEMENTATION} is always for good
   * @param stall when a fan-out's timeouts are not counted, or null to count them all
   */
  FailurePolicy(
      int maxConsecutiveFailures,
      int maxConsecutiveTimeouts,
      boolean cooldownAfterTimeouts,
      int healthCheckEvery,
      boolean readmission,
      Stall stall) {
    this.maxConsecutiveFailures = maxConsecutiveFailures;
    this.maxConsecutiveTimeouts = maxConsecutiveTimeouts;
    this.cooldownAfterTimeouts = cooldownAfterTimeouts;
    this.healthCheckEvery = healthCheckEvery;
    this.readmission = readmission;
    this.stall = stall;
  }

  /**
   * Says whether a complete fan-out's timeouts are the fleet's own stall, not the models': then
   * none of them is counted (no counter, cooldown or health check), and the returned reason is
   * logged once for the fan-out.
   *
   * @param timeouts the fan-out's {@link CallStatus#TIMEOUT} outcomes
   * @param called the models it called (its outcomes other than those the client decided: skipped,
   *     cancelled, not connected), timeouts included
   * @param lateNanos how long after its deadline the fan-out completed (negative if before)
   * @return why the timeouts are not counted, or null if they are
   */
  String stall(int timeouts, int called, long lateNanos) {
    if (stall == null || timeouts == 0) {
      return null;
    }
    if (lateNanos > stall.lateNanos()) {
      return "the fan-out's deadline timer ran "
          + Concurrency.millis(lateNanos)
          + " late (more than "
          + Concurrency.millis(stall.lateNanos())
          + "): the coordinator's own threads were held up";
    }
    if (called >= stall.minModels() && timeouts > stall.fraction() * called) {
      return timeouts
          + " of the "
          + called
          + " models called timed out together (more than "
          + Math.round(stall.fraction() * 100)
          + "%): the coordinator's own stall, not the models'";
    }
    return null;
  }

  /** Classifies an outcome. */
  static Kind classify(CallOutcome outcome) {
    if (outcome.status() == CallStatus.SUCCESS) {
      return Kind.SUCCESS;
    }
    CallFailure failure = outcome.failure().orElse(null);
    if (failure != null && failure.source() == CallFailure.Source.CLIENT) {
      return Kind.NOT_COUNTED;
    }
    if (outcome.status() == CallStatus.TIMEOUT) {
      return Kind.TIMEOUT;
    }
    if (failure == null) {
      return Kind.FAILURE;
    }
    String code = failure.code();
    if (failure.source() == CallFailure.Source.MODEL) {
      if (code.equals(StatusCode.INVALID_ARGUMENT.name())) {
        return Kind.COORDINATOR_ERROR;
      }
      if (code.equals(StatusCode.FAILED_PRECONDITION.name())) {
        return Kind.LOST_INSTANCE;
      }
      if (code.equals(StatusCode.BAD_IMPLEMENTATION.name())) {
        return Kind.BAD_IMPLEMENTATION;
      }
      return Kind.FAILURE;
    }
    if (code.equals(TransportException.Kind.BUSY.name())) {
      return Kind.BUSY;
    }
    if (code.equals(TransportException.Kind.UNAVAILABLE.name())) {
      return Kind.UNREACHABLE;
    }
    if (code.equals(TransportException.Kind.UNAUTHENTICATED.name())
        || code.equals(TransportException.Kind.AUTHENTICATION_FAILED.name())
        || code.equals(TransportException.Kind.CREDENTIALS_REQUIRED.name())) {
      return Kind.AUTHENTICATION;
    }
    return Kind.FAILURE;
  }

  /**
   * Applies an outcome to its model's counters and returns what to do. Called once per outcome, on
   * whatever thread filled it.
   */
  Decision apply(FleetMember member, CallOutcome outcome) {
    Kind kind = classify(outcome);
    switch (kind) {
      case SUCCESS -> {
        member.recordSuccess(outcome.latencyMicros()); // the common case: no allocation
        return Decision.NONE;
      }
      case NOT_COUNTED -> {
        return Decision.NONE;
      }
      case COORDINATOR_ERROR -> {
        return new Decision.CoordinatorError(outcome.failure().orElseThrow());
      }
      case LOST_INSTANCE -> {
        return new Decision.SetUpAgain(
            "the runner has no instance (" + outcome.failure().orElseThrow() + ")");
      }
      default -> {
        // counted below
      }
    }
    boolean timeoutLike = kind == Kind.TIMEOUT || kind == Kind.BUSY || kind == Kind.UNREACHABLE;
    boolean answered =
        outcome.failure().map(f -> f.source() == CallFailure.Source.MODEL).orElse(false);
    Counters counters =
        member.recordFailure(
            outcome,
            kind == Kind.BUSY || kind == Kind.UNREACHABLE,
            answered,
            cooldownAfterTimeouts);
    if (kind == Kind.BAD_IMPLEMENTATION) {
      return new Decision.Disconnect(
          FailureCode.BAD_IMPLEMENTATION, outcome.failure().orElseThrow().message(), true);
    }
    if (kind == Kind.AUTHENTICATION) {
      return new Decision.Disconnect(
          FailureCode.CONNECTION_FAILED, outcome.failure().orElseThrow().message(), true);
    }
    if (maxConsecutiveFailures > 0 && counters.failures() > maxConsecutiveFailures) {
      return overLimit(
          FailureCode.MULTIPLE_FAILED,
          counters.failures()
              + " consecutive failures, the last: "
              + outcome.failure().map(CallFailure::toString).orElse(""),
          counters.failures() == maxConsecutiveFailures + 1);
    }
    if (maxConsecutiveTimeouts > 0 && counters.timeouts() > maxConsecutiveTimeouts) {
      return overLimit(
          FailureCode.MULTIPLE_TIMEOUT,
          counters.timeouts() + " consecutive timeouts, the last: " + describe(outcome),
          counters.timeouts() == maxConsecutiveTimeouts + 1);
    }
    if (kind == Kind.UNREACHABLE) {
      return new Decision.CheckHealth(
          "the runner is unreachable: " + outcome.failure().orElseThrow().message());
    }
    if (timeoutLike && healthCheckEvery > 0 && counters.timeouts() % healthCheckEvery == 0) {
      return new Decision.CheckHealth(describe(outcome));
    }
    return Decision.NONE;
  }

  /** A model over a limit: ejected if models are re-admitted, disconnected for good otherwise. */
  private Decision overLimit(FailureCode code, String reason, boolean firstCrossing) {
    return readmission
        ? new Decision.Eject(code, reason, firstCrossing)
        : new Decision.Disconnect(code, reason, firstCrossing);
  }

  static String describe(CallOutcome outcome) {
    return outcome
        .failure()
        .map(CallFailure::toString)
        .orElse("no answer within " + outcome.latencyMicros() / 1_000 + " ms");
  }
}
