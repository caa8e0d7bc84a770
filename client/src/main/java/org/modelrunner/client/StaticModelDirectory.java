package org.modelrunner.client;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.modelrunner.spi.ModelDirectory;
import org.modelrunner.spi.ModelEndpoint;

/** A fixed list of model endpoints: reported once, as the snapshot, and never updated. */
public final class StaticModelDirectory implements ModelDirectory {
  private final List<ModelEndpoint> endpoints;
  private final AtomicBoolean started = new AtomicBoolean();

  private StaticModelDirectory(List<ModelEndpoint> endpoints) {
    this.endpoints = List.copyOf(endpoints);
  }

  /** Returns a directory of the given endpoints. */
  public static StaticModelDirectory of(List<ModelEndpoint> endpoints) {
    return new StaticModelDirectory(endpoints);
  }

  /**
   * Returns a directory of the given endpoint URIs. Each model's id (and deployment id) is the URI
   * without its scheme: {@code inproc://alice} is {@code alice}, {@code grpc://10.0.0.5:50051} is
   * {@code 10.0.0.5:50051}.
   *
   * @throws IllegalArgumentException if a URI is malformed or has no scheme
   */
  public static StaticModelDirectory of(String... uris) {
    List<ModelEndpoint> endpoints = new ArrayList<>();
    for (String text : uris) {
      URI uri = URI.create(text);
      if (uri.getScheme() == null || uri.getRawSchemeSpecificPart() == null) {
        throw new IllegalArgumentException(
            "An endpoint needs a scheme, such as grpc://host:port: " + text);
      }
      String id = uri.getRawSchemeSpecificPart().replaceFirst("^//", "");
      endpoints.add(ModelEndpoint.of(id, uri));
    }
    return new StaticModelDirectory(endpoints);
  }

  /** Returns the endpoints. */
  public List<ModelEndpoint> endpoints() {
    return endpoints;
  }

  @Override
  public void start(Listener listener) {
    Objects.requireNonNull(listener, "listener");
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException("Already started");
    }
    listener.snapshot(endpoints);
  }

  @Override
  public void close() {}
}
