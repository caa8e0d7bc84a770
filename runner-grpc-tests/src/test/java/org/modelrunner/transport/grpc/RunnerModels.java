package org.modelrunner.transport.grpc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** The submission the runner tests serve, compiled once per test run, and runners over it. */
final class RunnerModels {
  static final String BASE = "org.modelrunner.transport.grpc.runnerfixtures.TrackerBase";
  static final String PREFIX = "The model raised an exception: ";

  static final String MODEL_SOURCE =
      """
      package com.example.grpcrunner;
      import org.modelrunner.testsupport.Gate;
      import org.modelrunner.transport.grpc.runnerfixtures.TrackerBase;
      public class Model extends TrackerBase {
        private final String name;
        private int ticks;
        public Model() throws InterruptedException { this("default"); }
        public Model(String name) throws InterruptedException {
          if (name.equals("hold")) { Gate.pass(); } // a constructor the test holds open
          this.name = name;
        }
        public Model(String name, int horizon) {
          if (horizon <= 0) { throw new IllegalArgumentException("horizon must be positive, got " + horizon); }
          this.name = name + "/" + horizon;
        }
        public void tick(Object data) { ticks++; }
        public Object predict() { return ticks; }
        public String name() { return name; }
        public long answer() { return 42; }
        public void nothing() {}
        public String nothingToo() { return null; }
        public String fail() { throw new IllegalStateException("boom"); }
        public long count(long n) { return n; }
        public Object object() { return new Object(); }
        public String concat(String a, String b, String c) { return a + b + c; }
        public double scaled(double x, Double factor) { return factor == null ? x : x * factor; }
        public String hold() throws InterruptedException { Gate.pass(); return "held"; }
        public String big(int size) { return "x".repeat(size); }
        public long sleep(long millis) throws InterruptedException { Thread.sleep(millis); return millis; }
        public String echo(String text) { return text; }
        public String threadGroup() { return Thread.currentThread().getThreadGroup().getName(); }
      }
      """;

  private static Path submission;

  private RunnerModels() {}

  /** Returns the folder of the compiled submission (compiled on first use). */
  static synchronized Path submission() {
    if (submission == null) {
      try {
        Path scratch =
            Files.createDirectories(Path.of("target", "runner-test-scratch").toAbsolutePath());
        Path out = Files.createTempDirectory(scratch, "model");
        submission =
            RunnerSources.create().add("com.example.grpcrunner.Model", MODEL_SOURCE).compileTo(out);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return submission;
  }

  /** Returns a builder of a runner of the test submission on 127.0.0.1, on a free port. */
  static GrpcRunner.Builder runner() {
    return GrpcRunner.builder()
        .submission(submission())
        .address("127.0.0.1:0")
        .shutdownGrace(Duration.ofSeconds(5));
  }

  /** Returns a started runner of the test submission on 127.0.0.1, on a free port. */
  static GrpcRunner started() throws IOException {
    return runner().build().start();
  }
}
