package org.modelrunner.conformance;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.PreparedCall;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.Variant;
import org.modelrunner.testsupport.ForwardingConnection;

/**
 * Deliberately broken transports, each a wrapper around a working one that breaks one thing, for
 * the self-test: the suite must reject each of them by the rule made for it.
 */
final class BrokenTransports {
  private BrokenTransports() {}

  /** Loses the result of every {@value #EVERY}th call: its future never completes. */
  static final class DroppingResults extends ForwardingTransport {
    static final int EVERY = 20;
    private final AtomicInteger calls = new AtomicInteger();

    DroppingResults(ModelTransport delegate) {
      super(delegate);
    }

    @Override
    ModelConnection wrap(ModelConnection connection) {
      return new ForwardingConnection(connection) {
        @Override
        public CompletableFuture<Reply> call(PreparedCall call, Duration timeout) {
          CompletableFuture<Reply> real = super.call(call, timeout);
          return calls.incrementAndGet() % EVERY == 0 ? new CompletableFuture<>() : real;
        }
      };
    }
  }

  /** Ignores the timeout of calls: waits for the model however long it takes. */
  static final class IgnoringDeadlines extends ForwardingTransport {
    IgnoringDeadlines(ModelTransport delegate) {
      super(delegate);
    }

    @Override
    ModelConnection wrap(ModelConnection connection) {
      return new ForwardingConnection(connection) {
        @Override
        public CompletableFuture<Reply> call(PreparedCall call, Duration timeout) {
          return super.call(call, Duration.ofHours(1));
        }
      };
    }
  }

  /** Starts a thread per connection that nothing ever stops. */
  static final class LeakingThreads extends ForwardingTransport {
    static final String THREAD_PREFIX = "leaky-transport-";
    private static final AtomicInteger NUMBERS = new AtomicInteger();
    private static final List<Thread> LEAKED = new CopyOnWriteArrayList<>();
    private static volatile CountDownLatch release = new CountDownLatch(1);

    LeakingThreads(ModelTransport delegate) {
      super(delegate);
    }

    @Override
    ModelConnection wrap(ModelConnection connection) {
      CountDownLatch latch = release;
      Thread thread =
          new Thread(
              () -> {
                try {
                  latch.await();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              },
              THREAD_PREFIX + NUMBERS.incrementAndGet());
      thread.setDaemon(true);
      thread.start();
      LEAKED.add(thread);
      return connection;
    }

    /** Ends every thread leaked so far (for the self-test's clean-up). */
    static void endLeakedThreads() throws InterruptedException {
      CountDownLatch latch = release;
      release = new CountDownLatch(1);
      latch.countDown();
      for (Thread thread : LEAKED) {
        thread.join(10_000);
      }
      LEAKED.clear();
    }
  }

  /** Flips a bit of the first byte of every value a call returns. */
  static final class ManglingValues extends ForwardingTransport {
    ManglingValues(ModelTransport delegate) {
      super(delegate);
    }

    @Override
    ModelConnection wrap(ModelConnection connection) {
      return new ForwardingConnection(connection) {
        @Override
        public CompletableFuture<Reply> call(PreparedCall call, Duration timeout) {
          return super.call(call, timeout).thenApply(ManglingValues::mangle);
        }
      };
    }

    private static Reply mangle(Reply reply) {
      Variant value = reply.value().orElse(null);
      if (value == null || value.size() == 0 || !reply.status().isSuccess()) {
        return reply;
      }
      byte[] bytes = value.toByteArray();
      bytes[0] ^= 0x01;
      return Reply.success(Variant.of(value.type(), bytes));
    }
  }

  /**
   * Hides BUSY: retries a rejected call every few milliseconds until it is accepted (queues, in
   * effect).
   */
  static final class RetryingWhenBusy extends ForwardingTransport {
    RetryingWhenBusy(ModelTransport delegate) {
      super(delegate);
    }

    @Override
    ModelConnection wrap(ModelConnection connection) {
      return new ForwardingConnection(connection) {
        @Override
        public CompletableFuture<Reply> call(PreparedCall call, Duration timeout) {
          CompletableFuture<Reply> result = new CompletableFuture<>();
          attempt(call, timeout, result);
          return result;
        }

        private void attempt(PreparedCall call, Duration timeout, CompletableFuture<Reply> result) {
          super.call(call, timeout)
              .whenComplete(
                  (reply, failure) -> {
                    Throwable cause =
                        failure instanceof CompletionException ? failure.getCause() : failure;
                    if (cause instanceof TransportException busy
                        && busy.kind() == TransportException.Kind.BUSY) {
                      CompletableFuture.delayedExecutor(5, TimeUnit.MILLISECONDS)
                          .execute(() -> attempt(call, timeout, result));
                    } else if (cause != null) {
                      result.completeExceptionally(cause);
                    } else {
                      result.complete(reply);
                    }
                  });
        }
      };
    }
  }

  /**
   * Does nothing when a connection is closed: its requests run on (only closing the transport stops
   * them).
   */
  static final class IgnoringConnectionClose extends ForwardingTransport {
    IgnoringConnectionClose(ModelTransport delegate) {
      super(delegate);
    }

    @Override
    ModelConnection wrap(ModelConnection connection) {
      return new ForwardingConnection(connection) {
        @Override
        public void close() {}
      };
    }
  }

  /** A transport that forwards everything, and lets subclasses wrap the connections it makes. */
  abstract static class ForwardingTransport implements ModelTransport {
    private final ModelTransport delegate;

    ForwardingTransport(ModelTransport delegate) {
      this.delegate = delegate;
    }

    abstract ModelConnection wrap(ModelConnection connection);

    @Override
    public PreparedCall prepare(String methodName, Arguments arguments) {
      return delegate.prepare(methodName, arguments);
    }

    @Override
    public ModelConnection connect(URI endpoint) {
      return wrap(delegate.connect(endpoint));
    }

    @Override
    public void close() {
      delegate.close();
    }
  }
}
