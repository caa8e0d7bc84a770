package org.modelrunner.transport.grpc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.net.ssl.SSLException;
import org.junit.jupiter.params.provider.Arguments;
import org.modelrunner.testsupport.SharedVectors;

/**
 * The secure-mode and gateway vectors of {@code ../shared/vectors/secure/} (found beside {@code
 * variants.json}), and TLS channels that use them.
 */
final class SecureVectors {
  static final String TARGET = "model-node-model-42.crunchdao.internal";
  static final String CALL = "/dynamic_subclass.DynamicSubclassService/Call";
  static final ObjectMapper JSON = new ObjectMapper();

  private SecureVectors() {}

  static Path dir() {
    return SharedVectors.path().getParent().resolve("secure");
  }

  static Path file(String relative) {
    return dir().resolve(relative);
  }

  static JsonNode json(String relative) {
    try {
      return JSON.readTree(file(relative).toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The case records of {@code cases.json} whose {@code inputs.check} is {@code check}. */
  static Stream<Arguments> cases(String check) {
    List<Arguments> cases = new ArrayList<>();
    for (JsonNode record : json("cases.json")) {
      if (record.path("inputs").path("check").asText().equals(check)) {
        cases.add(Arguments.of(record.get("name").asText(), record));
      }
    }
    if (cases.isEmpty()) {
      throw new IllegalStateException("No case " + check + " in cases.json");
    }
    return cases.stream();
  }

  /** The record of {@code cases.json} named {@code name}. */
  static JsonNode caseRecord(String name) {
    for (JsonNode record : json("cases.json")) {
      if (record.get("name").asText().equals(name)) {
        return record;
      }
    }
    throw new IllegalStateException("No case " + name + " in cases.json");
  }

  /** Metadata from {@code [[key, value], ...]}. */
  static Metadata metadata(JsonNode pairs) {
    Metadata metadata = new Metadata();
    for (JsonNode pair : pairs) {
      metadata.put(
          Metadata.Key.of(pair.get(0).asText(), Metadata.ASCII_STRING_MARSHALLER),
          pair.get(1).asText());
    }
    return metadata;
  }

  /** The text of a member of {@code node}, or null when it is missing or null. */
  static String text(JsonNode node, String member) {
    JsonNode value = node.get(member);
    return value == null || value.isNull() ? null : value.asText();
  }

  /** The runner's secure mode over {@code cruncher/}, with the example environment. */
  static SecureMode.Builder secureMode() {
    JsonNode env = json("secure_mode.json").get("runner_env");
    return SecureMode.builder()
        .certificatesDirectory(file("cruncher"))
        .modelId(env.get("MODEL_ID").asText())
        .cruncherWalletPubkey(env.get("CRUNCHER_WALLET_PUBKEY").asText())
        .cruncherHotkey(env.get("CRUNCHER_HOTKEY").asText())
        .coordinatorCertHash(env.get("COORDINATOR_CERT_HASH").asText())
        .coordinatorCertHashSecondary(env.get("COORDINATOR_CERT_HASH_SECONDARY").asText());
  }

  /**
   * A TLS channel to a secure-mode runner on {@code port} that trusts the vectors' authority and
   * presents the certificate of the vectors' folder {@code coordinator} ("coordinator",
   * "coordinator_unregistered"…).
   */
  static ManagedChannel coordinatorChannel(int port, String coordinator) throws SSLException {
    return tlsChannel(port, file(coordinator), file("coordinator/ca.crt"));
  }

  /**
   * A TLS channel to a runner on 127.0.0.1 that trusts {@code trust}, names the runner {@link
   * #TARGET} and presents {@code credentials}' {@code tls.crt}/{@code tls.key} (none if null).
   */
  static ManagedChannel tlsChannel(int port, Path credentials, Path trust) throws SSLException {
    SslContextBuilder ssl = GrpcSslContexts.forClient().trustManager(trust.toFile());
    if (credentials != null) {
      ssl.keyManager(
          credentials.resolve("tls.crt").toFile(), credentials.resolve("tls.key").toFile());
    }
    return NettyChannelBuilder.forAddress("127.0.0.1", port)
        .sslContext(ssl.build())
        .overrideAuthority(TARGET)
        .build();
  }

  /** Writes a file and returns it. */
  static Path write(Path file, String text) {
    try {
      return Files.writeString(file, text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
