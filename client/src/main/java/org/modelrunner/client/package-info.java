/**
 * The coordinator's client: a {@link org.modelrunner.client.ModelFleet} follows a {@link
 * org.modelrunner.spi.ModelDirectory}, connects to each model it lists through the transport that
 * serves the endpoint's scheme (found with {@link java.util.ServiceLoader}), and fans calls out to
 * all of them at once with one deadline. Every targeted model gets exactly one {@link
 * org.modelrunner.client.CallOutcome}; models that keep failing or timing out are disconnected and
 * reported. {@link org.modelrunner.client.OrchestratorDirectory} follows the Model Orchestrator's
 * WebSocket, so that the fleet keeps up with models joining, being redeployed, restarting and
 * leaving. This package depends on the SPI only: it never sees gRPC or any other transport's types.
 *
 * <h2>Failure policy</h2>
 *
 * As the Python client: each model has a count of consecutive failures and one of consecutive
 * timeouts, both reset by a success. When one goes over its limit (defaults 3 and 3; 0 disables),
 * the model is disconnected, reported to the directory ({@code MULTIPLE_FAILED} or {@code
 * MULTIPLE_TIMEOUT}) and a {@link FleetEvent.Kind#DISCONNECTED} event is sent, once per decision. A
 * {@code BAD_IMPLEMENTATION} answer disconnects at once. A {@code BUSY} answer (the runner is still
 * running an earlier call that timed out) and an unreachable runner ({@code UNAVAILABLE}) count as
 * timeouts; other transport errors count as failures. Answers that are the coordinator's problem
 * count for nothing: {@code INVALID_ARGUMENT} is logged, and {@code FAILED_PRECONDITION} (the
 * runner lost its instance) sets the model up again. A setup is retried only after connection
 * errors and timeouts; one that answers {@code BAD_IMPLEMENTATION} is reported so, {@code
 * INVALID_ARGUMENT} is the coordinator's error (not reported), and any other refusal is reported
 * {@code MULTIPLE_FAILED} at once. {@link ModelFleet.Builder#reportFailures reportFailures(false)}
 * logs decisions instead of acting on them. The outcome's {@link CallFailure} keeps the kind apart
 * ({@code UNAVAILABLE}, {@code BUSY}, {@code DEADLINE_EXCEEDED}...).
 *
 * <p>The models are never blamed for the fleet's own stall ({@link ModelFleet.Builder#stallGuard}):
 * a fan-out's timeouts are judged together once it is complete, and none of them is counted (no
 * consecutive timeout, cooldown or health check) when more than half of the models it called timed
 * out together (if it called at least 5), or when it completed more than 500 ms after its deadline
 * (its deadline timer ran late: the coordinator's threads were held up). They are still {@link
 * CallStatus#TIMEOUT} outcomes and count in {@link ModelStatus#counts()}; one warning per such
 * fan-out says why. A fan-out in which fewer models time out counts each timeout.
 *
 * <p>After its {@code n}th consecutive timeout a model sits out the next {@code ceil(n / 2)} calls
 * (the Python client's cooldown; {@link ModelFleet.Builder#timeoutCooldown}): they end {@link
 * CallStatus#SKIPPED} without being sent, and count for nothing. Health checks run out of band with
 * their own deadline ({@link ModelFleet.Builder#healthChecks}), after every few timeouts and at
 * once when a runner is unreachable; a runner that does not answer {@code SERVING} is reconnected
 * (set up again: {@link FleetEvent.Kind#RESTARTED}), and one that cannot be is reported {@code
 * CONNECTION_FAILED}. The coordinator can {@link ModelFleet#report} a model itself (say {@link
 * FailureCode#LOW_PERFORMANCE}) and {@link ModelFleet#disconnect} one without reporting it.
 *
 * <h2>Ejection and re-admission</h2>
 *
 * A model over a limit ({@code MULTIPLE_FAILED}, {@code MULTIPLE_TIMEOUT}) is not lost for good
 * while its directory lists it, as with Envoy's outlier detection: it is <em>ejected</em> (reported
 * as above, a {@link FleetEvent.Kind#DISCONNECTED} event whose reason gives the ejection time, and
 * {@link ModelStatus#ejectedUntil()}), and once its ejection time is over the fleet checks its
 * runner's health and sets it up again: the model is back with its counters reset ({@link
 * FleetEvent.Kind#RESTARTED}, code {@link FleetEvent#READMITTED}). A check or setup that fails
 * ejects it again, without a new report. The {@code n}th ejection of a model lasts {@code base ×
 * multiplier^(n-1)}, at most {@code max} (30 s, ×2, 10 min by default: {@link
 * ModelFleet.Builder#ejection}); its count goes down by one for every {@code max} it then serves,
 * and starts again for a new deployment or a restart the directory announces. {@code
 * BAD_IMPLEMENTATION}, refused setups and failed connections stay out for good. Re-admission is on
 * by default only for directories that do not {@linkplain
 * org.modelrunner.spi.ModelDirectory#actsOnReports act on reports}: the Model Orchestrator stops a
 * reported model, so with it the fleet reports and leaves the model to the orchestrator, as the
 * Python client does ({@link ModelFleet.Builder#readmission} decides otherwise). The coordinator's
 * {@link ModelFleet#disconnect} ends an ejection: the model stays out.
 *
 * <h2>Membership</h2>
 *
 * Directory reports are applied on the fleet's own thread without waiting on any model: connecting
 * and setting up run in the background, and a later report abandons them (a {@code STOPPED} for a
 * model still connecting). Each attempt has two phases with their own deadlines: a health check
 * says whether the runner is reachable, within the {@linkplain ModelFleet.Builder#connectTimeout
 * connect timeout} (5 s), then the setup runs, within the setup timeout (60 s). A runner that
 * refuses connections fails its attempts at once, so with the default retries (5 attempts, backoff
 * 2, 4, 8, 16 s) it is reported {@code CONNECTION_FAILED} about 30 s after its first attempt, and
 * one that does not answer at all within 55 s. A model that was connected and is reconnected (it
 * became unreachable or unhealthy) is tried every second or so instead (0.5, 1, 1, 1… s: from a
 * quarter of the backoff, doubled up to half of it) for as long as 0.5, 1, 2, 4 s would last, so
 * that a runner killed for good is reported within about 8 s and one restarted on its address is
 * back within about a second of serving again.
 *
 * <ul>
 *   <li>A snapshot connects what it lists and drops what it does not (pending connections
 *       included).
 *   <li>A new deployment of a model replaces the old one only once it is set up ({@link
 *       FleetEvent.Kind#REPLACED}); {@code STOPPED} or {@code RECOVERING} for a deployment the
 *       fleet does not hold changes nothing. A {@code STOPPED} for the held deployment while a
 *       newer one is being set up is a redeploy (the Model Orchestrator stops the old process at
 *       once), not a leave: the model is {@link ModelStatus.State#REDEPLOYING} until the new
 *       deployment is ready.
 *   <li>{@code RECOVERING} takes the held deployment out of the calls; {@code RUNNING} again with
 *       the same deployment id (or the same deployment at a new address) sets it up again ({@link
 *       FleetEvent.Kind#RESTARTED}: it lost its state).
 *   <li>Duplicates change nothing; new infos for the same deployment and address are taken without
 *       a new setup ({@link FleetEvent.Kind#INFOS_UPDATED}). A model disconnected here stays out
 *       until the directory announces a new deployment, address or restart of it (or, if it was
 *       ejected, until its re-admission).
 * </ul>
 */
package org.modelrunner.client;
