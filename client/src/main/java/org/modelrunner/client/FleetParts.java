package org.modelrunner.client;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.modelrunner.spi.ModelDirectory;
import org.modelrunner.spi.ProviderRegistry;
import org.modelrunner.spi.TransportProvider;
import org.modelrunner.spi.ValueConverter;

/**
 * The parts of one fleet, wired from its builder's settings, and their shutdown in order: the
 * fleet's two threads (timers and membership; callbacks unless the builder gave an executor), the
 * transports, {@link Membership}, the {@link FanOutEngine} with its {@link FailurePolicy}. The
 * façade, {@link ModelFleet}, only maps its public API onto them.
 */
final class FleetParts {
  private static final System.Logger LOG = System.getLogger(FleetParts.class.getName());
  private static final AtomicInteger FLEETS = new AtomicInteger();

  final ModelDirectory directory;
  final ValueConverter converter;
  final List<FleetListener> listeners = new CopyOnWriteArrayList<>();
  final Membership membership;
  final FanOutEngine engine;
  private final TransportRegistry transports;
  private final ScheduledThreadPoolExecutor fleetThread;
  private final ExecutorService ownedCallbackThread;

  FleetParts(FleetOptions settings) {
    this.directory = settings.directory;
    this.converter = settings.converter != null ? settings.converter : ValueConverter.create();
    this.transports =
        new TransportRegistry(
            ProviderRegistry.load(TransportProvider.class),
            settings.transportProviders,
            settings.transportSettings);
    int id = FLEETS.incrementAndGet();
    this.fleetThread =
        new ScheduledThreadPoolExecutor(
            1, Concurrency.daemonThreads("modelrunner-fleet-" + id, false));
    this.fleetThread.setRemoveOnCancelPolicy(true);
    SerialExecutor callbacks;
    if (settings.executor != null) {
      this.ownedCallbackThread = null;
      callbacks = new SerialExecutor(settings.executor);
    } else {
      this.ownedCallbackThread =
          Executors.newSingleThreadExecutor(
              Concurrency.daemonThreads("modelrunner-fleet-" + id + "-callbacks", false));
      callbacks = new SerialExecutor(ownedCallbackThread);
    }
    this.listeners.addAll(settings.listeners);
    Outcomes outcomes = new Outcomes(converter);
    Ejection ejection =
        new Ejection(
            settings.readmission != null
                ? settings.readmission
                : !settings.directory.actsOnReports(),
            settings.ejectionBase,
            settings.ejectionMultiplier,
            settings.ejectionMax);
    this.membership =
        new Membership(
            directory,
            settings.baseClass,
            settings.setupArguments,
            settings.callTimeout,
            settings.setupTimeout,
            settings.connectTimeout,
            settings.setupAttempts,
            settings.setupBackoff,
            settings.reportFailures,
            settings.healthCheckTimeout,
            ejection,
            transports,
            fleetThread,
            callbacks,
            listeners,
            outcomes,
            settings.scheduler);
    int healthCheckEvery =
        settings.healthCheckEvery >= 0
            ? settings.healthCheckEvery
            : Math.max(1, (int) (0.2 * settings.maxConsecutiveTimeouts));
    this.engine =
        new FanOutEngine(
            membership,
            outcomes,
            converter,
            settings.callTimeout,
            settings.fanOutStrategy,
            new FailurePolicy(
                settings.maxConsecutiveFailures,
                settings.maxConsecutiveTimeouts,
                settings.timeoutCooldown,
                healthCheckEvery,
                ejection.readmission(),
                settings.stallGuard
                    ? new FailurePolicy.Stall(
                        settings.stallFraction,
                        settings.stallMinModels,
                        Concurrency.nanos(settings.stallLateBy))
                    : null),
            settings.reportFailures,
            fleetThread,
            callbacks,
            settings.ticker,
            listeners);
  }

  /**
   * Stops everything, in order: membership (no new work), the directory, the fan-outs in flight
   * (their models without an outcome fail {@code FLEET_CLOSED}), the fleet's thread, the members'
   * connections, the transports, and the callback thread once it has delivered what is queued.
   * Idempotent.
   */
  void close() {
    if (membership.isClosed()) {
      return;
    }
    membership.close();
    try {
      directory.close();
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "Closing the directory failed: " + e, e);
    }
    engine.abortAll(Outcomes.CLOSED);
    fleetThread.shutdownNow();
    try {
      fleetThread.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    membership.retireAll();
    transports.close();
    if (ownedCallbackThread != null) {
      ownedCallbackThread.shutdown();
    }
  }
}
