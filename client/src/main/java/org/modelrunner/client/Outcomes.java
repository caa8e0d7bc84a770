package org.modelrunner.client;

import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.ValueConverter;

/**
 * Makes the outcomes of a fleet's calls: from a model's answer or transport error, at a deadline,
 * or decided by the client without sending the call. Never calls back into the fleet.
 */
final class Outcomes implements FleetMember.Answers {
  /** The failure of the calls still running when the fleet closes. */
  static final CallFailure CLOSED =
      new CallFailure(CallFailure.Source.CLIENT, CallFailure.FLEET_CLOSED, "the fleet was closed");

  private final ValueConverter converter;

  Outcomes(ValueConverter converter) {
    this.converter = converter;
  }

  /** A model's answer (or transport error) arrived. Called on a transport thread. */
  @Override
  public void answered(
      FleetMember member, FleetMember.Job job, Reply reply, Throwable error, long micros) {
    CallOutcome outcome;
    if (error != null) {
      Throwable cause = Concurrency.cause(error);
      if (cause instanceof TransportException transport
          && transport.kind() == TransportException.Kind.DEADLINE_EXCEEDED) {
        outcome =
            new CallOutcome(
                member.endpoint,
                CallStatus.TIMEOUT,
                null,
                new CallFailure(
                    CallFailure.Source.TRANSPORT, transport.kind().name(), transport.getMessage()),
                micros,
                converter);
      } else if (cause instanceof TransportException transport) {
        outcome =
            failureOutcome(
                member,
                new CallFailure(
                    CallFailure.Source.TRANSPORT, transport.kind().name(), transport.getMessage()),
                micros);
      } else {
        outcome =
            failureOutcome(
                member,
                new CallFailure(
                    CallFailure.Source.TRANSPORT,
                    TransportException.Kind.INTERNAL.name(),
                    cause.toString()),
                micros);
      }
    } else if (reply.status().isSuccess()) {
      outcome =
          new CallOutcome(
              member.endpoint,
              CallStatus.SUCCESS,
              reply.value().orElse(null),
              null,
              micros,
              converter);
    } else {
      outcome =
          failureOutcome(
              member,
              new CallFailure(
                  CallFailure.Source.MODEL, reply.status().code(), reply.status().message()),
              micros);
    }
    job.call().fill(job.slot(), outcome);
  }

  CallOutcome timeoutOutcome(FleetMember member, long micros) {
    return new CallOutcome(member.endpoint, CallStatus.TIMEOUT, null, null, micros, converter);
  }

  /** An outcome the client decided without sending the call (it is not counted). */
  CallOutcome clientOutcome(FleetMember member, CallStatus status, String code, String message) {
    return new CallOutcome(
        member.endpoint,
        status,
        null,
        new CallFailure(CallFailure.Source.CLIENT, code, message),
        0,
        converter);
  }

  CallOutcome skippedOutcome(FleetMember member, int left) {
    return clientOutcome(
        member,
        CallStatus.SKIPPED,
        CallFailure.COOLDOWN,
        "the model sits out this call after timeouts"
            + (left > 0 ? " (and " + left + " more)" : ""));
  }

  CallOutcome cancelledOutcome(FleetMember member) {
    return clientOutcome(
        member,
        CallStatus.CANCELLED,
        CallFailure.NOT_NEEDED,
        "the fan-out completed without this answer");
  }

  CallOutcome notSentOutcome(FleetMember member) {
    return clientOutcome(
        member,
        CallStatus.SKIPPED,
        CallFailure.NOT_SENT,
        "not sent before the deadline (bounded calls in flight)");
  }

  @Override
  public CallOutcome failureOutcome(FleetMember member, CallFailure failure, long micros) {
    return new CallOutcome(member.endpoint, CallStatus.FAILURE, null, failure, micros, converter);
  }
}
