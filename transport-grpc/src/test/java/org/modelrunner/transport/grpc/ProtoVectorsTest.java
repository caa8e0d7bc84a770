package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.google.protobuf.Message;
import com.google.protobuf.TextFormat;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.Reply;
import org.modelrunner.testsupport.SharedVectors;
import org.modelrunner.transport.grpc.proto.Argument;
import org.modelrunner.transport.grpc.proto.CallRequest;
import org.modelrunner.transport.grpc.proto.CallResponse;
import org.modelrunner.transport.grpc.proto.KwArgument;
import org.modelrunner.transport.grpc.proto.RestResponse;
import org.modelrunner.transport.grpc.proto.SetupRequest;
import org.modelrunner.transport.grpc.proto.SetupResponse;
import org.modelrunner.transport.grpc.proto.Status;
import org.modelrunner.transport.grpc.proto.Variant;

/**
 * The protobuf messages the Python implementation wrote ({@code shared/vectors/variants.json},
 * {@code "messages"}): the generated classes parse them and write them back byte for byte; their
 * text form is what protobuf's text printer writes (modulo white space) and parses back to the same
 * message; and the conversions of {@link Protos} (what the runner does with a request or to a
 * reply) keep every byte.
 */
class ProtoVectorsTest {
  private static final Map<String, Message> PROTOTYPES =
      Stream.of(
              SetupRequest.getDefaultInstance(),
              SetupResponse.getDefaultInstance(),
              CallRequest.getDefaultInstance(),
              CallResponse.getDefaultInstance(),
              RestResponse.getDefaultInstance(),
              Variant.getDefaultInstance(),
              Argument.getDefaultInstance(),
              KwArgument.getDefaultInstance(),
              Status.getDefaultInstance())
          .collect(
              Collectors.toMap(m -> m.getDescriptorForType().getFullName(), Function.identity()));

  @TestFactory
  List<DynamicTest> messages() throws IOException {
    JsonNode messages =
        JsonMapper.builder().build().readTree(SharedVectors.path().toFile()).path("messages");
    assertThat(messages.isArray()).as("\"messages\" is an array").isTrue();
    assertThat(messages.size()).isGreaterThanOrEqualTo(8);
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonNode vector : messages) {
      String name = vector.get("name").asText();
      tests.add(DynamicTest.dynamicTest(name, () -> check(vector)));
    }
    return tests;
  }

  private static void check(JsonNode vector) throws Exception {
    String name = vector.get("name").asText();
    String type = vector.get("message").asText();
    Message prototype = PROTOTYPES.get(type);
    assertThat(prototype).as("%s: a generated class for %s", name, type).isNotNull();
    String hex = vector.get("hex").asText();
    byte[] bytes = HexFormat.of().parseHex(hex);

    // Bytes: parse, and write back the same bytes.
    Message parsed = prototype.getParserForType().parseFrom(bytes);
    assertThat(HexFormat.of().formatHex(parsed.toByteArray()))
        .as("%s: re-serialized", name)
        .isEqualTo(hex);
    assertThat(parsed.getUnknownFields().asMap()).as("%s: unknown fields", name).isEmpty();

    // Text: the printer writes the same text, modulo white space; the text parses to the same
    // message.
    String text = vector.get("text").asText();
    assertThat(squeeze(TextFormat.printer().printToString(parsed)))
        .as("%s: text", name)
        .isEqualTo(squeeze(text));
    Message.Builder fromText = prototype.newBuilderForType();
    TextFormat.getParser().merge(text, fromText);
    assertThat(fromText.build()).as("%s: parsed text", name).isEqualTo(parsed);

    // The runner's conversions keep every byte.
    assertThat(HexFormat.of().formatHex(throughProtos(parsed).toByteArray()))
        .as("%s: through Protos", name)
        .isEqualTo(hex);
  }

  /**
   * Converts a message to the SPI's values and back, as the runner does with requests and replies.
   */
  private static Message throughProtos(Message message) {
    if (message instanceof SetupRequest request) {
      Arguments arguments =
          Protos.arguments(
              request.getInstanceArgumentsList(), request.getInstanceKwArgumentsList());
      return SetupRequest.newBuilder()
          .setClassName(request.getClassName())
          .addAllInstanceArguments(Protos.positional(arguments))
          .addAllInstanceKwArguments(Protos.keyword(arguments))
          .build();
    }
    if (message instanceof CallRequest request) {
      Arguments arguments =
          Protos.arguments(request.getMethodArgumentsList(), request.getMethodKwArgumentsList());
      return CallRequest.newBuilder()
          .setMethodName(request.getMethodName())
          .addAllMethodArguments(Protos.positional(arguments))
          .addAllMethodKwArguments(Protos.keyword(arguments))
          .build();
    }
    if (message instanceof CallResponse response) {
      return Protos.callResponse(Protos.reply(response));
    }
    if (message instanceof SetupResponse response) {
      return Protos.setupResponse(Reply.of(Protos.fromProto(response.getStatus())));
    }
    if (message instanceof RestResponse response) {
      return Protos.restResponse(Reply.of(Protos.fromProto(response.getStatus())));
    }
    return fail("no conversion for %s", message.getDescriptorForType().getFullName());
  }

  private static String squeeze(String text) {
    return text.strip().replaceAll("\\s+", " ");
  }
}
