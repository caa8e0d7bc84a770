package org.modelrunner.transport.inprocess;

import java.time.Duration;
import java.util.Objects;
import org.modelrunner.spi.StatusMessages;

/**
 * The faults an in-process runner injects into the calls it receives, so that a coordinator's tests
 * can see slow, failing, hanging and crashing models without writing such models. Immutable; build
 * with {@link #builder()}, set at registration ({@link InProcessModels.Registration#faults}) and
 * change at run time ({@link InProcessRunner#setFaults}).
 *
 * <p>Faults apply to the protocol's {@code Call} only: setup, reset and health checks are never
 * affected. A call is counted when the runner accepts it (not when it is refused as busy, too large
 * or unavailable); counting starts again from 1, and the random sequence from its seed, whenever
 * faults are set. For each accepted call, in order:
 *
 * <ol>
 *   <li>{@linkplain Builder#crashAtCall crash}: when the call is the n-th, the runner crashes (see
 *       {@link InProcessRunner#crash()}) and the call fails {@code UNAVAILABLE};
 *   <li>{@linkplain Builder#latency latency}: the runner waits this long (holding the model busy,
 *       as a slow model would) before it goes on;
 *   <li>{@linkplain Builder#hang hang}: the call never returns: the model stays busy, so later
 *       requests get {@code BUSY}, until the runner is closed (the call then fails {@code
 *       UNAVAILABLE}) or faults without hang are set (the call then reaches the model, unless its
 *       deadline has passed);
 *   <li>{@linkplain Builder#failEvery scheduled} or {@linkplain Builder#failRate random} failure:
 *       the call is answered {@code MODEL_FAILED "The model raised an exception: injected failure"}
 *       without reaching the model.
 * </ol>
 *
 * The random failures draw from a {@link java.util.Random} seeded with the given seed, one draw per
 * accepted call: the same calls fail on every run.
 */
public final class Faults {
  /** The message of an injected failure's {@code MODEL_FAILED} status. */
  public static final String INJECTED_FAILURE_MESSAGE =
      StatusMessages.modelRaised("injected failure");

  private static final Faults NONE = new Builder().build();

  private final Duration latency;
  private final int failEvery;
  private final double failRate;
  private final long seed;
  private final boolean hang;
  private final int crashAtCall;

  private Faults(Builder builder) {
    this.latency = builder.latency;
    this.failEvery = builder.failEvery;
    this.failRate = builder.failRate;
    this.seed = builder.seed;
    this.hang = builder.hang;
    this.crashAtCall = builder.crashAtCall;
  }

  /** Returns the faults that inject nothing. */
  public static Faults none() {
    return NONE;
  }

  /** Returns a builder that starts from no fault. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns a builder that starts from these faults. */
  public Builder toBuilder() {
    return new Builder()
        .latency(latency)
        .failEvery(failEvery)
        .failRate(failRate, seed)
        .hang(hang)
        .crashAtCall(crashAtCall);
  }

  /** Returns the latency added before each call; zero when none. */
  public Duration latency() {
    return latency;
  }

  /** Returns n when every n-th call fails, or 0. */
  public int failEvery() {
    return failEvery;
  }

  /** Returns the probability that a call fails, from 0 to 1. */
  public double failRate() {
    return failRate;
  }

  /** Returns the seed of the random failures. */
  public long seed() {
    return seed;
  }

  /** Returns whether calls hang. */
  public boolean hang() {
    return hang;
  }

  /** Returns n when the runner crashes at its n-th call, or 0. */
  public int crashAtCall() {
    return crashAtCall;
  }

  /** Returns whether these faults inject nothing. */
  public boolean isNone() {
    return latency.isZero() && failEvery == 0 && failRate == 0 && !hang && crashAtCall == 0;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Faults other
        && latency.equals(other.latency)
        && failEvery == other.failEvery
        && Double.compare(failRate, other.failRate) == 0
        && seed == other.seed
        && hang == other.hang
        && crashAtCall == other.crashAtCall;
  }

  @Override
  public int hashCode() {
    return Objects.hash(latency, failEvery, failRate, seed, hang, crashAtCall);
  }

  @Override
  public String toString() {
    if (isNone()) {
      return "Faults{none}";
    }
    StringBuilder text = new StringBuilder("Faults{");
    if (!latency.isZero()) {
      text.append("latency=").append(latency).append(", ");
    }
    if (failEvery > 0) {
      text.append("failEvery=").append(failEvery).append(", ");
    }
    if (failRate > 0) {
      text.append("failRate=").append(failRate).append(" (seed ").append(seed).append("), ");
    }
    if (hang) {
      text.append("hang, ");
    }
    if (crashAtCall > 0) {
      text.append("crashAtCall=").append(crashAtCall).append(", ");
    }
    text.setLength(text.length() - 2);
    return text.append('}').toString();
  }

  /** Collects faults; every setting is optional and the default injects nothing. */
  public static final class Builder {
    private Duration latency = Duration.ZERO;
    private int failEvery;
    private double failRate;
    private long seed;
    private boolean hang;
    private int crashAtCall;

    private Builder() {}

    /**
     * Adds {@code latency} before each call.
     *
     * @throws IllegalArgumentException if {@code latency} is negative
     * @throws NullPointerException if {@code latency} is null
     */
    public Builder latency(Duration latency) {
      Objects.requireNonNull(latency, "latency");
      if (latency.isNegative()) {
        throw new IllegalArgumentException("latency must not be negative, got " + latency);
      }
      this.latency = latency;
      return this;
    }

    /**
     * Fails every {@code n}-th call (the n-th, the 2n-th…); 0 turns it off.
     *
     * @throws IllegalArgumentException if {@code n} is negative
     */
    public Builder failEvery(int n) {
      if (n < 0) {
        throw new IllegalArgumentException("failEvery must be 0 (off) or positive, got " + n);
      }
      this.failEvery = n;
      return this;
    }

    /**
     * Fails each call with probability {@code rate}, drawn from a random sequence seeded with
     * {@code seed}.
     *
     * @throws IllegalArgumentException if {@code rate} is not between 0 and 1
     */
    public Builder failRate(double rate, long seed) {
      if (!(rate >= 0 && rate <= 1)) {
        throw new IllegalArgumentException("failRate must be between 0 and 1, got " + rate);
      }
      this.failRate = rate;
      this.seed = seed;
      return this;
    }

    /** Sets whether calls hang (never return until the runner is closed or faults change). */
    public Builder hang(boolean hang) {
      this.hang = hang;
      return this;
    }

    /**
     * Crashes the runner when its {@code n}-th call arrives; 0 turns it off.
     *
     * @throws IllegalArgumentException if {@code n} is negative
     */
    public Builder crashAtCall(int n) {
      if (n < 0) {
        throw new IllegalArgumentException("crashAtCall must be 0 (off) or positive, got " + n);
      }
      this.crashAtCall = n;
      return this;
    }

    /** Returns the faults. */
    public Faults build() {
      return new Faults(this);
    }
  }
}
