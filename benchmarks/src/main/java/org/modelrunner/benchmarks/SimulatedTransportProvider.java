package org.modelrunner.benchmarks;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.PreparedCall;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.StatusCode;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.TransportProvider;
import org.modelrunner.spi.TransportSettings;
import org.modelrunner.spi.Variant;

/**
 * A scripted transport for the benchmarks, serving {@code simulated://<host>:<port>}: no runner
 * behind it. A setup succeeds after the {@linkplain #configure configured delay} (scheduled on the
 * given small {@link ScheduledExecutorService}, never a thread sleeping per model); a call answers
 * at once with a {@code DOUBLE}; a health check answers {@code SERVING}; a reset succeeds at once.
 * Closing a connection cancels its setups still waiting.
 *
 * <p>Registered in {@code META-INF/services/org.modelrunner.spi.TransportProvider}; the settings
 * are static because the fleet makes its providers through {@link java.util.ServiceLoader}.
 */
public final class SimulatedTransportProvider extends TransportProvider {
  /** The scheme served. */
  static final String SCHEME = "simulated";

  /** The scheduler and the setup delay; without a configuration, setups succeed at once. */
  private record Settings(ScheduledExecutorService scheduler, long setupDelayNanos) {}

  private static volatile Settings settings = new Settings(null, 0);
  private static final AtomicLong SETUPS = new AtomicLong();
  private static final AtomicLong CALLS = new AtomicLong();

  /**
   * {@link System#nanoTime()} when the first and the last setup were sent since {@link
   * #resetSetupTimes}.
   */
  private static final AtomicLong FIRST_SETUP_AT = new AtomicLong();

  private static final AtomicLong LAST_SETUP_AT = new AtomicLong();

  /**
   * Makes every setup from now on succeed {@code setupDelay} after it was sent, scheduled on {@code
   * scheduler} (which the caller owns and shuts down).
   */
  static void configure(ScheduledExecutorService scheduler, Duration setupDelay) {
    Objects.requireNonNull(scheduler, "scheduler");
    if (setupDelay.isNegative()) {
      throw new IllegalArgumentException("The setup delay cannot be negative: " + setupDelay);
    }
    settings = new Settings(scheduler, setupDelay.toNanos());
  }

  /** Returns how many setups were sent so far, over every connection. */
  static long setups() {
    return SETUPS.get();
  }

  /**
   * Forgets when setups were sent, so that {@link #firstSetupAt} and {@link #lastSetupAt} start
   * again.
   */
  static void resetSetupTimes() {
    FIRST_SETUP_AT.set(0);
    LAST_SETUP_AT.set(0);
  }

  /**
   * Returns the {@link System#nanoTime()} of the first setup sent since the reset, or 0 if none.
   */
  static long firstSetupAt() {
    return FIRST_SETUP_AT.get();
  }

  /** Returns the {@link System#nanoTime()} of the last setup sent since the reset, or 0 if none. */
  static long lastSetupAt() {
    return LAST_SETUP_AT.get();
  }

  /** Returns how many calls were answered so far, over every connection. */
  static long calls() {
    return CALLS.get();
  }

  /** Creates the provider. */
  public SimulatedTransportProvider() {}

  @Override
  public Set<String> schemes() {
    return Set.of(SCHEME);
  }

  @Override
  public ModelTransport create(TransportSettings transportSettings) {
    return new ModelTransport() {
      @Override
      public PreparedCall prepare(String methodName, Arguments arguments) {
        return PreparedCall.of(methodName, arguments);
      }

      @Override
      public ModelConnection connect(URI endpoint) {
        if (!SCHEME.equals(endpoint.getScheme()) || endpoint.getRawAuthority() == null) {
          throw new IllegalArgumentException("Not a " + SCHEME + ":// endpoint: " + endpoint);
        }
        return new Connection(endpoint);
      }

      @Override
      public void close() {}
    };
  }

  private static final class Connection implements ModelConnection {
    private final URI endpoint;

    /** A value of its own per model, so that answers differ. */
    private final double value;

    /** Setups waiting for their delay, cancelled on close. */
    private final Set<CompletableFuture<Reply>> pending = ConcurrentHashMap.newKeySet();

    private volatile boolean closed;

    Connection(URI endpoint) {
      this.endpoint = endpoint;
      this.value = (endpoint.getRawAuthority().hashCode() & 0xffff) / 65536.0;
    }

    @Override
    public URI endpoint() {
      return endpoint;
    }

    @Override
    public CompletableFuture<Reply> setup(String className, Arguments arguments, Duration timeout) {
      if (closed) {
        return closedFuture();
      }
      SETUPS.incrementAndGet();
      long now = System.nanoTime();
      FIRST_SETUP_AT.compareAndSet(0, now);
      LAST_SETUP_AT.set(now);
      Settings current = settings;
      Reply ready = Reply.of(StatusCode.SUCCESS, "Instance created successfully");
      if (current.scheduler() == null || current.setupDelayNanos() == 0) {
        return CompletableFuture.completedFuture(ready);
      }
      CompletableFuture<Reply> reply = new CompletableFuture<>();
      pending.add(reply);
      ScheduledFuture<?> timer;
      try {
        timer =
            current
                .scheduler()
                .schedule(
                    () -> reply.complete(ready), current.setupDelayNanos(), TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException e) {
        pending.remove(reply);
        return CompletableFuture.failedFuture(
            new TransportException(
                TransportException.Kind.UNAVAILABLE, "the simulation is shut down"));
      }
      reply.whenComplete(
          (r, e) -> {
            pending.remove(reply);
            timer.cancel(false);
          });
      if (closed) {
        reply.completeExceptionally(cancelled());
      }
      return reply;
    }

    @Override
    public CompletableFuture<Reply> call(PreparedCall call, Duration timeout) {
      if (closed) {
        return closedFuture();
      }
      CALLS.incrementAndGet();
      return CompletableFuture.completedFuture(Reply.success(Variant.ofDouble(value)));
    }

    @Override
    public CompletableFuture<Reply> reset(Duration timeout) {
      if (closed) {
        return closedFuture();
      }
      return CompletableFuture.completedFuture(
          Reply.of(StatusCode.SUCCESS, "Instance successfully reset"));
    }

    @Override
    public CompletableFuture<HealthStatus> checkHealth(Duration timeout) {
      if (closed) {
        return CompletableFuture.failedFuture(cancelled());
      }
      return CompletableFuture.completedFuture(HealthStatus.SERVING);
    }

    @Override
    public void close() {
      closed = true;
      for (CompletableFuture<Reply> reply : pending) {
        reply.completeExceptionally(cancelled());
      }
    }

    private TransportException cancelled() {
      return new TransportException(
          TransportException.Kind.CANCELLED, "the connection to " + endpoint + " was closed");
    }

    private CompletableFuture<Reply> closedFuture() {
      return CompletableFuture.failedFuture(cancelled());
    }
  }
}
