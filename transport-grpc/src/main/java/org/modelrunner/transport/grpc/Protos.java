package org.modelrunner.transport.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.util.ArrayList;
import java.util.List;
import org.modelrunner.spi.Argument;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.KeywordArgument;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.Status;
import org.modelrunner.spi.Variant;
import org.modelrunner.spi.VariantType;
import org.modelrunner.transport.grpc.proto.KwArgument;

/**
 * Conversions between the SPI's values and the protocol's messages. Variant bytes are shared, not
 * copied, in both directions: a {@link Variant} is immutable and protobuf's {@link ByteString} is
 * too.
 */
final class Protos {
  private Protos() {}

  static org.modelrunner.transport.grpc.proto.Variant toProto(Variant variant) {
    return org.modelrunner.transport.grpc.proto.Variant.newBuilder()
        .setTypeValue(variant.type().number())
        .setValue(UnsafeByteOperations.unsafeWrap(variant.asReadOnlyByteBuffer()))
        .build();
  }

  /**
   * Converts a protocol variant.
   *
   * @throws IllegalArgumentException if its type number is unknown
   */
  static Variant fromProto(org.modelrunner.transport.grpc.proto.Variant variant) {
    return Variant.wrap(
        VariantType.forNumber(variant.getTypeValue()), variant.getValue().toByteArray());
  }

  static List<org.modelrunner.transport.grpc.proto.Argument> positional(Arguments arguments) {
    List<org.modelrunner.transport.grpc.proto.Argument> result =
        new ArrayList<>(arguments.positional().size());
    for (Argument argument : arguments.positional()) {
      result.add(
          org.modelrunner.transport.grpc.proto.Argument.newBuilder()
              .setPosition(argument.position())
              .setData(toProto(argument.value()))
              .build());
    }
    return result;
  }

  static List<KwArgument> keyword(Arguments arguments) {
    List<KwArgument> result = new ArrayList<>(arguments.keyword().size());
    for (KeywordArgument argument : arguments.keyword()) {
      result.add(
          KwArgument.newBuilder()
              .setKeyword(argument.keyword())
              .setData(toProto(argument.value()))
              .build());
    }
    return result;
  }

  /**
   * Converts protocol arguments.
   *
   * @throws IllegalArgumentException if a variant's type number is unknown
   */
  static Arguments arguments(
      List<org.modelrunner.transport.grpc.proto.Argument> positional, List<KwArgument> keyword) {
    List<Argument> args = new ArrayList<>(positional.size());
    for (org.modelrunner.transport.grpc.proto.Argument argument : positional) {
      args.add(new Argument(argument.getPosition(), fromProto(argument.getData())));
    }
    List<KeywordArgument> kwargs = new ArrayList<>(keyword.size());
    for (KwArgument argument : keyword) {
      kwargs.add(new KeywordArgument(argument.getKeyword(), fromProto(argument.getData())));
    }
    return Arguments.of(args, kwargs);
  }

  static org.modelrunner.transport.grpc.proto.Status toProto(Status status) {
    return org.modelrunner.transport.grpc.proto.Status.newBuilder()
        .setCode(status.code())
        .setMessage(status.message())
        .build();
  }

  static Status fromProto(org.modelrunner.transport.grpc.proto.Status status) {
    return new Status(status.getCode(), status.getMessage());
  }

  /** Converts a call response: its status and, when set, its value. */
  static Reply reply(org.modelrunner.transport.grpc.proto.CallResponse response) {
    return Reply.of(
        fromProto(response.getStatus()),
        response.hasMethodResponse() ? fromProto(response.getMethodResponse()) : null);
  }

  /** Converts a setup's reply to the protocol's response. */
  static org.modelrunner.transport.grpc.proto.SetupResponse setupResponse(Reply reply) {
    return org.modelrunner.transport.grpc.proto.SetupResponse.newBuilder()
        .setStatus(toProto(reply.status()))
        .build();
  }

  /**
   * Converts a call's reply to the protocol's response; {@code methodResponse} is set only for a
   * value.
   */
  static org.modelrunner.transport.grpc.proto.CallResponse callResponse(Reply reply) {
    org.modelrunner.transport.grpc.proto.CallResponse.Builder response =
        org.modelrunner.transport.grpc.proto.CallResponse.newBuilder()
            .setStatus(toProto(reply.status()));
    reply.value().ifPresent(value -> response.setMethodResponse(toProto(value)));
    return response.build();
  }

  /** Converts a reset's reply to the protocol's response. */
  static org.modelrunner.transport.grpc.proto.RestResponse restResponse(Reply reply) {
    return org.modelrunner.transport.grpc.proto.RestResponse.newBuilder()
        .setStatus(toProto(reply.status()))
        .build();
  }
}
