package org.modelrunner.client;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelDirectory;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.ModelState;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.StatusCode;
import org.modelrunner.spi.TransportException;

/**
 * The fleet's membership: the directory's reports applied to members on the fleet's thread
 * (snapshots, joins, leaves, replace-when-ready, redeploys, restarts, recovering), connecting and
 * setting up, the failure policy's disconnections and health checks, events, and what coordinators
 * see of the models. Never calls back into the fleet.
 */
final class Membership {
  private static final System.Logger LOG = System.getLogger(Concurrency.FLEET_LOGGER);

  private final ModelDirectory directory;
  private final String baseClass;
  private final Arguments setupArguments;
  private final Duration callTimeout;
  private final Duration setupTimeout;
  private final Duration connectTimeout;
  private final int setupAttempts;
  private final Duration setupBackoff;
  private final boolean reportFailures;
  private final Duration healthCheckTimeout;
  private final Ejection ejection;

  /** The code of a model that was connected and cannot be reached again. */
  private static final String UNREACHABLE = FailureCode.CONNECTION_FAILED.name();

  private final TransportRegistry transports;
  private final ScheduledThreadPoolExecutor fleetThread;
  private final SerialExecutor callbacks;
  private final List<FleetListener> listeners;
  private final FleetMember.Answers answers;

  /** Delayed membership work: the builder's scheduler, or null for the fleet's own thread. */
  private final Scheduler scheduler;

  /**
   * The current member of each model id: connected, connecting, recovering or disconnected. Sorted
   * by id, so that the connected array is rebuilt in one pass, without sorting.
   */
  private final Map<String, FleetMember> known = new java.util.concurrent.ConcurrentSkipListMap<>();

  /** New deployments being set up while the old one keeps serving; fleet thread only. */
  private final Map<String, FleetMember> replacing = new HashMap<>();

  /** What fan-outs target, recomputed on the fleet thread when membership changes. */
  private volatile View view = View.EMPTY;

  private final Object readiness = new Object();

  /**
   * The members of the directory's first snapshot, less those seen connected or failed (a member
   * never becomes pending again once it is not); fleet thread only.
   */
  private ArrayDeque<FleetMember> initialPending;

  private volatile boolean settled;

  /** Whether a rebuild of {@link #view} is queued; fleet thread only. */
  private boolean rebuildPending;

  /** Events and replaced members that wait for that rebuild; fleet thread only. */
  private final List<FleetEvent> eventsAwaitingRebuild = new ArrayList<>();

  private final List<FleetMember> replacedAwaitingRebuild = new ArrayList<>();

  /**
   * Replaced members whose connections close once their calls are done (awaiting the rebuild, or
   * their call timeout after it); closed with the fleet if it closes first. Fleet thread, then the
   * closing thread once the fleet thread stopped.
   */
  private final Set<FleetMember> retiring = new HashSet<>();

  private volatile boolean closed;

  /**
   * What a fan-out targets: the connected members, and the members between deployments or
   * restarting (each gets a SKIPPED outcome); one immutable pair, so that a fan-out sees a model in
   * one or the other.
   */
  record View(FleetMember[] connected, FleetMember[] sittingOut) {
    static final View EMPTY = new View(new FleetMember[0], new FleetMember[0]);
  }

  Membership(
      ModelDirectory directory,
      String baseClass,
      Arguments setupArguments,
      Duration callTimeout,
      Duration setupTimeout,
      Duration connectTimeout,
      int setupAttempts,
      Duration setupBackoff,
      boolean reportFailures,
      Duration healthCheckTimeout,
      Ejection ejection,
      TransportRegistry transports,
      ScheduledThreadPoolExecutor fleetThread,
      SerialExecutor callbacks,
      List<FleetListener> listeners,
      FleetMember.Answers answers,
      Scheduler scheduler) {
    this.directory = directory;
    this.baseClass = baseClass;
    this.setupArguments = setupArguments;
    this.callTimeout = callTimeout;
    this.setupTimeout = setupTimeout;
    this.connectTimeout = connectTimeout;
    this.setupAttempts = setupAttempts;
    this.setupBackoff = setupBackoff;
    this.reportFailures = reportFailures;
    this.healthCheckTimeout = healthCheckTimeout;
    this.ejection = ejection;
    this.transports = transports;
    this.fleetThread = fleetThread;
    this.callbacks = callbacks;
    this.listeners = listeners;
    this.answers = answers;
    this.scheduler = scheduler;
  }

  /** Returns what fan-outs target now. */
  View view() {
    return view;
  }

  /** Returns the current member of a model, or null. */
  FleetMember known(String modelId) {
    return known.get(modelId);
  }

  boolean isClosed() {
    return closed;
  }

  /**
   * Starts following the directory. A directory that reports its first snapshot at once, on this
   * thread (a static list does), has its endpoints checked here: an endpoint no transport serves
   * fails the build, with the artifact to add. Endpoints reported later without a transport fail to
   * connect instead.
   */
  void start() {
    Thread starting = Thread.currentThread();
    boolean[] startingUp = {true};
    directory.start(
        new ModelDirectory.Listener() {
          @Override
          public void snapshot(List<ModelEndpoint> running) {
            snapshot(running, List.of());
          }

          @Override
          public void snapshot(List<ModelEndpoint> running, List<ModelEndpoint> recovering) {
            if (startingUp[0] && Thread.currentThread() == starting) {
              running.forEach(endpoint -> transports.check(endpoint.address()));
            }
            List<ModelEndpoint> runningCopy = List.copyOf(running);
            List<ModelEndpoint> recoveringCopy = List.copyOf(recovering);
            onFleetThread(() -> applySnapshot(runningCopy, recoveringCopy));
          }

          @Override
          public void update(ModelEndpoint endpoint, ModelState state) {
            onFleetThread(() -> applyUpdate(endpoint, state));
          }
        });
    startingUp[0] = false;
  }

  /**
   * Asks the runner's health service, out of band with its own deadline (never inside a fan-out's);
   * a runner that does not answer {@code SERVING} is reconnected. One check at a time per model.
   */
  void checkHealth(FleetMember member, String why) {
    ModelConnection connection = member.connection;
    if (connection == null
        || member.retired
        || member.state != ModelStatus.State.CONNECTED
        || !member.healthChecking.compareAndSet(false, true)) {
      return;
    }
    CompletableFuture<HealthStatus> health;
    try {
      health = connection.checkHealth(healthCheckTimeout);
    } catch (RuntimeException e) {
      health = CompletableFuture.failedFuture(e);
    }
    health.whenComplete(
        (status, error) -> {
          member.healthChecking.set(false);
          if (error == null && status == HealthStatus.SERVING) {
            return;
          }
          String answer =
              error != null ? Concurrency.cause(error).toString() : String.valueOf(status);
          onFleetThread(
              () -> reconnect(member, "health check after " + why + ": " + answer, false));
        });
  }

  void disconnect(FleetMember member, String code, String reason) {
    // At once, so that no fan-out started after this outcome was seen targets the model.
    if (!member.markDisconnected(code + ": " + reason)) {
      return;
    }
    onFleetThread(
        () -> {
          LOG.log(
              System.Logger.Level.WARNING, "Disconnecting {0}: {1} ({2})", member, code, reason);
          member.closeConnection();
          membershipChanged();
          reportToDirectory(member.endpoint, code, reason);
          emit(new FleetEvent(FleetEvent.Kind.DISCONNECTED, member.endpoint, code, reason));
        });
  }

  /**
   * Ejects a model the failure policy took out for its failures or timeouts: as {@link
   * #disconnect}, at once and reported, but only for its ejection time; then its health is checked
   * and it is set up again ({@link FleetEvent#READMITTED}).
   */
  void eject(FleetMember member, String code, String reason) {
    // At once, so that no fan-out started after this outcome was seen targets the model.
    Duration time = member.markEjected(code + ": " + reason, ejection);
    if (time == null) {
      return;
    }
    onFleetThread(
        () -> {
          member.closeConnection();
          membershipChanged();
          reportToDirectory(member.endpoint, code, reason);
          ejected(member, code, reason, time);
        });
  }

  /** Says that a member is ejected and schedules its re-admission. Fleet thread. */
  private void ejected(FleetMember member, String code, String reason, Duration time) {
    ejected(member, code, reason, time, FleetEvent.Kind.DISCONNECTED);
  }

  /** As {@link #ejected(FleetMember, String, String, Duration)}, with the event's kind. */
  private void ejected(
      FleetMember member, String code, String reason, Duration time, FleetEvent.Kind kind) {
    member.ejectionCode = code;
    String until =
        "ejected for "
            + Concurrency.millis(Concurrency.nanos(time))
            + " (ejection "
            + member.ejections()
            + "), then re-admitted if healthy";
    LOG.log(
        System.Logger.Level.WARNING, "Ejecting {0}: {1} ({2}); {3}", member, code, reason, until);
    later(() -> readmit(member), Concurrency.nanos(time));
    emit(new FleetEvent(kind, member.endpoint, code, reason + "; " + until));
  }

  /**
   * An ejected model's time is over: a new member checks its health and sets it up; it is taken
   * back ({@link FleetEvent.Kind#RESTARTED}, {@link FleetEvent#READMITTED}) or ejected again for
   * longer. Nothing happens if the model was disconnected for good, left or was replaced meanwhile.
   */
  private void readmit(FleetMember ejected) {
    String id = ejected.endpoint.modelId();
    if (ejected.retired || known.get(id) != ejected || !ejected.isEjected()) {
      return;
    }
    FleetMember again = new FleetMember(answers, ejected.endpoint, FleetEvent.Kind.RESTARTED);
    again.readmitting = true;
    again.ejectionCode = ejected.ejectionCode;
    again.ejections(ejected.ejections());
    again.readyReason =
        "re-admitted after ejection " + ejected.ejections() + " (" + ejected.ejectionCode + ")";
    again.reconnecting = UNREACHABLE.equals(ejected.ejectionCode);
    replaceAtOnce(ejected, again);
    LOG.log(System.Logger.Level.INFO, "{0}: the ejection is over; checking its health", again);
    connect(again, 1); // its health check must answer SERVING
  }

  /**
   * A re-admission's check or setup failed: the model is ejected again, for longer, without a new
   * report. Fleet thread.
   */
  private void readmissionFailed(FleetMember member, String why) {
    member.closeConnection();
    String reason = "re-admission check failed: " + why;
    Duration time =
        member.markEjected(
            member.ejectionCode + ": " + reason, ejection, UNREACHABLE.equals(member.ejectionCode));
    if (time == null) {
      return;
    }
    membershipChanged();
    ejected(member, member.ejectionCode, reason, time);
  }

  /**
   * A model that serves a maximum ejection time without being ejected again has one ejection fewer
   * (the next is shorter), until none is left.
   */
  private void decayEjections(FleetMember member) {
    if (member.ejections() > 0) {
      later(
          () -> {
            String id = member.endpoint.modelId();
            if (!member.retired
                && known.get(id) == member
                && member.state == ModelStatus.State.CONNECTED
                && member.decayEjections() > 0) {
              decayEjections(member);
            }
          },
          Concurrency.nanos(ejection.max()));
    }
  }

  void reportToDirectory(ModelEndpoint endpoint, String code, String reason) {
    reportToDirectory(endpoint, code, reason, false);
  }

  private void reportToDirectory(
      ModelEndpoint endpoint, String code, String reason, boolean byCoordinator) {
    try {
      directory.reportFailure(endpoint, code, reason);
    } catch (RuntimeException e) {
      LOG.log(
          System.Logger.Level.WARNING, "The directory failed to take a failure report: " + e, e);
      return;
    }
    if (listeners.isEmpty()) {
      return;
    }
    FleetReport report = new FleetReport(endpoint, code, reason, byCoordinator);
    callbacks.execute(
        () -> {
          for (FleetListener listener : listeners) {
            try {
              listener.onReport(report);
            } catch (RuntimeException e) {
              LOG.log(
                  System.Logger.Level.WARNING,
                  "A fleet listener failed on " + report + ": " + e,
                  e);
            }
          }
        });
  }

  // ---------------------------------------------------------------------------------------------
  // Membership (fleet thread only)

  void onFleetThread(Runnable task) {
    try {
      fleetThread.execute(
          () -> {
            if (closed) {
              return;
            }
            try {
              task.run();
              checkSettled();
            } catch (RuntimeException | Error e) {
              LOG.log(System.Logger.Level.ERROR, "Applying a membership change failed: " + e, e);
            }
          });
    } catch (java.util.concurrent.RejectedExecutionException closing) {
      // The fleet is closing: nothing more to apply.
    }
  }

  /**
   * Returns a future that completes once the fleet has caught up with the work it was handed before
   * this call: every task already queued on the fleet's thread has run (with the rebuild of the
   * connected array they queued, which the events wait for), and every event they emitted has been
   * delivered to the listeners, on the callbacks executor. A test that finds no event after it
   * knows that none of that work emitted one, without waiting for time to pass. Work that has not
   * reached the fleet's thread yet (a transport's answer still on its way, delayed work not yet
   * due) is not covered. For tests; the future never completes if the fleet closes first.
   */
  CompletableFuture<Void> quiesce() {
    CompletableFuture<Void> caughtUp = new CompletableFuture<>();
    passThroughFleetThread(caughtUp);
    return caughtUp;
  }

  private void passThroughFleetThread(CompletableFuture<Void> caughtUp) {
    try {
      fleetThread.execute(
          () -> {
            if (rebuildPending) {
              passThroughFleetThread(caughtUp); // behind the rebuild, and the events it releases
            } else {
              callbacks.execute(() -> caughtUp.complete(null));
            }
          });
    } catch (java.util.concurrent.RejectedExecutionException closing) {
      caughtUp.completeExceptionally(new IllegalStateException("The fleet is closed", closing));
    }
  }

  private static String key(ModelEndpoint endpoint) {
    return endpoint.modelId() + '\u0000' + endpoint.deploymentId();
  }

  private void applySnapshot(List<ModelEndpoint> running, List<ModelEndpoint> recovering) {
    Set<String> listed = new HashSet<>();
    running.forEach(endpoint -> listed.add(key(endpoint)));
    recovering.forEach(endpoint -> listed.add(key(endpoint)));
    // What is listed first, so that a model whose old deployment is gone and whose new one is
    // listed is a
    // redeploy, not a leave and a join.
    for (ModelEndpoint endpoint : running) {
      applyUpdate(endpoint, ModelState.RUNNING);
    }
    for (ModelEndpoint endpoint : recovering) {
      applyUpdate(endpoint, ModelState.RECOVERING);
    }
    for (FleetMember member : List.copyOf(replacing.values())) {
      if (!listed.contains(key(member.endpoint))) {
        retire(replacing.remove(member.endpoint.modelId()));
      }
    }
    for (FleetMember member : List.copyOf(known.values())) {
      if (!listed.contains(key(member.endpoint))) {
        stopped(member, "not in the directory's snapshot");
      }
    }
    if (initialPending == null && !settled) {
      initialPending = new ArrayDeque<>(known.size() + replacing.size());
      initialPending.addAll(known.values());
      initialPending.addAll(replacing.values());
    }
  }

  private void applyUpdate(ModelEndpoint endpoint, ModelState state) {
    String id = endpoint.modelId();
    FleetMember current = known.get(id);
    FleetMember pending = replacing.get(id);
    switch (state) {
      case RUNNING -> running(endpoint, current, pending);
      case RECOVERING -> {
        if (pending != null && sameDeployment(pending, endpoint)) {
          retire(replacing.remove(id));
        }
        if (current != null
            && sameDeployment(current, endpoint)
            && current.state != ModelStatus.State.RECOVERING) {
          recovering(current);
        }
      }
      case STOPPED -> {
        if (pending != null && sameDeployment(pending, endpoint)) {
          retire(replacing.remove(id));
        }
        if (current != null && sameDeployment(current, endpoint)) {
          stopped(current, "the directory reports it STOPPED");
        }
      }
    }
  }

  private void running(ModelEndpoint endpoint, FleetMember current, FleetMember pending) {
    String id = endpoint.modelId();
    if (current != null && sameDeployment(current, endpoint)) {
      boolean moved = !current.endpoint.address().equals(endpoint.address());
      if (!moved && current.state != ModelStatus.State.RECOVERING) {
        if (!current.endpoint.infos().equals(endpoint.infos())) {
          current.endpoint = endpoint;
          emit(new FleetEvent(FleetEvent.Kind.INFOS_UPDATED, endpoint, "", ""));
        }
        return; // a duplicate; or a model disconnected here, which stays out until the directory
        // changes it
      }
      // The same deployment, restarted (RECOVERING then RUNNING) or moved: set it up again.
      if (pending != null) {
        retire(replacing.remove(id));
      }
      FleetMember restarted = new FleetMember(answers, endpoint, FleetEvent.Kind.RESTARTED);
      restarted.readyReason =
          moved
              ? "moved from " + current.endpoint.address() + " to " + endpoint.address()
              : "restarted";
      replaceAtOnce(current, restarted);
      connect(restarted, 1);
      return;
    }
    if (pending != null && sameDeployment(pending, endpoint)) {
      if (pending.endpoint.address().equals(endpoint.address())) {
        pending.endpoint = endpoint; // already being set up; keep the newest infos
        return;
      }
      retire(replacing.remove(id)); // moved while being set up: start again
    }
    if (current == null) {
      FleetMember joining = new FleetMember(answers, endpoint, FleetEvent.Kind.CONNECTED);
      known.put(id, joining);
      connect(joining, 1);
      return;
    }
    FleetMember next = new FleetMember(answers, endpoint, FleetEvent.Kind.REPLACED);
    next.readyReason = "replaces deployment " + current.endpoint.deploymentId();
    if (current.state == ModelStatus.State.CONNECTED) {
      replacing.put(id, next); // the current deployment serves until the new one is set up
    } else {
      replaceAtOnce(current, next);
    }
    connect(next, 1);
  }

  /** Puts {@code next} in the place of {@code current} now (current cannot serve anyway). */
  private void replaceAtOnce(FleetMember current, FleetMember next) {
    known.put(next.endpoint.modelId(), next);
    retire(current);
    membershipChanged(); // connected, or sitting out while being set up again
  }

  private void recovering(FleetMember current) {
    FleetMember waiting = new FleetMember(answers, current.endpoint, FleetEvent.Kind.RESTARTED);
    waiting.state = ModelStatus.State.RECOVERING;
    waiting.retired = true; // never connects: a RUNNING update starts a new member
    replaceAtOnce(current, waiting);
    emit(
        new FleetEvent(
            FleetEvent.Kind.RECOVERING,
            current.endpoint,
            "",
            "the directory reports it RECOVERING"));
  }

  /**
   * Sets a connected member up again on a new connection; it sits out until then.
   *
   * @param runnerAnswers the runner still answers (it lost its instance): calls already sent or
   *     queued on the old connection get its answers, rather than a {@code CANCELLED} of the
   *     fleet's making, and the old connection closes once idle, a call timeout after fan-outs stop
   *     picking it. Otherwise (its health check failed) the old connection closes at once.
   */
  void reconnect(FleetMember member, String why, boolean runnerAnswers) {
    String id = member.endpoint.modelId();
    if (member.retired || known.get(id) != member || member.state != ModelStatus.State.CONNECTED) {
      return;
    }
    LOG.log(System.Logger.Level.WARNING, "Reconnecting {0}: {1}", member, why);
    FleetMember again = new FleetMember(answers, member.endpoint, FleetEvent.Kind.RESTARTED);
    again.ejections(member.ejections()); // the fleet's own restart: the deployment's ejections stay
    again.readyReason = "reconnected after " + why;
    again.reconnecting = true;
    again.lastError(why);
    if (runnerAnswers) {
      known.put(id, again);
      retireAfterItsCalls(member);
      membershipChanged(); // sitting out while it is set up again
    } else {
      replaceAtOnce(member, again);
    }
    connect(again, 1);
  }

  private static boolean sameDeployment(FleetMember member, ModelEndpoint endpoint) {
    return member.endpoint.deploymentId().equals(endpoint.deploymentId());
  }

  /**
   * The held deployment is gone. If a newer deployment of the model is being set up, it is a
   * redeploy (the Model Orchestrator stops the old process at once): the new deployment takes the
   * place, the model is {@code REDEPLOYING} until it is ready ({@code REPLACED}), and nothing says
   * it left. Otherwise the model leaves.
   */
  private void stopped(FleetMember member, String reason) {
    String id = member.endpoint.modelId();
    FleetMember pending = replacing.remove(id);
    if (pending == null) {
      leave(member, reason);
      return;
    }
    LOG.log(
        System.Logger.Level.INFO,
        "{0}: deployment {1} stopped ({2}); {3} is being set up in its place",
        id,
        member.endpoint.deploymentId(),
        reason,
        pending.endpoint.deploymentId());
    known.put(id, pending);
    retire(member);
    pending.state = ModelStatus.State.REDEPLOYING;
    membershipChanged();
  }

  private void leave(FleetMember member, String reason) {
    String id = member.endpoint.modelId();
    known.remove(id, member);
    retire(member);
    membershipChanged();
    emit(new FleetEvent(FleetEvent.Kind.LEFT, member.endpoint, "", reason));
  }

  /**
   * Retires a deployment that a new one replaced while it still serves: calls already sent or
   * queued to it (by fan-outs that started before the swap) get its answers. It takes no new calls,
   * and its connection closes once it is idle, a call timeout after the swap at the earliest.
   */
  private void retireAfterItsCalls(FleetMember member) {
    member.retired = true; // no more policy decisions or health checks for it
    replacedAwaitingRebuild.add(member); // its call timeout starts once fan-outs no longer pick it
    retiring.add(member);
  }

  private void scheduleRetirement(FleetMember member) {
    if (later(
            () -> {
              retiring.remove(member);
              member.state = ModelStatus.State.DISCONNECTED;
              member.closeWhenIdle();
            },
            callTimeout.toNanos())
        == null) {
      member.closeConnection(); // the fleet is closing
    }
  }

  /**
   * Runs membership work on the fleet's thread after a delay, on the builder's scheduler if it was
   * given one.
   *
   * @return the future that cancels the work, or null if the fleet is closing
   */
  private Future<?> later(Runnable task, long delayNanos) {
    try {
      if (scheduler != null) {
        return scheduler.schedule(() -> onFleetThread(task), Duration.ofNanos(delayNanos));
      }
      return fleetThread.schedule(() -> onFleetThread(task), delayNanos, TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.RejectedExecutionException closing) {
      return null;
    }
  }

  private void retire(FleetMember member) {
    if (member == null) {
      return;
    }
    member.retired = true;
    if (member.state != ModelStatus.State.RECOVERING) {
      member.state = ModelStatus.State.DISCONNECTED;
    }
    member.closeConnection();
  }

  /**
   * Opens the member's connection if it has none.
   *
   * @return false if it cannot be opened (the member failed to connect)
   */
  private boolean open(FleetMember member) {
    if (member.connection != null) {
      return true;
    }
    try {
      ModelTransport transport = transports.transportFor(member.endpoint.address());
      ModelConnection connection = transport.connect(member.endpoint);
      member.transport = transport;
      member.connection = connection;
      return true;
    } catch (RuntimeException e) {
      connectionFailed(member, e.getMessage());
      return false;
    }
  }

  /**
   * One connection attempt, in two phases with their own deadlines: is the runner reachable (a
   * health check, within the connect timeout: a refused connection fails at once), then the setup
   * (within the setup timeout). A runner that is not reachable fails the attempt without a setup;
   * the attempt is retried after the backoff, as a setup that fails.
   */
  private void connect(FleetMember member, int attempt) {
    if (member.retired || !open(member)) {
      return;
    }
    CompletableFuture<HealthStatus> health;
    try {
      health = member.connection.checkHealth(connectTimeout);
    } catch (RuntimeException e) {
      health = CompletableFuture.failedFuture(e);
    }
    // Bounded here too, whatever the transport does with the deadline.
    AtomicBoolean answered = new AtomicBoolean();
    Future<?> deadline =
        later(
            () -> {
              if (answered.compareAndSet(false, true)) {
                reached(member, attempt, null, null);
              }
            },
            Concurrency.nanos(connectTimeout));
    health.whenComplete(
        (status, error) -> {
          if (answered.compareAndSet(false, true)) {
            if (deadline != null) {
              deadline.cancel(false);
            }
            onFleetThread(() -> reached(member, attempt, status, error));
          }
        });
  }

  /**
   * The first phase of a connection attempt ended: the health check answered ({@code status}),
   * failed ({@code error}), or neither within the connect timeout (both null). Only a runner that
   * cannot be reached (refused, unreachable, no answer in time) fails the attempt; any other answer
   * goes on to the setup (a runner without the health service included). A model being re-admitted
   * must answer {@code SERVING}. Fleet thread.
   */
  private void reached(FleetMember member, int attempt, HealthStatus status, Throwable error) {
    if (member.retired) {
      return;
    }
    Throwable cause = error == null ? null : Concurrency.cause(error);
    boolean unreachable =
        (status == null && error == null)
            || (cause instanceof TransportException transport
                && (transport.kind() == TransportException.Kind.UNAVAILABLE
                    || transport.kind() == TransportException.Kind.DEADLINE_EXCEEDED
                    || transport.kind() == TransportException.Kind.CANCELLED));
    String answer =
        cause != null
            ? cause.toString()
            : status != null
                ? String.valueOf(status)
                : "no answer within " + Concurrency.millis(Concurrency.nanos(connectTimeout));
    if (isAuthentication(cause)) {
      authenticationFailed(member, (TransportException) cause);
      return;
    }
    if (member.readmitting && status != HealthStatus.SERVING) {
      readmissionFailed(member, "health check: " + answer);
      return;
    }
    if (unreachable) {
      boolean slow =
          (status == null && error == null)
              || (cause instanceof TransportException transport
                  && transport.kind() == TransportException.Kind.DEADLINE_EXCEEDED);
      attemptFailed(member, attempt, "the runner is not reachable: health check: " + answer, slow);
      return;
    }
    setup(member, attempt);
  }

  private void setup(FleetMember member, int attempt) {
    ModelConnection connection = member.connection;
    CompletableFuture<Reply> setup;
    try {
      setup = connection.setup(baseClass, setupArguments, setupTimeout);
    } catch (RuntimeException e) {
      setup = CompletableFuture.failedFuture(e);
    }
    setup.whenComplete((reply, error) -> onFleetThread(() -> setUp(member, attempt, reply, error)));
  }

  private void setUp(FleetMember member, int attempt, Reply reply, Throwable error) {
    if (member.retired) {
      return;
    }
    if (error == null && reply.status().isSuccess()) {
      String id = member.endpoint.modelId();
      FleetMember previous = known.get(id);
      if (replacing.get(id) == member) {
        replacing.remove(id);
      }
      known.put(id, member);
      member.state = ModelStatus.State.CONNECTED;
      membershipChanged(); // the old member serves until fan-outs pick the new one: no fan-out
      // misses the model
      if (previous != null && previous != member) {
        if (previous.state == ModelStatus.State.CONNECTED) {
          retireAfterItsCalls(previous);
        } else {
          retire(previous);
        }
      }
      String reason = member.readyReason != null ? member.readyReason : reply.status().message();
      String code = member.readmitting ? FleetEvent.READMITTED : "";
      member.readmitting = false;
      decayEjections(member);
      emit(new FleetEvent(member.onReady, member.endpoint, code, reason));
      return;
    }
    if (error != null && isAuthentication(Concurrency.cause(error))) {
      authenticationFailed(member, (TransportException) Concurrency.cause(error));
      return;
    }
    String why = error != null ? Concurrency.cause(error).toString() : reply.status().toString();
    if (error == null) {
      member.lastError("setup attempt " + attempt + ": " + why);
      // The runner answered: not retried (as the Python client). Only errors and timeouts are.
      setupRefused(member, reply);
      return;
    }
    attemptFailed(
        member,
        attempt,
        why,
        Concurrency.cause(error) instanceof TransportException transport
            && transport.kind() == TransportException.Kind.DEADLINE_EXCEEDED);
  }

  /**
   * A connection attempt failed (the runner was not reachable, or the setup failed or timed out):
   * tried again after the backoff ({@link #retryDelayNanos}) until the attempts are spent; then the
   * model failed to connect. Fleet thread.
   */
  private void attemptFailed(FleetMember member, int attempt, String why, boolean slow) {
    member.lastError("setup attempt " + attempt + ": " + why);
    if (slow) {
      member.slowAttempts++;
    }
    long backoff = retryDelayNanos(member.reconnecting, attempt, member.slowAttempts);
    if (backoff >= 0) {
      LOG.log(System.Logger.Level.INFO, "Setup of {0} failed ({1}); retrying", member, why);
      later(() -> connect(member, attempt + 1), backoff);
      return;
    }
    connectionFailed(member, "setup failed " + attempt + " time(s), the last: " + why);
  }

  /**
   * Returns how long to wait after failed attempt {@code attempt} (from 1) before the next, or -1
   * when the attempts are spent. A new model waits the setup backoff, doubled after each attempt,
   * for {@code setupAttempts} attempts in all. A model that was connected (its runner died, or is
   * restarting) starts from a quarter of it and doubles up to half of it (0.5, 1, 1, 1… s by
   * default), for as long as the doubled schedule from a quarter would have lasted (7.5 s with 5
   * attempts), and for no more than {@code setupAttempts} attempts that ran into a deadline ({@code
   * slowAttempts}): it is reported no later than before, while a runner restarted on its address is
   * found within half the setup backoff of serving again.
   */
  long retryDelayNanos(boolean reconnecting, int attempt, int slowAttempts) {
    long backoff = setupBackoff.toNanos();
    if (!reconnecting) {
      return attempt < setupAttempts ? backoff << Math.min(attempt - 1, 20) : -1;
    }
    if (slowAttempts >= setupAttempts) {
      return -1;
    }
    long initial = backoff / 4;
    long cap = Math.max(initial, backoff / 2);
    long budget = 0;
    for (int i = 1; i < setupAttempts; i++) {
      budget = saturatedAdd(budget, initial << Math.min(i - 1, 20));
    }
    long spent = 0;
    long delay = 0;
    for (int i = 1; i <= attempt; i++) {
      delay = Math.min(initial << Math.min(i - 1, 20), cap);
      spent = saturatedAdd(spent, delay);
    }
    return spent <= budget ? delay : -1;
  }

  private static long saturatedAdd(long a, long b) {
    long sum = a + b;
    return ((a ^ sum) & (b ^ sum)) < 0 ? Long.MAX_VALUE : sum;
  }

  /**
   * Setup answered something other than SUCCESS: {@code BAD_IMPLEMENTATION} is reported as such;
   * {@code INVALID_ARGUMENT} (an empty base class name) is the coordinator's error, logged and not
   * reported; any other answer ({@code SETUP_FAILED}: the constructor threw, say) is reported
   * {@code MULTIPLE_FAILED}, which the Model Orchestrator quarantines.
   */
  private void setupRefused(FleetMember member, Reply reply) {
    member.state = ModelStatus.State.DISCONNECTED;
    member.closeConnection();
    forgetIfPending(member);
    membershipChanged();
    String message = reply.status().message();
    if (reply.status().is(StatusCode.INVALID_ARGUMENT)) {
      String reason =
          "the runner refused the setup as the coordinator's error ("
              + reply.status()
              + "): check the fleet's base class name '"
              + baseClass
              + "'";
      LOG.log(System.Logger.Level.ERROR, "{0}: {1}", member, reason);
      emit(
          new FleetEvent(
              FleetEvent.Kind.CONNECTION_FAILED,
              member.endpoint,
              StatusCode.INVALID_ARGUMENT.name(),
              reason));
      return;
    }
    String code =
        reply.status().is(StatusCode.BAD_IMPLEMENTATION)
            ? FailureCode.BAD_IMPLEMENTATION.name()
            : FailureCode.MULTIPLE_FAILED.name();
    String reason =
        reply.status().is(StatusCode.BAD_IMPLEMENTATION)
            ? message
            : "setup answered " + reply.status();
    LOG.log(
        System.Logger.Level.WARNING,
        "Setup of {0} answered {1}: {2}",
        member,
        reply.status().code(),
        message);
    if (reportFailures) {
      reportToDirectory(member.endpoint, code, reason);
    }
    emit(new FleetEvent(FleetEvent.Kind.DISCONNECTED, member.endpoint, code, reason));
  }

  /**
   * Whether a failure is about authentication: the runner refused this coordinator's credentials,
   * failed verification (TLS, its signed identity), or wants credentials the transport does not
   * have. Retrying does not help.
   */
  static boolean isAuthentication(Throwable cause) {
    return cause instanceof TransportException transport
        && (transport.kind() == TransportException.Kind.UNAUTHENTICATED
            || transport.kind() == TransportException.Kind.AUTHENTICATION_FAILED
            || transport.kind() == TransportException.Kind.CREDENTIALS_REQUIRED);
  }

  /**
   * A connection attempt failed authentication: not retried. The model is reported {@code
   * CONNECTION_FAILED} with the reason, at once (a {@link FleetEvent.Kind#CONNECTION_FAILED}
   * event), and stays out until the directory announces it again; a model being re-admitted ends
   * its ejection this way too. A transport without the credentials the runner requires ({@code
   * CREDENTIALS_REQUIRED}) is the coordinator's error: the event carries that code and nothing is
   * reported. Fleet thread.
   */
  private void authenticationFailed(FleetMember member, TransportException cause) {
    String why = cause.getMessage();
    member.readmitting = false;
    member.lastError(why);
    member.state = ModelStatus.State.DISCONNECTED;
    member.closeConnection();
    forgetIfPending(member);
    membershipChanged();
    if (cause.kind() == TransportException.Kind.CREDENTIALS_REQUIRED) {
      LOG.log(System.Logger.Level.ERROR, "Cannot connect {0}: {1}", member, why);
      emit(
          new FleetEvent(
              FleetEvent.Kind.CONNECTION_FAILED,
              member.endpoint,
              TransportException.Kind.CREDENTIALS_REQUIRED.name(),
              why));
      return;
    }
    LOG.log(System.Logger.Level.WARNING, "Cannot authenticate {0}: {1}", member, why);
    reportConnectionFailed(member, why);
  }

  /**
   * Reports a model that could not be connected {@code CONNECTION_FAILED} (unless failures are not
   * reported) and sends the {@link FleetEvent.Kind#CONNECTION_FAILED} event.
   */
  private void reportConnectionFailed(FleetMember member, String why) {
    if (reportFailures) {
      reportToDirectory(member.endpoint, FailureCode.CONNECTION_FAILED.name(), why);
    }
    emit(
        new FleetEvent(
            FleetEvent.Kind.CONNECTION_FAILED,
            member.endpoint,
            FailureCode.CONNECTION_FAILED.name(),
            why));
  }

  private void connectionFailed(FleetMember member, String why) {
    if (member.readmitting) {
      readmissionFailed(member, why);
      return;
    }
    if (member.reconnecting && ejection.readmission()) {
      unreachable(member, why);
      return;
    }
    LOG.log(System.Logger.Level.WARNING, "Cannot connect {0}: {1}", member, why);
    member.lastError(why);
    member.state = ModelStatus.State.DISCONNECTED;
    member.closeConnection();
    forgetIfPending(member);
    membershipChanged();
    reportConnectionFailed(member, why);
  }

  /**
   * A model that was connected cannot be reached again (its runner died, or is restarting): it is
   * reported {@code CONNECTION_FAILED} (a {@link FleetEvent.Kind#CONNECTION_FAILED} event whose
   * reason says when it is probed again) and ejected, for a thirtieth of the ejection time at first
   * (1 s by default, doubled after each failed probe), then probed again, as an ejected model is.
   * Fleet thread.
   */
  private void unreachable(FleetMember member, String why) {
    member.closeConnection();
    Duration time = member.markEjected(UNREACHABLE + ": " + why, ejection, true);
    if (time == null) {
      return;
    }
    membershipChanged();
    if (reportFailures) {
      reportToDirectory(member.endpoint, UNREACHABLE, why);
    }
    ejected(member, UNREACHABLE, why, time, FleetEvent.Kind.CONNECTION_FAILED);
  }

  private void forgetIfPending(FleetMember member) {
    String id = member.endpoint.modelId();
    if (replacing.get(id) == member) {
      replacing.remove(id);
      member.retired = true;
    }
  }

  /**
   * Schedules one rebuild of the connected array for all the changes made until it runs: a burst of
   * setups completing together (a snapshot of thousands of models) costs one pass, not one per
   * model. Events emitted meanwhile wait for it, so that a listener that sees CONNECTED finds the
   * model connected.
   */
  private void membershipChanged() {
    if (!rebuildPending) {
      rebuildPending = true;
      onFleetThread(this::rebuildConnected);
    }
  }

  private void rebuildConnected() {
    rebuildPending = false;
    List<FleetMember> now = new ArrayList<>(view.connected.length + 1);
    List<FleetMember> out = new ArrayList<>();
    for (FleetMember member : known.values()) { // in model id order
      if (member.state == ModelStatus.State.CONNECTED) {
        now.add(member);
      } else if (member.sitsOutAs() != null) {
        out.add(member);
      }
    }
    view = new View(now.toArray(new FleetMember[0]), out.toArray(new FleetMember[0]));
    synchronized (readiness) {
      readiness.notifyAll();
    }
    for (FleetMember replaced : replacedAwaitingRebuild) {
      scheduleRetirement(replaced);
    }
    replacedAwaitingRebuild.clear();
    for (FleetEvent event : eventsAwaitingRebuild) {
      emit(event);
    }
    eventsAwaitingRebuild.clear();
  }

  /**
   * Marks the fleet settled once every model of the directory's first snapshot connected or failed.
   */
  private void checkSettled() {
    if (settled || initialPending == null || rebuildPending) {
      return;
    }
    // Drops members from the front while they are no longer pending and stops at the first that
    // is: each member leaves the queue once, so a fleet of n models settles in O(n) checks in all.
    // A scan of all of them after every task was O(n^2): 10,000 in-process models kept the fleet
    // thread busy for about two seconds of processor time while they connected.
    for (FleetMember first; (first = initialPending.peekFirst()) != null; ) {
      if (!first.retired
          && (first.state == ModelStatus.State.CONNECTING
              || first.state == ModelStatus.State.REDEPLOYING)) {
        return;
      }
      initialPending.pollFirst();
    }
    if (initialPending.isEmpty()) {
      settled = true;
      initialPending = null;
      synchronized (readiness) {
        readiness.notifyAll();
      }
    }
  }

  private void emit(FleetEvent event) {
    if (listeners.isEmpty()) {
      return;
    }
    if (rebuildPending) {
      eventsAwaitingRebuild.add(event);
      return;
    }
    callbacks.execute(
        () -> {
          for (FleetListener listener : listeners) {
            try {
              listener.onEvent(event);
            } catch (RuntimeException e) {
              LOG.log(
                  System.Logger.Level.WARNING, "A fleet listener failed on " + event + ": " + e, e);
            }
          }
        });
  }

  /**
   * Drops members disconnected since the array was made (the fleet thread refreshes it soon after).
   */
  static FleetMember[] stillConnected(FleetMember[] members) {
    for (FleetMember member : members) {
      if (member.state != ModelStatus.State.CONNECTED) {
        List<FleetMember> kept = new ArrayList<>(members.length);
        for (FleetMember candidate : members) {
          if (candidate.state == ModelStatus.State.CONNECTED) {
            kept.add(candidate);
          }
        }
        return kept.toArray(new FleetMember[0]);
      }
    }
    return members;
  }

  // ---------------------------------------------------------------------------------------------
  // What coordinators can see

  /** Returns the status of every model the fleet knows (connected, connecting or disconnected). */
  List<ModelStatus> models() {
    List<ModelStatus> statuses = new ArrayList<>();
    for (FleetMember member : known.values()) {
      statuses.add(member.status());
    }
    statuses.sort((a, b) -> a.modelId().compareTo(b.modelId()));
    return statuses;
  }

  /** Returns the ids of the models that are connected now, sorted. */
  List<String> connectedModelIds() {
    List<String> ids = new ArrayList<>();
    for (FleetMember member : stillConnected(view.connected)) {
      ids.add(member.endpoint.modelId());
    }
    return ids;
  }

  /**
   * Waits until at least {@code count} models are connected.
   *
   * @return whether they were, before the timeout
   * @throws InterruptedException if the thread is interrupted while waiting
   */
  boolean awaitConnected(int count, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (readiness) {
      while (view.connected.length < count) {
        long left = deadline - System.nanoTime();
        if (left <= 0 || closed) {
          return view.connected.length >= count;
        }
        TimeUnit.NANOSECONDS.timedWait(readiness, left);
      }
      return true;
    }
  }

  /**
   * Waits until the directory's first snapshot is settled: it arrived, and every model it listed is
   * connected or could not be (failed, left, or disconnected). Once settled, the fleet stays
   * settled.
   *
   * @return whether it was settled before the timeout
   * @throws InterruptedException if the thread is interrupted while waiting
   */
  boolean awaitSettled(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (readiness) {
      while (!settled) {
        long left = deadline - System.nanoTime();
        if (left <= 0 || closed) {
          return settled;
        }
        TimeUnit.NANOSECONDS.timedWait(readiness, left);
      }
      return true;
    }
  }

  /**
   * Reports a model to the directory with any failure code (the orchestrator quarantines a model
   * reported with a code it does not know). See {@link #report(String, FailureCode, String)}.
   *
   * @throws IllegalArgumentException if the fleet knows no model with that id, or the code is blank
   */
  void report(String modelId, String failureCode, String reason) {
    Objects.requireNonNull(failureCode, "failureCode");
    Objects.requireNonNull(reason, "reason");
    if (failureCode.isBlank()) {
      throw new IllegalArgumentException("The failure code cannot be blank");
    }
    FleetMember member = member(modelId);
    LOG.log(System.Logger.Level.INFO, "Reporting {0}: {1} ({2})", member, failureCode, reason);
    reportToDirectory(member.endpoint, failureCode, reason, true);
  }

  /**
   * Disconnects a model here without reporting it to the directory: no fan-out started after this
   * call targets it, and it stays out until the directory announces a new deployment or a restart
   * of it. A {@link FleetEvent.Kind#DISCONNECTED} event with the code {@link FleetEvent#LOCAL}
   * follows.
   *
   * @return whether the model was connected or connecting (false if it already was out)
   * @throws IllegalArgumentException if the fleet knows no model with that id
   */
  boolean disconnectLocally(String modelId, String reason) {
    Objects.requireNonNull(reason, "reason");
    FleetMember member = member(modelId);
    if (!member.markDisconnected(FleetEvent.LOCAL + ": " + reason)) {
      return false;
    }
    onFleetThread(
        () -> {
          LOG.log(System.Logger.Level.INFO, "Disconnecting {0} locally: {1}", member, reason);
          member.closeConnection();
          if (replacing.containsKey(modelId)) {
            retire(replacing.remove(modelId));
          }
          membershipChanged();
          emit(
              new FleetEvent(
                  FleetEvent.Kind.DISCONNECTED, member.endpoint, FleetEvent.LOCAL, reason));
        });
    return true;
  }

  private FleetMember member(String modelId) {
    Objects.requireNonNull(modelId, "modelId");
    FleetMember member = known.get(modelId);
    if (member == null) {
      throw new IllegalArgumentException("The fleet knows no model with the id " + modelId);
    }
    return member;
  }

  /**
   * Closes: nothing more is applied, every member is retired, and waiters are woken. The fleet's
   * thread must be stopped first.
   */
  void close() {
    closed = true;
  }

  /** Retires every member, after the fleet's thread stopped. */
  void retireAll() {
    for (FleetMember member : known.values()) {
      retire(member);
    }
    for (FleetMember member : replacing.values()) {
      retire(member);
    }
    for (FleetMember member : retiring) {
      retire(member);
    }
    synchronized (readiness) {
      readiness.notifyAll();
    }
  }
}
