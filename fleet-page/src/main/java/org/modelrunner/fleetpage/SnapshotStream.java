package org.modelrunner.fleetpage;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The server-sent event stream of the page: one JSON document per push, the same bytes for every
 * subscriber.
 *
 * <p>One thread (the {@code ticker}) reads the fleet every update interval, and soon after an event
 * (at most once per {@link #EARLY_PUSH_DELAY}), but only while someone subscribes. When nothing
 * changed since the last push (the statuses, the directory and the events compare equal) nothing is
 * encoded and subscribers get a comment line instead, which keeps their connection alive and finds
 * those that left. Each subscriber is written to on the {@code writers} executor, one write at a
 * time; one that is still busy when the next document comes gets only the latest (documents in
 * between are skipped), so a slow reader never delays the others or the ticker.
 */
final class SnapshotStream implements AutoCloseable {
  /** How soon after an event a document is pushed; events in between share the push. */
  static final Duration EARLY_PUSH_DELAY = Duration.ofMillis(200);

  private static final System.Logger LOG = System.getLogger(SnapshotStream.class.getName());
  private static final byte[] KEEP_ALIVE = ":\n\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] EVENT_PREFIX =
      "event: fleet\nid: ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] DATA_PREFIX = "\ndata: ".getBytes(StandardCharsets.US_ASCII);

  private final FleetReader reader;
  private final ScheduledExecutorService ticker;
  private final Executor writers;
  private final int maxSubscribers;
  private final Set<Subscriber> subscribers = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean earlyPushPending = new AtomicBoolean();
  private volatile boolean closed;

  // Read and written on the ticker thread only.
  private FleetReader.State lastState;
  private byte[] lastFrame;
  private long pushes;

  SnapshotStream(
      FleetReader reader, ScheduledExecutorService ticker, Executor writers, int maxSubscribers) {
    this.reader = reader;
    this.ticker = ticker;
    this.writers = writers;
    this.maxSubscribers = maxSubscribers;
  }

  /** Starts the periodic pushes. */
  void start(Duration interval) {
    long nanos = interval.toNanos();
    ticker.scheduleWithFixedDelay(this::pushQuietly, nanos, nanos, TimeUnit.NANOSECONDS);
  }

  /** Asks for a push soon (after an event): pushes that are asked for in the meantime share it. */
  void changed() {
    if (closed || subscribers.isEmpty() || !earlyPushPending.compareAndSet(false, true)) {
      return;
    }
    try {
      ticker.schedule(
          () -> {
            earlyPushPending.set(false);
            pushQuietly();
          },
          EARLY_PUSH_DELAY.toNanos(),
          TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // Closed meanwhile.
      earlyPushPending.set(false);
    }
  }

  /**
   * Subscribes a client whose response headers are sent: it gets the current document at once, then
   * every push.
   *
   * @return false if the stream is closed or has its maximum of subscribers (nothing was written)
   */
  boolean subscribe(HttpExchange exchange) {
    if (closed || subscribers.size() >= maxSubscribers) {
      return false;
    }
    Subscriber subscriber = new Subscriber(exchange);
    subscribers.add(subscriber);
    try {
      ticker.execute(() -> push(subscriber));
    } catch (RejectedExecutionException e) {
      subscribers.remove(subscriber);
      return false;
    }
    return true;
  }

  /** Returns how many clients are subscribed now. */
  int subscribers() {
    return subscribers.size();
  }

  private void pushQuietly() {
    push(null);
  }

  /**
   * Pushes the current document to every subscriber if it changed since the last push; otherwise
   * sends the last one to {@code newcomer} (if not null) and a keep-alive comment to the others.
   */
  private void push(Subscriber newcomer) {
    if (closed || subscribers.isEmpty()) {
      return;
    }
    Refreshed refreshed;
    try {
      refreshed = refresh();
    } catch (RuntimeException e) {
      // A fleet closed under the page, say: the next push tries again.
      LOG.log(System.Logger.Level.WARNING, "Cannot read the fleet for the page: " + e, e);
      return;
    }
    for (Subscriber subscriber : subscribers) {
      if (refreshed.changed || subscriber == newcomer) {
        subscriber.offer(refreshed.frame, true);
      } else {
        subscriber.offer(KEEP_ALIVE, false);
      }
    }
  }

  private record Refreshed(byte[] frame, boolean changed) {}

  /** Reads the fleet; encodes a new frame if something changed. On the ticker thread. */
  private Refreshed refresh() {
    FleetReader.State state = reader.read();
    if (state.equals(lastState) && lastFrame != null) {
      return new Refreshed(lastFrame, false);
    }
    byte[] json = reader.document(state);
    byte[] id = Long.toString(++pushes).getBytes(StandardCharsets.US_ASCII);
    byte[] frame = new byte[EVENT_PREFIX.length + id.length + DATA_PREFIX.length + json.length + 2];
    int at = 0;
    System.arraycopy(EVENT_PREFIX, 0, frame, at, EVENT_PREFIX.length);
    at += EVENT_PREFIX.length;
    System.arraycopy(id, 0, frame, at, id.length);
    at += id.length;
    System.arraycopy(DATA_PREFIX, 0, frame, at, DATA_PREFIX.length);
    at += DATA_PREFIX.length;
    System.arraycopy(json, 0, frame, at, json.length);
    at += json.length;
    frame[at++] = '\n';
    frame[at] = '\n';
    lastState = state;
    lastFrame = frame;
    return new Refreshed(frame, true);
  }

  private void drop(Subscriber subscriber) {
    if (subscribers.remove(subscriber)) {
      subscriber.exchange.close();
    }
  }

  /**
   * Stops pushing and forgets the subscribers; their connections are closed by the server's stop.
   */
  @Override
  public void close() {
    closed = true;
    subscribers.clear();
  }

  /** One client of the stream, written to by one task at a time. */
  private final class Subscriber {
    final HttpExchange exchange;
    final OutputStream body;

    /** The next bytes to write: a document, or a keep-alive comment; the latest document wins. */
    final AtomicReference<byte[]> next = new AtomicReference<>();

    final AtomicBoolean writing = new AtomicBoolean();

    Subscriber(HttpExchange exchange) {
      this.exchange = exchange;
      this.body = exchange.getResponseBody();
    }

    void offer(byte[] frame, boolean document) {
      if (document) {
        next.set(frame);
      } else if (!next.compareAndSet(null, frame)) {
        return; // a document is waiting: it keeps the connection alive as well
      }
      if (writing.compareAndSet(false, true)) {
        try {
          writers.execute(this::drain);
        } catch (RejectedExecutionException e) {
          writing.set(false);
        }
      }
    }

    private void drain() {
      while (true) {
        byte[] frame = next.getAndSet(null);
        if (frame == null) {
          writing.set(false);
          // An offer that came after the last read but before the flag was cleared saw the flag
          // set and did not start a task: take it now.
          if (next.get() == null || !writing.compareAndSet(false, true)) {
            return;
          }
          continue;
        }
        if (closed) {
          return;
        }
        try {
          body.write(frame);
          body.flush();
        } catch (IOException | RuntimeException e) {
          // The client left (or the server stopped).
          drop(this);
          return;
        }
      }
    }
  }
}
