package org.modelrunner.testsupport;

import java.io.File;
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
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.modelrunner.spi.Variant;

/**
 * Compiles Java sources written in a test into class folders and jars, so that test submissions are
 * built by the test itself rather than committed as binaries. The compile class path holds this
 * library's API (the spi), Jackson, this module (for {@link Gate}), and the jars or folders of the
 * host classes a test names (such as its base-class fixture); sources are compiled for Java 17 with
 * {@code -parameters} unless told otherwise.
 *
 * <pre>{@code
 * Path jar = JavaSources.create(TrackerBase.class)
 *     .add("com.example.Good", "package com.example; public class Good extends ... { ... }")
 *     .jarTo(dir.resolve("submission/model.jar"));
 * }</pre>
 */
public final class JavaSources {
  private final Map<String, String> sources = new LinkedHashMap<>();
  private final Map<String, String> resources = new LinkedHashMap<>();
  private final List<Path> classPath = new ArrayList<>();
  private boolean parameters = true;

  private JavaSources(Class<?>... hostClasses) {
    classPath.add(locationOf(Variant.class));
    classPath.add(locationOf(com.fasterxml.jackson.databind.JsonNode.class));
    classPath.add(locationOf(com.fasterxml.jackson.annotation.JsonProperty.class));
    classPath.add(locationOf(com.fasterxml.jackson.core.JsonParser.class));
    classPath.add(locationOf(JavaSources.class)); // test submissions may use Gate
    for (Class<?> host : hostClasses) {
      classPath.add(locationOf(host));
    }
  }

  /** Starts a compilation whose class path also holds the jars or folders of these host classes. */
  public static JavaSources create(Class<?>... hostClasses) {
    return new JavaSources(hostClasses);
  }

  /** Adds a source file; its path is derived from the fully qualified name of its public type. */
  public JavaSources add(String fullyQualifiedName, String code) {
    sources.put(fullyQualifiedName.replace('.', '/') + ".java", code);
    return this;
  }

  /** Adds a resource file to the output, at {@code path}. */
  public JavaSources resource(String path, String content) {
    resources.put(path, content);
    return this;
  }

  /** Adds jars or folders to the compile class path (not to the output). */
  public JavaSources classPath(Path... entries) {
    classPath.addAll(List.of(entries));
    return this;
  }

  /** Compiles without {@code -parameters}, so that parameter names are absent from the classes. */
  public JavaSources withoutParameterNames() {
    parameters = false;
    return this;
  }

  /**
   * Compiles into the folder {@code out} and returns it.
   *
   * @throws IllegalStateException if compilation fails (the message holds the compiler's errors)
   */
  public Path compileTo(Path out) {
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
      List<String> options =
          new ArrayList<>(List.of("--release", "17", "-d", out.toString(), "-proc:none"));
      if (parameters) {
        options.add("-parameters");
      }
      options.add("-classpath");
      options.add(
          classPath.stream().map(Path::toString).collect(Collectors.joining(File.pathSeparator)));
      if (!files.isEmpty()) {
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        StringWriter errors = new StringWriter();
        try (StandardJavaFileManager fileManager =
            compiler.getStandardFileManager(null, null, StandardCharsets.UTF_8)) {
          boolean ok =
              compiler
                  .getTask(
                      errors,
                      fileManager,
                      null,
                      options,
                      null,
                      fileManager.getJavaFileObjectsFromStrings(files))
                  .call();
          if (!ok) {
            throw new IllegalStateException("Compiling the test sources failed:\n" + errors);
          }
        }
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

  /**
   * Compiles and packs the result into the jar {@code jar}, and returns it.
   *
   * @throws IllegalStateException if compilation fails
   */
  public Path jarTo(Path jar) {
    try {
      Path classes = compileTo(Files.createTempDirectory(scratch(), "classes"));
      pack(classes, jar);
      return jar;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Returns the module's scratch folder for sources and intermediate classes (cleaned by the
   * build).
   */
  private static Path scratch() throws IOException {
    return Files.createDirectories(Path.of("target", "test-scratch").toAbsolutePath());
  }

  /** Packs the content of a folder into a jar. */
  public static void pack(Path folder, Path jar) throws IOException {
    Files.createDirectories(jar.toAbsolutePath().getParent());
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

  /** Returns the jar or class folder a class was loaded from. */
  public static Path locationOf(Class<?> type) {
    try {
      return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
