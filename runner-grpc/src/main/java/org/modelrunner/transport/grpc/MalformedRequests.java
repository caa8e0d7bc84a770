package org.modelrunner.transport.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import com.google.protobuf.UnknownFieldSet;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.StatusRuntimeException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Requests whose bytes are not a valid protobuf message. grpc-java fails such a request with {@code
 * UNKNOWN "Application error processing RPC"} and logs a stack trace at SEVERE for each; the runner
 * instead answers {@code INVALID_ARGUMENT} with the parser's message and logs one line.
 *
 * <p>The request marshaller of each method is wrapped: when the bytes do not parse, it returns the
 * empty message marked with an unknown field ({@link #MARKER_FIELD}, the largest field number,
 * which no message of the protocol has), which {@link #problem} recognises.
 */
final class MalformedRequests {
  /** The field number that marks a request that did not parse. */
  static final int MARKER_FIELD = 536_870_911;

  private MalformedRequests() {}

  /** Returns the service with request marshallers that never fail. */
  static ServerServiceDefinition tolerant(ServerServiceDefinition service) {
    List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
    for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
      methods.add(tolerant(method));
    }
    // The same service, schema included (server reflection describes it from there).
    ServiceDescriptor.Builder descriptor =
        ServiceDescriptor.newBuilder(service.getServiceDescriptor().getName())
            .setSchemaDescriptor(service.getServiceDescriptor().getSchemaDescriptor());
    methods.forEach(method -> descriptor.addMethod(method.getMethodDescriptor()));
    ServerServiceDefinition.Builder builder = ServerServiceDefinition.builder(descriptor.build());
    methods.forEach(builder::addMethod);
    return builder.build();
  }

  private static <Q, R> ServerMethodDefinition<Q, R> tolerant(
      ServerMethodDefinition<Q, R> definition) {
    MethodDescriptor<Q, R> method = definition.getMethodDescriptor();
    if (!(method.getRequestMarshaller()
            instanceof MethodDescriptor.PrototypeMarshaller<Q> marshaller)
        || !(marshaller.getMessagePrototype() instanceof Message)) {
      return definition;
    }
    MethodDescriptor<Q, R> wrapped =
        method.toBuilder().setRequestMarshaller(new TolerantMarshaller<>(marshaller)).build();
    return ServerMethodDefinition.create(wrapped, definition.getServerCallHandler());
  }

  /** Returns why the request did not parse, or null for a request that did. */
  static String problem(Message request) {
    UnknownFieldSet unknown = request.getUnknownFields();
    if (!unknown.hasField(MARKER_FIELD)) {
      return null;
    }
    var values = unknown.getField(MARKER_FIELD).getLengthDelimitedList();
    return values.isEmpty() ? "malformed request" : values.get(0).toStringUtf8();
  }

  /** Parses with the generated marshaller; returns the marked empty message when that fails. */
  static final class TolerantMarshaller<T> implements MethodDescriptor.PrototypeMarshaller<T> {
    private final MethodDescriptor.PrototypeMarshaller<T> delegate;

    TolerantMarshaller(MethodDescriptor.PrototypeMarshaller<T> delegate) {
      this.delegate = delegate;
    }

    @Override
    public T getMessagePrototype() {
      return delegate.getMessagePrototype();
    }

    @Override
    public Class<T> getMessageClass() {
      return delegate.getMessageClass();
    }

    @Override
    public InputStream stream(T value) {
      return delegate.stream(value);
    }

    @Override
    public T parse(InputStream stream) {
      try {
        return delegate.parse(stream);
      } catch (StatusRuntimeException | IllegalArgumentException e) {
        Throwable cause = e.getCause() != null ? e.getCause() : e;
        String reason = cause.getMessage() == null ? cause.toString() : cause.getMessage();
        Message prototype = (Message) delegate.getMessagePrototype();
        UnknownFieldSet marker =
            UnknownFieldSet.newBuilder()
                .addField(
                    MARKER_FIELD,
                    UnknownFieldSet.Field.newBuilder()
                        .addLengthDelimited(ByteString.copyFromUtf8(reason))
                        .build())
                .build();
        @SuppressWarnings("unchecked")
        T marked = (T) prototype.toBuilder().setUnknownFields(marker).build();
        return marked;
      }
    }
  }
}
