package org.modelrunner.client;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.CallProgress;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.PreparedCall;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.TransportProvider;
import org.modelrunner.spi.TransportSettings;

/**
 * A scripted transport for the fleet's tests, serving {@code fake://name}: each name's behaviour is
 * set by the test ({@link #define}), and the transport records what it saw (calls in flight,
 * prepares).
 */
public final class FakeTransportProvider extends TransportProvider {
  /** What a fake model does with a request; runs on the fake's own threads. */
  @FunctionalInterface
  interface Behaviour {
    CompletableFuture<Reply> answer(String method, Arguments arguments, Duration timeout);
  }

  /** A fake model: its behaviours and what it observed. */
  static final class FakeModel {
    volatile Behaviour setup = (m, a, t) -> CompletableFuture.completedFuture(CREATED);
    volatile Behaviour call;
    volatile java.util.function.Function<Duration, CompletableFuture<HealthStatus>> health =
        t -> CompletableFuture.completedFuture(HealthStatus.SERVING);
    final AtomicInteger healthChecks = new AtomicInteger();
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicInteger maxInFlight = new AtomicInteger();
    final AtomicInteger calls = new AtomicInteger();
    final AtomicInteger setups = new AtomicInteger();

    /** Connections to this model that were closed. */
    final AtomicInteger closes = new AtomicInteger();

    volatile Arguments lastArguments;
    volatile Thread lastThread;

    /**
     * Holds this model's setup open until the returned future completes (with {@link #CREATED},
     * say).
     */
    CompletableFuture<Reply> holdSetup() {
      CompletableFuture<Reply> held = new CompletableFuture<>();
      setup = (m, a, t) -> held;
      return held;
    }
  }

  /** A successful setup's answer, as the runners give it. */
  static final Reply CREATED =
      Reply.of(org.modelrunner.spi.StatusCode.SUCCESS, "Instance created successfully");

  static final Map<String, FakeModel> MODELS = new ConcurrentHashMap<>();
  static final AtomicInteger PREPARES = new AtomicInteger();
  static final ScheduledExecutorService THREADS =
      Executors.newScheduledThreadPool(
          4,
          r -> {
            Thread t = new Thread(r, "fake-transport");
            t.setDaemon(true);
            return t;
          });

  /** Defines (or replaces) the fake model of that name, whose calls behave as given. */
  static FakeModel define(String name, Behaviour call) {
    FakeModel model = new FakeModel();
    model.call = call;
    MODELS.put(name, model);
    return model;
  }

  /** Returns a behaviour that answers SUCCESS with {@code value} after {@code delay}. */
  static Behaviour answering(Object value, Duration delay) {
    org.modelrunner.spi.ValueConverter converter = org.modelrunner.spi.ValueConverter.create();
    return (m, a, t) -> {
      CompletableFuture<Reply> reply = new CompletableFuture<>();
      THREADS.schedule(
          () -> reply.complete(Reply.success(converter.encode(value))),
          delay.toNanos(),
          TimeUnit.NANOSECONDS);
      return reply;
    };
  }

  /**
   * A behaviour that never answers, ignoring the deadline (a broken transport or a lost packet).
   */
  static Behaviour silent() {
    return (m, a, t) -> new CompletableFuture<>();
  }

  /**
   * A behaviour that fails at once with DEADLINE_EXCEEDED, as a request that waited in the
   * coordinator's process until its deadline (when {@code waits}) or that the model ran past it,
   * told by its future ({@link CallProgress}); at once, so that no timing is involved.
   */
  static Behaviour progressing(boolean waits) {
    return (m, a, t) -> {
      CompletableFuture<Reply> reply = new Progressing<>(() -> waits);
      reply.completeExceptionally(
          new TransportException(TransportException.Kind.DEADLINE_EXCEEDED, "scripted"));
      return reply;
    };
  }

  /** A future that tells its request's progress. */
  private static final class Progressing<T> extends CompletableFuture<T> implements CallProgress {
    private final CallProgress told;

    Progressing(CallProgress told) {
      this.told = told;
    }

    @Override
    public boolean waitsInCoordinator() {
      return told.waitsInCoordinator();
    }
  }

  /** Returns a behaviour that answers with the given status. */
  static Behaviour status(org.modelrunner.spi.StatusCode code, String message) {
    return (m, a, t) -> CompletableFuture.supplyAsync(() -> Reply.of(code, message), THREADS);
  }

  /** Returns a behaviour that fails with a transport error. */
  static Behaviour transportError(TransportException.Kind kind) {
    return (m, a, t) ->
        CompletableFuture.supplyAsync(
            () -> {
              throw new TransportException(kind, "scripted " + kind);
            },
            THREADS);
  }

  /** Creates the provider. */
  public FakeTransportProvider() {}

  @Override
  public Set<String> schemes() {
    return Set.of("fake");
  }

  @Override
  public ModelTransport create(TransportSettings settings) {
    return new ModelTransport() {
      @Override
      public PreparedCall prepare(String methodName, Arguments arguments) {
        PREPARES.incrementAndGet();
        return PreparedCall.of(methodName, arguments);
      }

      @Override
      public ModelConnection connect(URI endpoint) {
        return new Connection(endpoint);
      }

      @Override
      public void close() {}
    };
  }

  /**
   * A connection to a fake model. Closing it fails what is still running, and every later request,
   * with {@code CANCELLED}, as the real transports do.
   */
  private static final class Connection implements ModelConnection {
    private final URI endpoint;
    private final Set<CompletableFuture<?>> running = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    Connection(URI endpoint) {
      this.endpoint = endpoint;
    }

    private FakeModel model() {
      FakeModel model = MODELS.get(endpoint.getAuthority());
      if (model == null) {
        throw new TransportException(
            TransportException.Kind.UNAVAILABLE, "no fake model " + endpoint);
      }
      return model;
    }

    @Override
    public URI endpoint() {
      return endpoint;
    }

    @Override
    public CompletableFuture<Reply> setup(String className, Arguments arguments, Duration timeout) {
      try {
        FakeModel model = model();
        model.setups.incrementAndGet();
        return model.setup.answer(className, arguments, timeout);
      } catch (TransportException e) {
        return CompletableFuture.failedFuture(e);
      }
    }

    @Override
    public CompletableFuture<Reply> call(PreparedCall call, Duration timeout) {
      FakeModel model;
      try {
        model = model();
      } catch (TransportException e) {
        return CompletableFuture.failedFuture(e);
      }
      int now = model.inFlight.incrementAndGet();
      model.maxInFlight.accumulateAndGet(now, Math::max);
      model.calls.incrementAndGet();
      model.lastArguments = call.arguments();
      model.lastThread = Thread.currentThread();
      CompletableFuture<Reply> reply =
          model.call.answer(call.methodName(), call.arguments(), timeout);
      CompletableFuture<Reply> result =
          reply instanceof CallProgress told ? new Progressing<>(told) : new CompletableFuture<>();
      return tracked(reply.whenComplete((r, e) -> model.inFlight.decrementAndGet()), result);
    }

    /** A future that fails with CANCELLED if the connection closes first. */
    private <T> CompletableFuture<T> tracked(CompletableFuture<T> answer) {
      return tracked(answer, new CompletableFuture<>());
    }

    /** Completes {@code result} as {@code answer}, or with CANCELLED if the connection closes. */
    private <T> CompletableFuture<T> tracked(
        CompletableFuture<T> answer, CompletableFuture<T> result) {
      if (closed) {
        result.completeExceptionally(cancelled());
        return result;
      }
      running.add(result);
      answer.whenComplete(
          (value, error) -> {
            running.remove(result);
            if (error != null) {
              result.completeExceptionally(error);
            } else {
              result.complete(value);
            }
          });
      if (closed) {
        result.completeExceptionally(cancelled());
      }
      return result;
    }

    private TransportException cancelled() {
      return new TransportException(
          TransportException.Kind.CANCELLED, "the connection to " + endpoint + " was closed");
    }

    @Override
    public CompletableFuture<Reply> reset(Duration timeout) {
      return CompletableFuture.completedFuture(
          Reply.of(org.modelrunner.spi.StatusCode.SUCCESS, "Instance successfully reset"));
    }

    @Override
    public CompletableFuture<HealthStatus> checkHealth(Duration timeout) {
      FakeModel model;
      try {
        model = model();
      } catch (TransportException e) {
        return CompletableFuture.failedFuture(e);
      }
      model.healthChecks.incrementAndGet();
      return model.health.apply(timeout);
    }

    @Override
    public void close() {
      if (!closed) {
        FakeModel model = MODELS.get(endpoint.getAuthority());
        if (model != null) {
          model.closes.incrementAndGet();
        }
      }
      closed = true;
      for (CompletableFuture<?> request : running) {
        request.completeExceptionally(cancelled());
      }
    }
  }
}
