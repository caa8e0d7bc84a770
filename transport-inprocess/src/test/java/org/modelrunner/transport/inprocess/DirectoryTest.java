package org.modelrunner.transport.inprocess;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.modelrunner.spi.ModelDirectory;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.ModelState;
import org.modelrunner.transport.inprocess.fixtures.ClassPathTracker;

/**
 * The directory over the registry: snapshot, then RUNNING and STOPPED updates, on the events
 * thread.
 */
@ExtendWith(TestModels.NoLeaks.class)
class DirectoryTest {
  /** Records what a directory reports, and on which thread, and whether calls ever overlapped. */
  static final class Recorder implements ModelDirectory.Listener {
    final BlockingQueue<String> events = new LinkedBlockingQueue<>();
    final BlockingQueue<String> threads = new LinkedBlockingQueue<>();
    final AtomicInteger inside = new AtomicInteger();
    volatile boolean overlapped;

    @Override
    public void snapshot(List<ModelEndpoint> running) {
      enter();
      events.add("snapshot " + running.stream().map(e -> e.address().toString()).toList());
      leave();
    }

    @Override
    public void update(ModelEndpoint endpoint, ModelState state) {
      enter();
      events.add(state + " " + endpoint.address());
      leave();
    }

    private void enter() {
      if (inside.incrementAndGet() > 1) {
        overlapped = true;
      }
      threads.add(Thread.currentThread().getName());
    }

    private void leave() {
      inside.decrementAndGet();
    }

    String next() throws InterruptedException {
      String event = events.poll(10, TimeUnit.SECONDS);
      assertThat(event).as("an event within 10 s").isNotNull();
      return event;
    }
  }

  @Test
  void reportsASnapshotThenEveryRegistrationCloseAndCrashInOrder() throws Exception {
    Recorder recorder = new Recorder();
    InProcessRunner b = InProcessModels.register("dir-b", ClassPathTracker.class);
    InProcessRunner a = InProcessModels.register("dir-a", ClassPathTracker.class);
    InProcessRunner c = null;
    InProcessRunner d = null;
    ModelDirectory directory = InProcessModels.directory();
    try {
      directory.start(recorder);
      assertThat(recorder.next()).isEqualTo("snapshot [inproc://dir-a, inproc://dir-b]");

      c = InProcessModels.register("dir-c", ClassPathTracker.class);
      assertThat(recorder.next()).isEqualTo("RUNNING inproc://dir-c");
      a.close();
      assertThat(recorder.next()).isEqualTo("STOPPED inproc://dir-a");
      b.crash();
      assertThat(recorder.next()).isEqualTo("STOPPED inproc://dir-b");
      b.close(); // already reported
      c.close();
      assertThat(recorder.next()).isEqualTo("STOPPED inproc://dir-c");

      // Many changes from several threads: each one reported once, in an order consistent per
      // model.
      Thread[] registrars = new Thread[4];
      for (int t = 0; t < registrars.length; t++) {
        int thread = t;
        registrars[t] =
            new Thread(
                () -> {
                  for (int i = 0; i < 10; i++) {
                    InProcessModels.register("dir-many-" + thread + "-" + i, ClassPathTracker.class)
                        .close();
                  }
                });
        registrars[t].start();
      }
      for (Thread registrar : registrars) {
        registrar.join(20_000);
      }
      Map<String, String> lastState = new HashMap<>();
      for (int i = 0; i < 80; i++) {
        String[] event = recorder.next().split(" ");
        String previous = lastState.put(event[1], event[0]);
        assertThat(previous)
            .as("events of %s", event[1])
            .isEqualTo(event[0].equals("RUNNING") ? null : "RUNNING");
      }
      assertThat(lastState)
          .hasSize(40)
          .allSatisfy((endpoint, state) -> assertThat(state).isEqualTo("STOPPED"));
      assertThat(recorder.overlapped).as("listener calls overlapped").isFalse();
      assertThat(recorder.threads).containsOnly("modelrunner-inproc-events");

      directory.close();
      d = InProcessModels.register("dir-d", ClassPathTracker.class);
      assertThat(recorder.events.poll(200, TimeUnit.MILLISECONDS)).as("event after close").isNull();
    } finally {
      directory.close();
      a.close();
      b.close();
      if (c != null) {
        c.close();
      }
      if (d != null) {
        d.close();
      }
    }
  }

  @Test
  void entriesCarryTheRegistrationsIdsAndInfos() throws Exception {
    Recorder ignored = new Recorder();
    BlockingQueue<List<ModelEndpoint>> snapshots = new LinkedBlockingQueue<>();
    Map<String, String> infos = new HashMap<>();
    infos.put("model_name", "tracker");
    infos.put("cruncher_name", null);
    try (InProcessRunner runner =
            InProcessModels.implementation("dir-ids", ClassPathTracker.class)
                .modelId("m1")
                .deploymentId("m1_20250915_143034_791")
                .infos(infos)
                .register();
        InProcessRunner defaults =
            InProcessModels.register("dir-defaults", ClassPathTracker.class);
        ModelDirectory directory = InProcessModels.directory()) {
      directory.start(
          new ModelDirectory.Listener() {
            @Override
            public void snapshot(List<ModelEndpoint> running) {
              snapshots.add(running);
            }

            @Override
            public void update(ModelEndpoint endpoint, ModelState state) {
              ignored.update(endpoint, state);
            }
          });
      List<ModelEndpoint> running = snapshots.poll(10, TimeUnit.SECONDS);
      assertThat(running)
          .containsExactly(
              new ModelEndpoint(
                  "dir-defaults", "dir-defaults", URI.create("inproc://dir-defaults"), Map.of()),
              new ModelEndpoint(
                  "m1", "m1_20250915_143034_791", URI.create("inproc://dir-ids"), infos));
      assertThat(runner.modelId()).isEqualTo("m1");
      assertThat(runner.deploymentId()).isEqualTo("m1_20250915_143034_791");
      assertThat(runner.infos()).containsEntry("cruncher_name", null);
      assertThat(defaults.modelId()).isEqualTo("dir-defaults");
      assertThatThrownBy(() -> directory.start(ignored)).isInstanceOf(IllegalStateException.class);
    }
  }

  @Test
  void aListenerThatThrowsStillGetsLaterEvents() throws Exception {
    BlockingQueue<String> events = new LinkedBlockingQueue<>();
    try (ModelDirectory directory = InProcessModels.directory()) {
      directory.start(
          new ModelDirectory.Listener() {
            @Override
            public void snapshot(List<ModelEndpoint> running) {
              events.add("snapshot");
              throw new IllegalStateException("listener bug");
            }

            @Override
            public void update(ModelEndpoint endpoint, ModelState state) {
              events.add(state.name());
            }
          });
      InProcessModels.register("dir-throwing", ClassPathTracker.class).close();
      assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("snapshot");
      assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("RUNNING");
      assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("STOPPED");
    }
  }
}
