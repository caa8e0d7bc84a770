package org.modelrunner.transport.grpc;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The channels of one endpoint, shared by every connection a transport makes to it: the main
 * channel (setup, call, reset) and, made on the first health check, a separate health channel, so
 * that a health check never waits behind a model call on the same HTTP/2 connection (the existing
 * client does the same).
 *
 * <p>It also remembers why the main channel last failed to connect (until it connects again), so
 * that a request whose deadline passes while it waits for a connection reports that error instead
 * of a bare timeout. gRPC does not expose a channel's connection error; when the channel enters
 * {@code TRANSIENT_FAILURE} this sends one fail-fast probe (a health check, harmless even if it
 * were to reach a runner), which fails at once with the error the channel holds.
 *
 * <p>gRPC's own reconnect backoff (1 s growing to 2 min) cannot be configured; the Python client
 * reconnects after 100 ms growing to 1 s. While the main channel is in {@code TRANSIENT_FAILURE}
 * this cuts gRPC's backoff short on the transport's schedule ({@link
 * org.modelrunner.spi.TransportSettings#initialReconnectBackoff()}, doubled up to the maximum), and
 * starts again from the initial delay once the channel is ready.
 */
final class EndpointChannels {
  /** Makes an endpoint's call channel or its health channel. */
  interface ChannelFactory {
    ManagedChannel open(GrpcAddress address, boolean health);
  }

  /**
   * The probe's deadline: a probe fails at once in TRANSIENT_FAILURE; the bound is for other
   * states.
   */
  private static final long PROBE_TIMEOUT_SECONDS = 10;

  final GrpcAddress address;
  final ManagedChannel main;
  private final ChannelFactory factory;
  private final Function<GrpcAddress, CompletableFuture<Boolean>> tlsDetector;

  /** Whether the endpoint speaks TLS, asked once per run of failed connections; null until then. */
  private volatile CompletableFuture<Boolean> speaksTls;

  private volatile ManagedChannel health;
  private volatile Status connectionError;
  private boolean shutDown; // guarded by this
  private final ScheduledExecutorService scheduler;
  private final long initialBackoffNanos;
  private final long maxBackoffNanos;

  /** Whether reconnects are scheduled on this transport's backoff (while in TRANSIENT_FAILURE). */
  private volatile boolean reconnecting;

  EndpointChannels(
      GrpcAddress address,
      ChannelFactory factory,
      ScheduledExecutorService scheduler,
      Duration initialBackoff,
      Duration maxBackoff,
      Function<GrpcAddress, CompletableFuture<Boolean>> tlsDetector) {
    this.address = address;
    this.factory = factory;
    this.tlsDetector = tlsDetector;
    this.scheduler = scheduler;
    this.initialBackoffNanos = initialBackoff.toNanos();
    this.maxBackoffNanos = maxBackoff.toNanos();
    this.main = factory.open(address, false);
    watch(ConnectivityState.IDLE);
  }

  /** Returns the health channel, making it on first use. */
  ManagedChannel health() {
    ManagedChannel channel = health;
    if (channel == null) {
      synchronized (this) {
        channel = health;
        if (channel == null) {
          channel = factory.open(address, true);
          if (shutDown) {
            channel.shutdownNow();
          }
          health = channel;
        }
      }
    }
    return channel;
  }

  /**
   * Starts connecting the main channel if it is idle; if its last attempt failed, tries again at
   * once rather than after gRPC's reconnect backoff (which grows to two minutes), so that a request
   * to a runner that has just come back is not held up by attempts made while it was down.
   */
  void requestConnection() {
    if (main.getState(true) == ConnectivityState.TRANSIENT_FAILURE) {
      main.resetConnectBackoff();
    }
  }

  /**
   * Returns the error of the main channel's last failed connection attempt, or null if it connected
   * since.
   */
  Status connectionError() {
    return connectionError;
  }

  /**
   * For plaintext channels: whether the endpoint, which a request could not reach, speaks TLS (a
   * runner in secure mode, or behind a TLS gateway). Asked once until a channel connects again;
   * null when this endpoint's channels are not plaintext.
   */
  CompletableFuture<Boolean> speaksTls() {
    if (tlsDetector == null) {
      return null;
    }
    CompletableFuture<Boolean> known = speaksTls;
    if (known == null) {
      synchronized (this) {
        known = speaksTls;
        if (known == null) {
          known = tlsDetector.apply(address);
          speaksTls = known;
        }
      }
    }
    return known;
  }

  private void watch(ConnectivityState seen) {
    main.notifyWhenStateChanged(seen, this::stateChanged);
  }

  private void stateChanged() {
    ConnectivityState state = main.getState(false);
    switch (state) {
      case READY -> {
        connectionError = null;
        speaksTls = null;
      }
      case TRANSIENT_FAILURE -> {
        probe();
        reconnectAfterBackoff();
      }
      case SHUTDOWN -> {
        return;
      }
      default -> {}
    }
    watch(state);
  }

  /**
   * While the main channel stays in {@code TRANSIENT_FAILURE} (gRPC keeps reporting it across its
   * own attempts until one succeeds), cuts gRPC's backoff short on this transport's schedule, one
   * attempt at a time.
   */
  private void reconnectAfterBackoff() {
    if (reconnecting) {
      return;
    }
    reconnecting = true;
    scheduleReconnect(0);
  }

  private void scheduleReconnect(int failed) {
    int shift = Math.min(failed, 20);
    long delay =
        initialBackoffNanos > (maxBackoffNanos >> shift)
            ? maxBackoffNanos
            : initialBackoffNanos << shift;
    try {
      scheduler.schedule(
          () -> {
            if (main.getState(false) == ConnectivityState.TRANSIENT_FAILURE) {
              main.resetConnectBackoff();
              scheduleReconnect(failed + 1);
            } else {
              reconnecting = false;
            }
          },
          Math.min(delay, maxBackoffNanos),
          TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException closing) {
      reconnecting = false; // the transport is closing
    }
  }

  private void probe() {
    ClientCall<HealthCheckRequest, HealthCheckResponse> call =
        main.newCall(
            HealthGrpc.getCheckMethod(),
            CallOptions.DEFAULT.withDeadlineAfter(PROBE_TIMEOUT_SECONDS, TimeUnit.SECONDS));
    call.start(
        new ClientCall.Listener<>() {
          @Override
          public void onClose(Status status, Metadata trailers) {
            if (status.getCode() == Status.Code.UNAVAILABLE && !main.isShutdown()) {
              connectionError = status;
            }
          }
        },
        new Metadata());
    call.request(1);
    call.sendMessage(HealthCheckRequest.getDefaultInstance());
    call.halfClose();
  }

  /** Shuts both channels down gracefully: requests running finish, new ones are refused. */
  void shutdown() {
    ManagedChannel healthChannel;
    synchronized (this) {
      shutDown = true;
      healthChannel = health;
    }
    main.shutdown();
    if (healthChannel != null) {
      healthChannel.shutdown();
    }
  }

  /** Shuts both channels down now: requests running fail. */
  void shutdownNow() {
    ManagedChannel healthChannel;
    synchronized (this) {
      shutDown = true;
      healthChannel = health;
    }
    main.shutdownNow();
    if (healthChannel != null) {
      healthChannel.shutdownNow();
    }
  }

  /** Returns whether both channels are shut down. */
  boolean isShutdown() {
    ManagedChannel healthChannel = health;
    return main.isShutdown() && (healthChannel == null || healthChannel.isShutdown());
  }

  /** Returns whether both channels are terminated (shut down, with nothing left running). */
  boolean isTerminated() {
    ManagedChannel healthChannel = health;
    return main.isTerminated() && (healthChannel == null || healthChannel.isTerminated());
  }

  /** Waits until both channels are terminated, at most until {@code deadlineNanos} (a nanoTime). */
  boolean awaitTermination(long deadlineNanos) throws InterruptedException {
    ManagedChannel healthChannel = health;
    return main.awaitTermination(deadlineNanos - System.nanoTime(), TimeUnit.NANOSECONDS)
        && (healthChannel == null
            || healthChannel.awaitTermination(
                deadlineNanos - System.nanoTime(), TimeUnit.NANOSECONDS));
  }

  @Override
  public String toString() {
    return "EndpointChannels{" + address + ", main " + main.getState(false) + "}";
  }
}
