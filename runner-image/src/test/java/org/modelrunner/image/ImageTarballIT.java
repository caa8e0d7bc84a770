package org.modelrunner.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The image tarball Jib built ({@code target/model-runner-grpc-runner-image.tar}), read without a
 * container engine: its configuration (entrypoint, user, port, environment) and its files.
 */
class ImageTarballIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  static JsonNode manifest;
  static JsonNode config;

  /** Every path in the image's layers, with its entry (the upper layer's when several have it). */
  static final Map<String, Tar.Entry> files = new HashMap<>();

  /** The text of a few small files. */
  static final Map<String, String> texts = new HashMap<>();

  static Path tarball() {
    return Path.of(System.getProperty("modelrunner.image.tar"));
  }

  @BeforeAll
  static void read() throws IOException {
    Map<String, byte[]> small = new HashMap<>();
    List<String> layerNames = new ArrayList<>();
    Map<String, Map<String, Tar.Entry>> layers = new HashMap<>();
    try (InputStream in = new BufferedInputStream(Files.newInputStream(tarball()))) {
      Tar.read(
          in,
          (entry, content) -> {
            if (entry.path().endsWith(".json")) {
              small.put(entry.path(), content.readAllBytes());
            } else if (entry.isFile()) {
              layerNames.add(entry.path());
              layers.put(entry.path(), layer(content));
            }
          });
    }
    manifest = JSON.readTree(small.get("manifest.json")).get(0);
    config = JSON.readTree(small.get(manifest.get("Config").asText()));
    for (JsonNode layer : manifest.get("Layers")) {
      files.putAll(layers.get(layer.asText()));
    }
  }

  private static Map<String, Tar.Entry> layer(InputStream content) throws IOException {
    Map<String, Tar.Entry> entries = new HashMap<>();
    InputStream in = new BufferedInputStream(content);
    in.mark(2);
    boolean gzip = in.read() == 0x1f && in.read() == 0x8b;
    in.reset();
    Tar.read(
        gzip ? new GZIPInputStream(in, 65536) : in,
        (entry, bytes) -> {
          entries.put(entry.path(), entry);
          if (entry.path().equals("etc/passwd")
              || entry.path().equals("app/jib-classpath-file")
              || entry.path().equals("opt/model-runner/cds/jvm-options")) {
            texts.put(entry.path(), new String(bytes.readAllBytes(), StandardCharsets.UTF_8));
          }
        });
    return entries;
  }

  private static List<String> strings(JsonNode array) {
    List<String> values = new ArrayList<>();
    if (array != null) {
      array.forEach(value -> values.add(value.asText()));
    }
    return values;
  }

  @Test
  void theEntrypointIsJavaItselfWithContainerAwareFlags() {
    List<String> entrypoint = strings(config.get("config").get("Entrypoint"));
    // No shell in between: the JVM is process 1 and receives SIGTERM itself, so the runner drains.
    assertThat(entrypoint)
        .containsExactly(
            "java",
            "-XX:MaxRAMPercentage=75",
            "-XX:+ExitOnOutOfMemoryError",
            "-XX:-UsePerfData",
            "-Djava.awt.headless=true",
            "-Djava.library.path=/opt/model-runner/native:/usr/java/packages/lib:/usr/lib64:/lib64:/lib:/usr/lib",
            "@/opt/model-runner/cds/jvm-options",
            "-cp",
            "@/app/jib-classpath-file",
            "org.modelrunner.transport.grpc.RunnerMain");
    assertThat(strings(config.get("config").get("Cmd"))).isEmpty();
    // A class path of jars only: the JVM archives no class from a class path with a folder in it.
    assertThat(files.keySet())
        .noneMatch(path -> path.startsWith("app/classes/") && !path.endsWith("/"))
        .noneMatch(path -> path.startsWith("app/resources/") && !path.endsWith("/"));
    assertThat(texts.get("app/jib-classpath-file"))
        .contains("/app/libs/model-runner-grpc-runner-")
        .contains("/app/libs/model-runner-metrics-")
        .contains("/app/libs/micrometer-registry-prometheus-");
  }

  @Test
  void itRunsAsAnUnprivilegedUserAndExposesThePythonRunnersPort() {
    assertThat(config.get("config").get("User").asText()).isEqualTo("65532:65532");
    assertThat(texts.get("etc/passwd")).contains("runner:x:65532:65532:");
    List<String> ports = new ArrayList<>();
    config.get("config").get("ExposedPorts").fieldNames().forEachRemaining(ports::add);
    assertThat(ports).containsExactly("50051/tcp");
    assertThat(config.get("config").get("WorkingDir").asText()).isEqualTo("/workspace");
    assertThat(manifest.get("RepoTags").get(0).asText())
        .isEqualTo(System.getProperty("modelrunner.image.name"));
  }

  @Test
  void theEnvironmentIsThePythonRunnersAndJavaIsOnThePath() {
    assertThat(strings(config.get("config").get("Env")))
        .contains(
            "CODE_DIRECTORY=/workspace/submission/code",
            "RESOURCE_DIRECTORY=/workspace/resources",
            "CERTIFICATES_DIRECTORY=/workspace/certificates",
            "GRPC_ADDRESS=[::]:50051",
            "LOG_LEVEL=INFO",
            "GRPC_MAX_SEND_MESSAGE_LENGTH=67108864",
            "GRPC_MAX_RECEIVE_MESSAGE_LENGTH=67108864",
            "JAVA_HOME=/opt/java/openjdk")
        .anySatisfy(variable -> assertThat(variable).startsWith("PATH=/opt/java/openjdk/bin:"));
  }

  @Test
  void theImageHoldsARuntimeTheRunnerAndTheWorkspaceButNoShell() {
    assertThat(files.get("opt/java/openjdk/bin/java")).isNotNull();
    assertThat(files.get("opt/java/openjdk/bin/java").mode() & 0111).isNotZero();
    assertThat(files).containsKey("opt/java/openjdk/lib/server/libjvm.so");
    assertThat(files.keySet()).anyMatch(path -> path.matches("usr/lib.*/libc\\.so\\.6"));
    assertThat(files.keySet()).anyMatch(path -> path.matches("usr/lib.*/libz\\.so\\.1"));
    assertThat(files.keySet())
        .anyMatch(path -> path.startsWith("app/libs/model-runner-grpc-runner-"));
    // Netty loads its native epoll from java.library.path: no copy into /tmp at start.
    assertThat(files.keySet())
        .contains(
            "opt/model-runner/native/libio_grpc_netty_shaded_netty_transport_native_epoll_x86_64.so",
            "opt/model-runner/native/libio_grpc_netty_shaded_netty_transport_native_epoll_aarch_64.so");
    // The class-data archive made when the image was built (by running it: not without podman, nor
    // when turned off), and the argument file that points the JVM at it.
    if (Boolean.getBoolean("modelrunner.image.cds.skip") || !Podman.available()) {
      assertThat(texts.get("opt/model-runner/cds/jvm-options")).doesNotContain("-XX:");
    } else {
      assertThat(texts.get("opt/model-runner/cds/jvm-options"))
          .contains("-XX:SharedArchiveFile=/opt/model-runner/cds/runner.jsa");
      assertThat(files.get("opt/model-runner/cds/runner.jsa").size()).isGreaterThan(1_000_000);
    }
    for (String folder :
        List.of("workspace/submission/code", "workspace/resources", "workspace/certificates")) {
      assertThat(files.get(folder + "/")).as(folder).isNotNull();
      assertThat(files.get(folder + "/").isDirectory()).as(folder).isTrue();
    }
    assertThat(files.get("tmp/").mode() & 01777).as("/tmp is 1777").isEqualTo(01777);
    assertThat(files.keySet())
        .as("no shell and no package manager to work with inside the container")
        .doesNotContain(
            "bin/sh", "usr/bin/sh", "bin/bash", "usr/bin/bash", "usr/bin/apt", "usr/bin/dpkg");
  }
}
