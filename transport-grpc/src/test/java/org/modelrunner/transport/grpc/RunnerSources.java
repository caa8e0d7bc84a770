package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.modelrunner.transport.grpc.runnerfixtures.TrackerBase;
import org.modelrunner.spi.Variant;

/**
 * Compiles Java sources written in a test into class folders and jars, so that submissions are built by the
 * test itself rather than committed as binaries. The host's API (spi), Jackson and the test fixtures are on
 * the compile class path. (A copy of the loader's test helper {@code Sources}, named apart from the other
 * helpers of this module's tests.)
 */
final class RunnerSources {
  private final Map<String, String> sources = new LinkedHashMap<>();
  private final Map<String, String> resources = new LinkedHashMap<>();
  private final List<Path> classPath = new ArrayList<>(hostClassPath());
  private boolean parameters = true;

  static RunnerSources create() {
    return new RunnerSources();
  }

  /** Adds a source file; the path is derived from its package and first public type. */
  RunnerSources add(String fullyQualifiedName, String code) {
    sources.put(fullyQualifiedName.replace('.', '/') + ".java", code);
    return this;
  }

  /** Adds a resource file to the output. */
  RunnerSources resource(String path, String content) {
    resources.put(path, content);
    return this;
  }

  /** Adds jars or folders to the compile class path (not to the output). */
  RunnerSources classPath(Path... entries) {
    classPath.addAll(List.of(entries));
    return this;
  }

  /** Compiles without {@code -parameters}, so that parameter names are absent. */
  RunnerSources withoutParameterNames() {
    parameters = false;
    return this;
  }

  /** Compiles into the folder {@code out} and returns it. */
  Path compileTo(Path out) {
    try {
      Files.createDirectories(out);
      Path src = Files.createTempDirectory(scratch(), "src");
      List<String> files = new ArrayList<>();
      for (Map.Entry<String, String> source : sources.entrySet()) {
        Path file = src.resolve(source.getKey());
        Files.createDirectories(file.getParent());
        Files.writeString(file, source.getValue());
        files.add(file.toString());
      }
      List<String> options = new ArrayList<>(List.of("--release", "17", "-d", out.toString(), "-proc:none"));
      if (parameters) {
        options.add("-parameters");
      }
      options.add("-classpath");
      options.add(classPath.stream().map(Path::toString).collect(Collectors.joining(java.io.File.pathSeparator)));
      if (!files.isEmpty()) {
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        StringWriter errors = new StringWriter();
        List<String> arguments = new ArrayList<>(options);
        arguments.addAll(files);
        boolean ok =
            compiler.getTask(errors, null, null, arguments.subList(0, options.size()), null,
                    compiler.getStandardFileManager(null, null, StandardCharsets.UTF_8)
                        .getJavaFileObjectsFromStrings(files))
                .call();
        assertThat(ok).as("compilation of test sources:%n%s", errors).isTrue();
      }
      for (Map.Entry<String, String> resource : resources.entrySet()) {
        Path file = out.resolve(resource.getKey());
        Files.createDirectories(file.getParent());
        Files.writeString(file, resource.getValue());
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Compiles and packs the result into the jar {@code jar}, and returns it. */
  Path jarTo(Path jar) {
    try {
      Path classes = compileTo(Files.createTempDirectory(scratch(), "classes"));
      pack(classes, jar);
      return jar;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Returns the module's scratch folder for sources and intermediate classes (cleaned by the build). */
  private static Path scratch() throws IOException {
    return Files.createDirectories(Path.of("target", "runner-test-scratch").toAbsolutePath());
  }

  /** Packs the content of a folder into a jar. */
  static void pack(Path folder, Path jar) throws IOException {
    Files.createDirectories(jar.getParent());
    try (OutputStream out = Files.newOutputStream(jar);
        JarOutputStream jarOut = new JarOutputStream(out);
        Stream<Path> files = Files.walk(folder)) {
      for (Path file : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
        jarOut.putNextEntry(new JarEntry(folder.relativize(file).toString().replace('\\', '/')));
        Files.copy(file, jarOut);
        jarOut.closeEntry();
      }
    }
  }

  /** The jars or folders of the host's API, Jackson and the test fixtures. */
  static List<Path> hostClassPath() {
    return List.of(
        locationOf(Variant.class),
        locationOf(TrackerBase.class),
        locationOf(com.fasterxml.jackson.databind.JsonNode.class),
        locationOf(com.fasterxml.jackson.annotation.JsonProperty.class),
        locationOf(com.fasterxml.jackson.core.JsonParser.class));
  }

  static Path locationOf(Class<?> type) {
    try {
      return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
