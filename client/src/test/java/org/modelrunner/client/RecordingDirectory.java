package org.modelrunner.client;

import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.modelrunner.spi.ModelDirectory;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.ModelState;

/** A directory a test drives by hand, which records the failure reports it receives. */
final class RecordingDirectory implements ModelDirectory {
  record Report(String modelId, String code, String reason) {}

  final List<Report> reports = new CopyOnWriteArrayList<>();
  private volatile Listener listener;
  volatile boolean closed;

  /** What {@link #actsOnReports()} answers: false (a static list) unless the test sets it. */
  volatile boolean actsOnReports;

  static ModelEndpoint fake(String name) {
    return ModelEndpoint.of(name, URI.create("fake://" + name));
  }

  static ModelEndpoint fake(String name, String deployment) {
    return new ModelEndpoint(
        name, deployment, URI.create("fake://" + deployment), java.util.Map.of());
  }

  @Override
  public void start(Listener listener) {
    this.listener = listener;
  }

  void snapshot(ModelEndpoint... endpoints) {
    listener.snapshot(List.of(endpoints));
  }

  Listener listener() {
    return listener;
  }

  void update(ModelEndpoint endpoint, ModelState state) {
    listener.update(endpoint, state);
  }

  @Override
  public void reportFailure(ModelEndpoint endpoint, String failureCode, String reason) {
    reports.add(new Report(endpoint.modelId(), failureCode, reason));
  }

  @Override
  public boolean actsOnReports() {
    return actsOnReports;
  }

  @Override
  public void close() {
    closed = true;
  }
}
