package org.modelrunner.fleetpage;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Reads a page over HTTP as a script would: its document, and its stream of documents. */
final class PageClient {
  static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(TIMEOUT).version(HttpClient.Version.HTTP_1_1).build();
  private final URI base;

  PageClient(URI base) {
    this.base = base;
  }

  HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(base.resolve(path)).timeout(TIMEOUT).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Returns the document at {@code /api/fleet}. */
  JsonNode fleet() throws IOException, InterruptedException {
    HttpResponse<String> response = get(PageRoutes.API);
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
    return JSON.readTree(response.body());
  }

  /** Opens the stream at {@code /events}. */
  EventStream events() throws IOException, InterruptedException {
    HttpResponse<Stream<String>> response =
        http.send(
            HttpRequest.newBuilder(base.resolve(PageRoutes.EVENTS)).GET().build(),
            HttpResponse.BodyHandlers.ofLines());
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValue("text/event-stream; charset=utf-8");
    return new EventStream(response.body());
  }

  /** One block of the stream: an event (with its name, id and data), or a comment. */
  record Message(String event, String id, String data, boolean comment) {
    JsonNode json() {
      try {
        return JSON.readTree(data);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /**
   * A stream of server-sent events, read line by line on a thread of its own; messages are parsed
   * as the HTML spec's parser does for the fields the page sends.
   */
  static final class EventStream implements AutoCloseable {
    private static final String END = "\u0000end";
    private final Stream<String> lines;
    private final BlockingQueue<String> received = new LinkedBlockingQueue<>();
    private final Thread reader;
    private volatile boolean ended;

    EventStream(Stream<String> lines) {
      this.lines = lines;
      this.reader =
          new Thread(
              () -> {
                try {
                  Iterator<String> iterator = lines.iterator();
                  while (iterator.hasNext()) {
                    received.add(iterator.next());
                  }
                } catch (RuntimeException e) {
                  // The connection was closed.
                } finally {
                  received.add(END);
                }
              },
              "page-client-events");
      reader.setDaemon(true);
      reader.start();
    }

    /**
     * Returns the next message, or null if the stream ended.
     *
     * @throws AssertionError if none came within the timeout
     */
    Message next(Duration timeout) throws InterruptedException {
      String event = "message";
      String id = null;
      List<String> data = new ArrayList<>();
      boolean comment = false;
      boolean any = false;
      long deadline = System.nanoTime() + timeout.toNanos();
      while (true) {
        String line = received.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        if (line == null) {
          throw new AssertionError("No message within " + timeout);
        }
        if (line.equals(END)) {
          ended = true;
          received.add(END);
          return null;
        }
        if (line.isEmpty()) {
          if (!data.isEmpty() || comment) {
            return new Message(event, id, String.join("\n", data), data.isEmpty());
          }
          if (any) {
            // A block with fields but no data (the retry time) dispatches nothing.
            event = "message";
            any = false;
          }
          continue;
        }
        any = true;
        if (line.startsWith(":")) {
          comment = true;
        } else if (line.startsWith("event: ")) {
          event = line.substring("event: ".length());
        } else if (line.startsWith("id: ")) {
          id = line.substring("id: ".length());
        } else if (line.startsWith("data: ")) {
          data.add(line.substring("data: ".length()));
        }
      }
    }

    /** Returns the next document (skipping comments). */
    Message nextDocument(Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (true) {
        Message message = next(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
        if (message == null || !message.comment()) {
          return message;
        }
      }
    }

    /** Waits until the server ends the stream. */
    boolean awaitEnd(Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!ended) {
        String line = received.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        if (line == null) {
          return false;
        }
        if (line.equals(END)) {
          ended = true;
        }
      }
      return true;
    }

    @Override
    public void close() {
      lines.close();
    }
  }
}
