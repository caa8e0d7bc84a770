package org.modelrunner.transport.inprocess;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.modelrunner.spi.ModelDirectory;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.ModelState;

/**
 * A {@link ModelDirectory} over the {@link InProcessModels} registry: a snapshot of the registered
 * runners, then {@code RUNNING} for each registration and {@code STOPPED} for each close or crash.
 *
 * <p>Events are queued in registry order while the registry's lock is held, and delivered
 * afterwards, one at a time and in order, on the transport's events thread: never under the
 * registry's lock, never on the caller's or a model's thread.
 */
final class RegistryDirectory implements ModelDirectory {
  private static final System.Logger LOG = System.getLogger(RegistryDirectory.class.getName());

  /** A snapshot (when {@code snapshot} is not null) or an update. */
  private record Event(List<ModelEndpoint> snapshot, ModelEndpoint endpoint, ModelState state) {}

  private final ConcurrentLinkedQueue<Event> events = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean started = new AtomicBoolean();
  private final AtomicBoolean draining = new AtomicBoolean();
  private volatile boolean closed;
  private volatile Listener listener;
  private volatile SharedResources.Reference reference;

  @Override
  public synchronized void start(Listener listener) {
    Objects.requireNonNull(listener, "listener");
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException("This directory has already been started");
    }
    if (closed) {
      throw new IllegalStateException("This directory is closed");
    }
    this.listener = listener;
    this.reference = SharedResources.acquire();
    InProcessModels.attach(this);
    schedule();
  }

  /** Queues the snapshot; called under the registry's lock. */
  void enqueueSnapshot(List<ModelEndpoint> running) {
    events.add(new Event(List.copyOf(running), null, null));
  }

  /** Queues an update; called under the registry's lock. */
  void enqueueUpdate(ModelEndpoint endpoint, ModelState state) {
    events.add(new Event(null, endpoint, state));
  }

  /** Makes sure queued events get delivered; called after the registry's lock is released. */
  void schedule() {
    if (closed || events.isEmpty() || !draining.compareAndSet(false, true)) {
      return;
    }
    try {
      reference.get().events.execute(this::drain);
    } catch (RejectedExecutionException e) {
      draining.set(false); // shut down: only after this directory was closed
    }
  }

  private void drain() {
    do {
      Event event;
      while (!closed && (event = events.poll()) != null) {
        try {
          if (event.snapshot() != null) {
            listener.snapshot(event.snapshot());
          } else {
            listener.update(event.endpoint(), event.state());
          }
        } catch (RuntimeException | Error e) {
          LOG.log(System.Logger.Level.WARNING, "A directory listener failed: " + e, e);
        }
      }
      draining.set(false);
    } while (!closed && !events.isEmpty() && draining.compareAndSet(false, true));
  }

  /** Stops reporting; an event being delivered completes. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    InProcessModels.detach(this);
    events.clear();
    SharedResources.Reference held = reference;
    if (held != null) {
      held.release();
    }
  }
}
