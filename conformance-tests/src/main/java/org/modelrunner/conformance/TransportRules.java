package org.modelrunner.conformance;

/**
 * The rules a transport (with its runner) must follow, one method per rule; {@link
 * TransportConformanceSuite} runs each as one JUnit test of the same name.
 *
 * <p>A {@code required_…} rule holds for every transport. An {@code optional_…} rule needs a {@link
 * Capability}; it is skipped (reported as skipped, never as passed) when the fixture does not
 * declare it.
 *
 * <p>Some things are checked by every rule rather than by one:
 *
 * <ul>
 *   <li>every {@link org.modelrunner.spi.ModelConnection} future completes, normally or with a
 *       {@link org.modelrunner.spi.TransportException}, by its timeout plus the fixture's
 *       {@linkplain TransportFixture#timingTolerance() tolerance}; a failure says "did not complete
 *       within its timeout … plus the tolerance";
 *   <li>connection operations report failures through their futures and never throw;
 *   <li>after each test the suite closes the test's connections and transports and stops its
 *       runners, then checks that the connections no longer answer, that every thread started
 *       during the test has ended within the fixture's {@linkplain
 *       TransportFixture#releaseTimeout() release timeout} and, with {@link
 *       Capability#CLASS_LOADER_RELEASE}, that every submission's class loader was collected. Such
 *       a failure is reported on the test during which the resource was opened.
 * </ul>
 *
 * <p>The models the rules call are compiled by the suite from Java source; their base class is
 * {@link org.modelrunner.conformance.models.ConformanceBase}. Status codes and messages are those
 * of PROTOCOL §1.4 and must arrive exactly as the runner (here, the project's {@code loader}) wrote
 * them.
 */
public interface TransportRules {

  // ---------------------------------------------------------------------------------------------
  // Setup and discovery

  /**
   * A setup naming the base class creates the instance: {@code SUCCESS "Instance created
   * successfully"}, without a value, and the model answers calls (its no-argument constructor ran).
   *
   * <p>If it fails: check that the runner hosts the submission folder it was given, that the
   * suite's jar (where the base class lives) is on the runner's host class path, and that the setup
   * request carries the class name and the reply carries the status code and message unchanged.
   */
  void required_setupCreatesTheInstance() throws Exception;

  /**
   * Setup is idempotent: once an instance exists, another setup answers {@code SUCCESS "Instance
   * already exists"} and ignores its new arguments. The constructor arguments of the first setup
   * reach the constructor.
   *
   * <p>If it fails: check that setup arguments are carried, and that the transport does not make a
   * new runner state per connection or per request.
   */
  void required_setupIsIdempotent() throws Exception;

  /**
   * A submission with no implementation of the base class gives {@code BAD_IMPLEMENTATION "No
   * Inherited class found from <class '…'>."}, as does a base class that exists nowhere; the runner
   * then still answers (a call gives {@code FAILED_PRECONDITION}).
   *
   * <p>If it fails: check that the runner reports discovery failures as a status, not as a
   * transport error, and that the message is carried unchanged.
   */
  void required_setupWithoutImplementationIsBadImplementation() throws Exception;

  /**
   * A setup with an empty or blank class name gives {@code INVALID_ARGUMENT "class_name cannot be
   * empty"}, and a later valid setup succeeds.
   *
   * <p>If it fails: check that an empty string is carried as such (not turned into null or refused
   * by the transport).
   */
  void required_setupWithEmptyClassNameIsInvalidArgument() throws Exception;

  /**
   * A constructor that throws, and a class name without a package, give {@code SETUP_FAILED} with
   * the error text; the runner keeps serving and a later valid setup succeeds.
   *
   * <p>If it fails: check that exceptions of model code are answered as a status and do not break
   * the runner or the connection.
   */
  void required_setupFailureIsSetupFailed() throws Exception;

  // ---------------------------------------------------------------------------------------------
  // Call outcomes

  /**
   * A call before setup gives {@code FAILED_PRECONDITION "Setup has not been called yet"}, whatever
   * the method name (even empty: the instance is checked first).
   *
   * <p>If it fails: check that the runner's state is not set up implicitly by connecting.
   */
  void required_callBeforeSetupIsFailedPrecondition() throws Exception;

  /**
   * A call with an empty method name gives {@code INVALID_ARGUMENT "methodName cannot be empty"}.
   *
   * <p>If it fails: check that {@code ModelTransport.prepare} and the connection carry an empty
   * name.
   */
  void required_callWithEmptyMethodNameIsInvalidArgument() throws Exception;

  /**
   * A call to a method the model does not have gives {@code BAD_IMPLEMENTATION "Method
   * \"noSuchMethod\" not found in class \"MainModel\""}.
   *
   * <p>If it fails: check that the method name is carried unchanged and the message is not
   * rewritten.
   */
  void required_unknownMethodIsBadImplementation() throws Exception;

  /**
   * A call to a method the model does not have is {@code BAD_IMPLEMENTATION} even when an argument
   * is malformed (a STRING that is not UTF-8): the Python runner looks the method up before it
   * decodes the arguments. The same argument to a method the model has gives {@code MODEL_FAILED
   * "The model raised an exception: Malformed argument: …"}.
   *
   * <p>If it fails: check that the argument's bytes are carried unchanged (not re-encoded) and that
   * the runner looks the method up before it checks the arguments.
   */
  void required_unknownMethodWithAMalformedArgumentIsBadImplementation() throws Exception;

  /**
   * A model method that throws gives {@code MODEL_FAILED "The model raised an exception:
   * java.lang.IllegalStateException: <message>"}, with a non-ASCII message carried intact, and the
   * runner keeps the instance and keeps serving.
   *
   * <p>If it fails: check the UTF-8 handling of status messages, and that a model exception is not
   * turned into a transport error or a dead runner.
   */
  void required_modelExceptionIsModelFailed() throws Exception;

  /**
   * A call that returned answers {@code SUCCESS} with an empty message and the value; a {@code
   * void} method or a {@code null} result answers {@code SUCCESS} without a value.
   *
   * <p>If it fails: check how the transport represents an absent value (the wire leaves {@code
   * methodResponse} unset) and that an empty message is not turned into null.
   */
  void required_successfulCallCarriesItsValue() throws Exception;

  /**
   * Reset answers {@code SUCCESS "No instance exists to reset"} without an instance and {@code
   * SUCCESS "Instance successfully reset"} with one; after a reset, calls give {@code
   * FAILED_PRECONDITION}.
   *
   * <p>If it fails: check that reset (the protocol's {@code Rest}) reaches the runner's model.
   */
  void required_resetReportsWhetherAnInstanceExisted() throws Exception;

  /**
   * After a reset, a setup creates a clean new instance ({@code "Instance created successfully"},
   * new constructor arguments, fresh state), not the old one (the existing runner's bug of PROTOCOL
   * §1.5).
   *
   * <p>If it fails: check that nothing on the transport's side caches the old instance or its
   * methods.
   */
  void required_setupAfterResetCreatesANewInstance() throws Exception;

  // ---------------------------------------------------------------------------------------------
  // Values and arguments

  /**
   * Every value of the shared vectors file (and a few opaque PARQUET and ARROW values), sent as the
   * argument of a method that returns its {@code Variant} argument unchanged, positionally and by
   * keyword, comes back with the same type and exactly the same bytes. (For {@code NONE}, an absent
   * value is accepted too.)
   *
   * <p>If it fails: the message lists each vector that changed, with the bytes sent and received.
   * Check the type-tag mapping (the wire numbers of {@code VariantType}), that bytes are copied and
   * not re-encoded or normalised (an INT of 1 byte stays 1 byte, JSON text keeps its spacing), and
   * buffer handling (offsets, read-only views, reuse of pooled buffers).
   */
  void required_everyValueRoundTripsByteForByte() throws Exception;

  /**
   * Positional arguments reach the model sorted by position, whatever the order they were given in:
   * gaps are allowed, ties keep their order, and positions are unsigned 32-bit integers (4294967295
   * sorts last).
   *
   * <p>If it fails: check that positions are carried (not renumbered by list order) and as
   * unsigned.
   */
  void required_positionalArgumentsAreOrderedByPosition() throws Exception;

  /**
   * A keyword argument fills the parameter of that name unless a positional argument already did; a
   * parameter that gets nothing receives {@code null}; keyword order does not matter.
   *
   * <p>If it fails: check that keyword arguments are carried with their names.
   */
  void required_keywordArgumentsFillNamedParameters() throws Exception;

  /**
   * A keyword argument that names no parameter is dropped silently: the call succeeds.
   *
   * <p>If it fails: check that the transport does not validate keywords itself.
   */
  void required_unknownKeywordArgumentsAreDropped() throws Exception;

  // ---------------------------------------------------------------------------------------------
  // Deadlines and concurrency

  /**
   * Many requests of every kind, to two runners at once through one transport, each complete by
   * their timeout plus the tolerance, with the answer that belongs to them.
   *
   * <p>If it fails with "did not complete": the transport lost a result (a future never completed:
   * a response matched to no request, an exception swallowed in a callback, a race between
   * completion and cleanup). If an answer belongs to another request: responses are matched to the
   * wrong requests.
   */
  void required_everyRequestCompletesWithinItsTimeout() throws Exception;

  /**
   * A call to a model slower than the call's timeout fails with {@code TransportException} {@code
   * DEADLINE_EXCEEDED} no earlier than the timeout and no later than the timeout plus the
   * tolerance; once the model returns, the runner serves again.
   *
   * <p>If it fails: check that the transport arms a deadline for every request (and does not wait
   * for the runner to answer), and maps an expired deadline to {@code DEADLINE_EXCEEDED}.
   */
  void required_slowCallFailsWithDeadlineExceeded() throws Exception;

  /**
   * A call's future that implements {@code CallCompletion} runs the action it is given once, with
   * what {@code whenComplete} gives: the reply of an answered call, the {@code TransportException}
   * of a call past its deadline; given before the answer, on the thread that completes it; given
   * after, at once; a second action is refused with {@code IllegalStateException}. Skipped for a
   * transport whose futures do not implement it.
   *
   * <p>If it fails: check that every way the future completes (its answer, its deadline, a
   * cancellation) runs the action, and that an action given and a completion that meet run it once
   * (one atomic exchange on each side).
   */
  void required_callCompletionRunsItsActionOnceWithTheOutcome() throws Exception;

  /**
   * A hung model does not delay another model's answer on the same transport: while one model's
   * call hangs, another model answers within the tolerance.
   *
   * <p>If it fails: the transport serialises requests of different models (one worker thread, a
   * lock held across calls, a blocking wait on an event loop).
   */
  void required_hungModelDoesNotDelayAnotherModel() throws Exception;

  /**
   * A second request while a call runs (on the same connection or another) is rejected at once with
   * {@code TransportException} {@code BUSY} and the message {@code "Server busy"}; setup and reset
   * too. The first call then completes normally.
   *
   * <p>If it fails: check that the runner's rejection ({@code RESOURCE_EXHAUSTED "Server busy"}) is
   * mapped to {@code BUSY} (not {@code MESSAGE_TOO_LARGE}, which shares the gRPC code), and that
   * the transport does not queue requests.
   */
  void required_overlappingCallIsRejectedAsBusy() throws Exception;

  /**
   * Bursts of calls to one model from several connections at once each end as {@code SUCCESS} or
   * {@code BUSY}, and the model never runs two of them at once (it counts concurrent entries).
   *
   * <p>If it fails with a count above 1: the runner executes requests concurrently; its
   * one-at-a-time guard is missing or bypassed by the transport.
   */
  void required_callsToOneModelNeverOverlap() throws Exception;

  /**
   * With {@link Capability#HEALTH}: the runner answers {@code SERVING} when idle and, within the
   * tolerance, while a model call runs (on another connection and on the calling one).
   *
   * <p>If it fails: check that health checks do not wait behind model calls (a separate service,
   * thread or stream).
   */
  void optional_healthIsServingWhileACallRuns() throws Exception;

  // ---------------------------------------------------------------------------------------------
  // Message size limits

  /**
   * With {@link Capability#SIZE_LIMITS}: with a limit of 1 MiB on both sides, a request and a
   * response of about 900 KiB pass unchanged.
   *
   * <p>If it fails: check that the limit counts the payload plus only a small overhead, both ways.
   */
  void optional_payloadWithinTheLimitPasses() throws Exception;

  /**
   * With {@link Capability#SIZE_LIMITS}: with a limit of 1 MiB on both sides, a request of 2 MiB
   * fails with {@code MESSAGE_TOO_LARGE} (from {@code prepare} or from the future), and the runner
   * keeps serving with its instance.
   *
   * <p>If it fails: check that {@code TransportSettings.maxMessageBytes} is applied to requests and
   * that the failure is mapped to {@code MESSAGE_TOO_LARGE}.
   */
  void optional_requestOverTheLimitIsMessageTooLarge() throws Exception;

  /**
   * With {@link Capability#SIZE_LIMITS}: a client with a limit of 1 MiB that gets a response of 2
   * MiB fails the call with {@code MESSAGE_TOO_LARGE}, and the runner keeps serving.
   *
   * <p>If it fails: check that {@code TransportSettings.maxMessageBytes} is applied to responses.
   */
  void optional_responseOverTheLimitIsMessageTooLarge() throws Exception;

  /**
   * With {@link Capability#SIZE_LIMITS}: a runner deployed with a limit of 1 MiB, called by a
   * client with the default 64 MiB, refuses a request of 2 MiB and does not send a response of 2
   * MiB: both fail with {@code MESSAGE_TOO_LARGE}; a payload of 900 KiB passes, and the runner
   * keeps serving.
   *
   * <p>If it fails: check that the runner applies {@link Deployment#maxMessageBytes()} both ways,
   * and that the client maps the runner's refusal to {@code MESSAGE_TOO_LARGE} (not {@code BUSY}).
   */
  void optional_runnerEnforcesItsOwnLimit() throws Exception;

  // ---------------------------------------------------------------------------------------------
  // Connections

  /**
   * Closing a connection fails its running request with {@code CANCELLED} within the tolerance; a
   * request sent on it afterwards is not answered; closing again does nothing; the runner serves
   * other connections.
   *
   * <p>If it fails: check that {@code ModelConnection.close()} completes the futures it has in
   * flight.
   */
  void required_closingAConnectionCancelsItsRequests() throws Exception;

  /**
   * A new connection to a runner whose previous connection was closed works, and reaches the same
   * instance (setup answers {@code "Instance already exists"}); so does a connection from another
   * transport.
   *
   * <p>If it fails: check that closing a connection does not close shared resources of the
   * transport or the runner.
   */
  void required_newConnectionToTheSameRunnerWorks() throws Exception;

  /**
   * Closing the transport closes its connections: their running requests fail with {@code
   * CANCELLED} within the tolerance, later requests are not answered, and closing again does
   * nothing. Other transports are not affected.
   *
   * <p>If it fails: check that the transport keeps track of the connections it made.
   */
  void required_closingTheTransportClosesItsConnections() throws Exception;

  /**
   * Once a runner is stopped, requests to it fail with {@code UNAVAILABLE}, on an existing
   * connection and on a new one; {@code connect} does not block.
   *
   * <p>If it fails: check how the transport reports a refused connection or a vanished endpoint.
   */
  void required_stoppedRunnerIsUnavailable() throws Exception;

  /**
   * With {@link Capability#RESTART_AT_SAME_ENDPOINT}: after a runner is restarted at the same
   * endpoint, a connection made before the restart reaches the new runner (which has no instance:
   * setup answers {@code "Instance created successfully"}), and so does a new connection.
   *
   * <p>If it fails: check that a connection re-establishes itself after the endpoint went away,
   * within a few seconds (reconnect backoff).
   */
  void optional_restartedRunnerIsReachableAtTheSameEndpoint() throws Exception;

  /**
   * One transport serves several runners at once, each with its own instance and state.
   *
   * <p>If it fails: check that connections are keyed by endpoint and that no state is shared
   * between them.
   */
  void required_oneTransportServesManyModels() throws Exception;

  /**
   * {@code connect} refuses, with {@code IllegalArgumentException}, an endpoint whose scheme the
   * transport does not serve.
   *
   * <p>If it fails: check the scheme test in {@code ModelTransport.connect}.
   */
  void required_connectRejectsForeignSchemes() throws Exception;

  // ---------------------------------------------------------------------------------------------
  // Resources

  /**
   * Closing a transport (after using it with two runners) and stopping those runners ends every
   * thread they started, within the fixture's release timeout.
   *
   * <p>If it fails: the message names each thread still alive and where it is; look for executors
   * that are never shut down, event loops, timers, or threads started per connection.
   */
  void required_closingReleasesThreads() throws Exception;

  /**
   * With {@link Capability#CLASS_LOADER_RELEASE}: once a runner that ran a model (calls, results,
   * an exception) is stopped and its connection closed, the submission's class loader is
   * garbage-collected.
   *
   * <p>If it fails: something still references the submission (a registry entry never removed, a
   * cache keyed by class, a thread still running model code, a context class loader left on a
   * pooled thread). A heap dump's paths to the class loader show it.
   */
  void optional_stoppingTheRunnerReleasesTheSubmissionClassLoader() throws Exception;
}
