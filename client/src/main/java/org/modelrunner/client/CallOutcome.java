package org.modelrunner.client;

import java.lang.reflect.Type;
import java.net.URI;
import java.util.Objects;
import java.util.Optional;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.ValueConverter;
import org.modelrunner.spi.Variant;

/**
 * One model's result in a fan-out: which model, how it ended ({@link CallStatus}), its value or the
 * reason it failed, and how long it took. Values are decoded lazily, on {@link #value()} or {@link
 * #as}.
 */
public final class CallOutcome {
  private final ModelEndpoint model;
  private final CallStatus status;
  private final Variant variant;
  private final CallFailure failure;
  private final long latencyMicros;
  private final ValueConverter converter;

  CallOutcome(
      ModelEndpoint model,
      CallStatus status,
      Variant variant,
      CallFailure failure,
      long latencyMicros,
      ValueConverter converter) {
    this.model = model;
    this.status = status;
    this.variant = variant;
    this.failure = failure;
    this.latencyMicros = latencyMicros;
    this.converter = converter;
  }

  /** Returns the model's id. */
  public String modelId() {
    return model.modelId();
  }

  /** Returns the id of the deployment that was called. */
  public String deploymentId() {
    return model.deploymentId();
  }

  /** Returns the endpoint that was called. */
  public URI endpoint() {
    return model.address();
  }

  /** Returns the model's endpoint, with its infos. */
  public ModelEndpoint model() {
    return model;
  }

  /** Returns how the call ended. */
  public CallStatus status() {
    return status;
  }

  /** Returns whether the call succeeded. */
  public boolean isSuccess() {
    return status == CallStatus.SUCCESS;
  }

  /**
   * Returns the raw value the model returned; empty when it returned nothing, or when the call did
   * not succeed.
   */
  public Optional<Variant> variant() {
    return Optional.ofNullable(variant);
  }

  /**
   * Returns the value in its natural Java form ({@code null} when the model returned nothing).
   *
   * @throws IllegalStateException if the call did not succeed
   * @throws org.modelrunner.spi.ValueConversionException if the value's bytes are malformed
   */
  public Object value() {
    return as(Object.class);
  }

  /**
   * Returns the value converted to {@code type} (a record, a POJO, {@code double}…; see {@link
   * ValueConverter}); {@code null} when the model returned nothing.
   *
   * @throws IllegalStateException if the call did not succeed
   * @throws org.modelrunner.spi.ValueConversionException if the value cannot become a {@code type}
   */
  public <T> T as(Class<T> type) {
    @SuppressWarnings("unchecked")
    T value = (T) as((Type) type);
    return value;
  }

  /**
   * Returns the value converted to a generic {@code type}.
   *
   * @throws IllegalStateException if the call did not succeed
   */
  public Object as(Type type) {
    if (status != CallStatus.SUCCESS) {
      throw new IllegalStateException("The call to " + modelId() + " did not succeed: " + this);
    }
    return variant == null ? null : converter.decode(variant, type);
  }

  /**
   * Returns why the call failed or was skipped; empty on success, and on a timeout detected by the
   * fan-out's deadline (a timeout the transport reported carries its {@code DEADLINE_EXCEEDED}
   * failure).
   */
  public Optional<CallFailure> failure() {
    return Optional.ofNullable(failure);
  }

  /**
   * Returns the time from sending the call to its answer, in microseconds; for a timeout, the time
   * from the start of the fan-out to its deadline.
   */
  public long latencyMicros() {
    return latencyMicros;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CallOutcome other
        && model.equals(other.model)
        && status == other.status
        && Objects.equals(variant, other.variant)
        && Objects.equals(failure, other.failure)
        && latencyMicros == other.latencyMicros;
  }

  @Override
  public int hashCode() {
    return Objects.hash(model, status, variant, failure, latencyMicros);
  }

  @Override
  public String toString() {
    return "CallOutcome{"
        + modelId()
        + ", "
        + status
        + (variant != null ? ", " + variant : "")
        + (failure != null ? ", " + failure : "")
        + ", "
        + latencyMicros
        + " µs}";
  }
}
