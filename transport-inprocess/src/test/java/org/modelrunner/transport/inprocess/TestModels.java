package org.modelrunner.transport.inprocess;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.TransportSettings;
import org.modelrunner.spi.Variant;

/** The submission the tests host, compiled once, and helpers to send requests and read outcomes. */
final class TestModels {
  static final String BASE = "org.modelrunner.transport.inprocess.fixtures.TrackerBase";
  static final Duration TIMEOUT = Duration.ofSeconds(10);

  /** How long a test waits for a future that must complete (far above any expected time). */
  static final long WAIT_SECONDS = 20;

  private static Path classes;
  private static Path jar;

  private TestModels() {}

  static final String MODEL_SOURCE =
      """
      package com.example.inproc;
      import org.modelrunner.spi.Variant;
      import org.modelrunner.transport.inprocess.fixtures.Gates;
      import org.modelrunner.transport.inprocess.fixtures.TrackerBase;
      public class Model extends TrackerBase implements AutoCloseable {
        private final String name;
        private int ticks;
        public Model() { this("default"); }
        public Model(String name) { this.name = name; }
        public void tick(Object data) { ticks++; }
        public Object predict() { return ticks; }
        public String name() { return name; }
        public String echo(String text) { return text; }
        public long add(long a, long b) { return a + b; }
        public double scaled(double x, Double factor) { return factor == null ? x : x * factor; }
        public String fail() { throw new IllegalStateException("boom"); }
        public void nothing() {}
        public String threadName() { return Thread.currentThread().getName(); }
        public Variant echoVariant(Variant value) { return value; }
        public String text(Variant value) { return value.asString(); }
        public String big(int size) { return "x".repeat(size); }
        public int length(String text) { return text.length(); }
        public String hold(String key) throws InterruptedException { Gates.pass(key); return "released"; }
        public void close() throws InterruptedException {
          if (name.startsWith("gated-close")) { Gates.pass(name); }
        }
      }
      """;

  /** Returns the test submission as a class folder. */
  static synchronized Path submission() {
    if (classes == null) {
      classes =
          Sources.create()
              .add("com.example.inproc.Model", MODEL_SOURCE)
              .compileTo(scratch("classes"));
    }
    return classes;
  }

  /** Returns the test submission as a jar. */
  static synchronized Path jar() {
    if (jar == null) {
      jar =
          Sources.create()
              .add("com.example.inproc.Model", MODEL_SOURCE)
              .jarTo(scratch("jar").resolve("model.jar"));
    }
    return jar;
  }

  private static Path scratch(String prefix) {
    try {
      Path root = Files.createDirectories(Path.of("target", "test-submissions").toAbsolutePath());
      return Files.createTempDirectory(root, prefix);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static ModelTransport transport() {
    return transport(TransportSettings.defaults());
  }

  static ModelTransport transport(TransportSettings settings) {
    return new InProcessTransportProvider().create(settings);
  }

  /** Waits for the future's value; fails the test if it failed or takes too long. */
  static <T> T await(CompletableFuture<T> future) {
    try {
      return future.get(WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new AssertionError(
          "expected a value, the future failed with " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new AssertionError("the future did not complete within " + WAIT_SECONDS + " s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Waits for the future's failure and returns it; fails the test if it succeeded. */
  static TransportException failure(CompletableFuture<?> future) {
    try {
      Object value = future.get(WAIT_SECONDS, TimeUnit.SECONDS);
      return fail("expected a TransportException, got %s", value);
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(TransportException.class);
      return (TransportException) e.getCause();
    } catch (TimeoutException e) {
      throw new AssertionError("the future did not complete within " + WAIT_SECONDS + " s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Sets the model up and checks that it succeeded. */
  static void setUp(ModelConnection connection) {
    Reply reply = await(connection.setup(BASE, Arguments.none(), TIMEOUT));
    assertThat(reply.status().isSuccess()).as("%s", reply).isTrue();
  }

  /**
   * Calls {@code method} with positional arguments, through a call prepared by {@code transport}.
   */
  static CompletableFuture<Reply> call(
      ModelTransport transport,
      ModelConnection connection,
      String method,
      Duration timeout,
      Variant... values) {
    Arguments.Builder arguments = Arguments.builder();
    for (Variant value : values) {
      arguments.add(value);
    }
    return connection.call(transport.prepare(method, arguments.build()), timeout);
  }

  static CompletableFuture<Reply> call(
      ModelTransport transport, ModelConnection connection, String method, Variant... values) {
    return call(transport, connection, method, TIMEOUT, values);
  }

  /** Returns the names of the live threads of the in-process transport. */
  static List<String> transportThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .map(Thread::getName)
        .filter(name -> name.startsWith(TransportThreads.PREFIX))
        .sorted()
        .collect(Collectors.toList());
  }

  /** After every test class: no model left registered, no transport thread left running. */
  static final class NoLeaks implements AfterAllCallback {
    @Override
    public void afterAll(ExtensionContext context) throws Exception {
      List<String> left = InProcessModels.names();
      InProcessModels.closeAll();
      assertThat(left).as("models a test left registered").isEmpty();
      assertThat(InProcessModels.awaitThreadsStopped(Duration.ofSeconds(10)))
          .as(
              "transport threads still alive after every test closed everything: %s (users: %s)",
              transportThreads(), SharedResources.users())
          .isTrue();
      assertThat(transportThreads()).isEmpty();
    }
  }
}
