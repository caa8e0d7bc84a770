package org.modelrunner.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Isolated;
import org.modelrunner.conformance.Submissions.Kind;
import org.modelrunner.conformance.models.ConformanceBase;
import org.modelrunner.spi.Argument;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.CallCompletion;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.KeywordArgument;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.Status;
import org.modelrunner.spi.StatusCode;
import org.modelrunner.spi.StatusMessages;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.TransportSettings;
import org.modelrunner.spi.Variant;
import org.modelrunner.spi.VariantType;

/**
 * The conformance suite of a transport, in the shape of the Reactive Streams TCK: one JUnit test
 * per rule of {@link TransportRules}, run against the transport and runners a {@link
 * TransportFixture} provides.
 *
 * <p>A transport author certifies a transport with a one-line subclass in their test sources:
 *
 * <pre>{@code
 * class GrpcTransportConformanceTest extends TransportConformanceSuite {
 *   @Override protected TransportFixture fixture() { return new GrpcFixture(); }
 * }
 * }</pre>
 *
 * <p>Every test has a timeout of {@value #TEST_TIMEOUT_SECONDS} s. Before each test the suite takes
 * a snapshot of the live threads; after it, it closes every connection and transport the test
 * opened, stops every runner it deployed, and fails the test if a closed connection still answers,
 * if a thread started during the test is still alive after the fixture's {@linkplain
 * TransportFixture#releaseTimeout() release timeout}, or (with {@link
 * Capability#CLASS_LOADER_RELEASE}) if a submission's class loader is not collected. Because it
 * counts the JVM's threads, the suite never runs concurrently with other tests ({@link Isolated}).
 *
 * <p>The models are compiled at run time from Java source (so a JDK is needed) into a temporary
 * folder, one class folder per submission; they extend {@link ConformanceBase}, which ships in this
 * jar.
 */
@Isolated("counts the JVM's live threads before and after each test")
@Timeout(value = TransportConformanceSuite.TEST_TIMEOUT_SECONDS, unit = TimeUnit.SECONDS)
@TestMethodOrder(MethodOrderer.MethodName.class)
public abstract class TransportConformanceSuite implements TransportRules {
  /** The timeout of every test, in seconds. */
  public static final int TEST_TIMEOUT_SECONDS = 60;

  private static final String BASE = ConformanceBase.NAME;
  private static final String BUSY_MESSAGE = StatusMessages.SERVER_BUSY;
  private static final String RAISED = StatusMessages.MODEL_RAISED;

  /** The timeout of requests that the runner answers at once. */
  private static final Duration QUICK = Duration.ofSeconds(3);

  /** The timeout of calls that a slow model outlives. */
  private static final Duration SHORT = Duration.ofMillis(300);

  /**
   * The timeout of requests to a runner that has stopped: a transport may fail them at once, or
   * wait for the runner up to their deadline and fail them {@code UNAVAILABLE} then.
   */
  private static final Duration UNREACHABLE = Duration.ofSeconds(1);

  /**
   * Pause between two polls of a condition (busy, idle, reachable), always within a generous bound.
   */
  private static final long POLL_MILLIS = 20;

  private static final int SMALL_LIMIT = 1024 * 1024;
  private static final int WITHIN_LIMIT = 900 * 1024;
  private static final int OVER_LIMIT = 2 * 1024 * 1024;

  private static final AtomicInteger RUNNER_NUMBERS = new AtomicInteger();

  private TransportFixture fixture;
  private Ledger ledger;
  private ModelTransport defaultTransport;

  /** Creates the suite. */
  protected TransportConformanceSuite() {}

  /**
   * Returns the fixture of the transport under test. Called once before each test; may return a new
   * fixture each time or the same one.
   */
  protected abstract TransportFixture fixture();

  // ---------------------------------------------------------------------------------------------
  // Life cycle

  @BeforeEach
  protected final void openLedger() {
    Submissions.get();
    TransportFixture current = fixture();
    assertThat(current).as("fixture()").isNotNull();
    ledger = Ledger.open(current.sharedThreadNamePrefixes());
    fixture = current;
  }

  @AfterEach
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  protected final void verifyEverythingWasReleased() {
    if (ledger == null) {
      return;
    }
    defaultTransport = null;
    List<String> problems = ledger.releaseAll(fixture.releaseTimeout(), tolerance());
    ledger = null;
    if (!problems.isEmpty()) {
      fail("Resources were not released after the test:\n- " + String.join("\n- ", problems));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Setup and discovery

  @Test
  @Override
  public void required_setupCreatesTheInstance() {
    Caller caller = connect(deploy(Kind.MAIN));
    Reply reply =
        expect(
            caller.setup(BASE, Arguments.none(), QUICK),
            StatusCode.SUCCESS,
            StatusMessages.INSTANCE_CREATED);
    assertThat(reply.value()).as("value of a setup reply").isEmpty();
    assertThat(succeed(caller, "name").value()).contains(Variant.ofString("default"));
  }

  @Test
  @Override
  public void required_setupIsIdempotent() {
    Caller caller = connect(deploy(Kind.MAIN));
    expect(
        caller.setup(BASE, args(Variant.ofString("first")), QUICK),
        StatusCode.SUCCESS,
        StatusMessages.INSTANCE_CREATED);
    expect(
        caller.setup(BASE, args(Variant.ofString("second")), QUICK),
        StatusCode.SUCCESS,
        StatusMessages.INSTANCE_EXISTS);
    expect(
        caller.setup(BASE, Arguments.none(), QUICK),
        StatusCode.SUCCESS,
        StatusMessages.INSTANCE_EXISTS);
    assertThat(succeed(caller, "name").value())
        .as("name() after three setups")
        .contains(Variant.ofString("first"));
    assertThat(succeed(caller, "instanceNumber").value())
        .as("instanceNumber() after three setups")
        .contains(Variant.ofLong(1));
  }

  @Test
  @Override
  public void required_setupWithoutImplementationIsBadImplementation() {
    Caller caller = connect(deploy(Kind.NO_IMPLEMENTATION));
    Reply reply = caller.setup(BASE, Arguments.none(), QUICK).value();
    assertThat(reply.status().code())
        .as("code of %s", reply)
        .isEqualTo(StatusCode.BAD_IMPLEMENTATION.name());
    assertThat(reply.status().message())
        .as("message of %s", reply)
        .startsWith(StatusMessages.noImplementation(BASE));

    Reply missingBase =
        caller.setup("conformance.missing.NoSuchBase", Arguments.none(), QUICK).value();
    assertThat(missingBase.status().code())
        .as("code of a setup naming a missing base class: %s", missingBase)
        .isEqualTo(StatusCode.BAD_IMPLEMENTATION.name());
    assertThat(missingBase.status().message())
        .as("message of %s", missingBase)
        .startsWith(StatusMessages.noImplementation("conformance.missing.NoSuchBase"));

    expect(
        caller.call("name", Arguments.none(), QUICK),
        StatusCode.FAILED_PRECONDITION,
        StatusMessages.SETUP_NOT_CALLED);
  }

  @Test
  @Override
  public void required_setupWithEmptyClassNameIsInvalidArgument() {
    Caller caller = connect(deploy(Kind.MAIN));
    expect(
        caller.setup("", Arguments.none(), QUICK),
        StatusCode.INVALID_ARGUMENT,
        StatusMessages.CLASS_NAME_EMPTY);
    expect(
        caller.setup("   ", Arguments.none(), QUICK),
        StatusCode.INVALID_ARGUMENT,
        StatusMessages.CLASS_NAME_EMPTY);
    expect(
        caller.setup(BASE, Arguments.none(), QUICK),
        StatusCode.SUCCESS,
        StatusMessages.INSTANCE_CREATED);
  }

  @Test
  @Override
  public void required_setupFailureIsSetupFailed() {
    Caller failing = connect(deploy(Kind.FAILING_CONSTRUCTOR));
    Reply reply = failing.setup(BASE, Arguments.none(), QUICK).value();
    assertThat(reply.status().code())
        .as("code of %s", reply)
        .isEqualTo(StatusCode.SETUP_FAILED.name());
    assertThat(reply.status().message())
        .as("message of %s", reply)
        .contains(Submissions.CONSTRUCTOR_FAILURE);
    Reply again = failing.setup(BASE, Arguments.none(), QUICK).value();
    assertThat(again.status().code())
        .as("code of a second setup: %s", again)
        .isEqualTo(StatusCode.SETUP_FAILED.name());

    Caller main = connect(deploy(Kind.MAIN));
    Reply noPackage = main.setup("ConformanceBase", Arguments.none(), QUICK).value();
    assertThat(noPackage.status().code())
        .as("code of a setup with a class name without a package: %s", noPackage)
        .isEqualTo(StatusCode.SETUP_FAILED.name());
    assertThat(noPackage.status().message()).as("message of %s", noPackage).isNotEmpty();
    expect(
        main.setup(BASE, Arguments.none(), QUICK),
        StatusCode.SUCCESS,
        StatusMessages.INSTANCE_CREATED);
  }

  // ---------------------------------------------------------------------------------------------
  // Call outcomes

  @Test
  @Override
  public void required_callBeforeSetupIsFailedPrecondition() {
    Caller caller = connect(deploy(Kind.MAIN));
    for (String method : List.of("name", "", "noSuchMethod")) {
      expect(
          caller.call(method, Arguments.none(), QUICK),
          StatusCode.FAILED_PRECONDITION,
          StatusMessages.SETUP_NOT_CALLED);
    }
  }

  @Test
  @Override
  public void required_callWithEmptyMethodNameIsInvalidArgument() {
    Caller caller = mainModel();
    expect(
        caller.call("", Arguments.none(), QUICK),
        StatusCode.INVALID_ARGUMENT,
        StatusMessages.METHOD_NAME_EMPTY);
  }

  @Test
  @Override
  public void required_unknownMethodIsBadImplementation() {
    Caller caller = mainModel();
    expect(
        caller.call("noSuchMethod", Arguments.none(), QUICK),
        StatusCode.BAD_IMPLEMENTATION,
        "Method \"noSuchMethod\" not found in class \"" + Submissions.MAIN_CLASS + "\"");
  }

  @Test
  @Override
  public void required_unknownMethodWithAMalformedArgumentIsBadImplementation() {
    Caller caller = mainModel();
    // "é" cut after its first byte: not UTF-8.
    Variant cut = Variant.of(VariantType.STRING, new byte[] {'c', 'a', 'f', (byte) 0xc3});
    expect(
        caller.call("noSuchMethod", args(cut), QUICK),
        StatusCode.BAD_IMPLEMENTATION,
        "Method \"noSuchMethod\" not found in class \"" + Submissions.MAIN_CLASS + "\"");
    Reply malformed = caller.call("length", args(cut), QUICK).value();
    assertThat(malformed.status().code())
        .as("the same argument to a method the model has: %s", malformed)
        .isEqualTo(StatusCode.MODEL_FAILED.name());
    assertThat(malformed.status().message()).startsWith(RAISED + "Malformed argument: ");
  }

  @Test
  @Override
  public void required_modelExceptionIsModelFailed() {
    Caller caller = mainModel();
    assertThat(succeed(caller, "tick").value()).contains(Variant.ofLong(1));
    String message = "broken on purpose: é ✓ 🚀";
    expect(
        caller.call("fail", args(Variant.ofString(message)), QUICK),
        StatusCode.MODEL_FAILED,
        RAISED + "java.lang.IllegalStateException: " + message);
    assertThat(succeed(caller, "tick").value())
        .as("tick() after the exception: the instance is kept")
        .contains(Variant.ofLong(2));
  }

  @Test
  @Override
  public void required_successfulCallCarriesItsValue() {
    Caller caller = mainModel();
    Reply tick = expect(caller.call("tick", Arguments.none(), QUICK), StatusCode.SUCCESS, "");
    assertThat(tick.value()).as("value of tick()").contains(Variant.ofLong(1));
    Reply name = expect(caller.call("name", Arguments.none(), QUICK), StatusCode.SUCCESS, "");
    assertThat(name.value()).as("value of name()").contains(Variant.ofString("default"));
    Reply nothing = expect(caller.call("nothing", Arguments.none(), QUICK), StatusCode.SUCCESS, "");
    assertThat(nothing.value()).as("value of a void method").isEmpty();
    Reply nothingToo =
        expect(caller.call("nothingToo", Arguments.none(), QUICK), StatusCode.SUCCESS, "");
    assertThat(nothingToo.value()).as("value of a method that returned null").isEmpty();
  }

  @Test
  @Override
  public void required_resetReportsWhetherAnInstanceExisted() {
    Caller caller = connect(deploy(Kind.MAIN));
    expect(caller.reset(QUICK), StatusCode.SUCCESS, StatusMessages.NO_INSTANCE_TO_RESET);
    expect(
        caller.setup(BASE, Arguments.none(), QUICK),
        StatusCode.SUCCESS,
        StatusMessages.INSTANCE_CREATED);
    Reply reset = expect(caller.reset(QUICK), StatusCode.SUCCESS, StatusMessages.INSTANCE_RESET);
    assertThat(reset.value()).as("value of a reset reply").isEmpty();
    expect(caller.reset(QUICK), StatusCode.SUCCESS, StatusMessages.NO_INSTANCE_TO_RESET);
    expect(
        caller.call("name", Arguments.none(), QUICK),
        StatusCode.FAILED_PRECONDITION,
        StatusMessages.SETUP_NOT_CALLED);
  }

  @Test
  @Override
  public void required_setupAfterResetCreatesANewInstance() {
    Caller caller = connect(deploy(Kind.MAIN));
    expect(
        caller.setup(BASE, args(Variant.ofString("first")), QUICK),
        StatusCode.SUCCESS,
        StatusMessages.INSTANCE_CREATED);
    succeed(caller, "tick");
    assertThat(succeed(caller, "tick").value()).contains(Variant.ofLong(2));
    expect(caller.reset(QUICK), StatusCode.SUCCESS, StatusMessages.INSTANCE_RESET);
    expect(
        caller.setup(BASE, args(Variant.ofString("second")), QUICK),
        StatusCode.SUCCESS,
        StatusMessages.INSTANCE_CREATED);
    assertThat(succeed(caller, "name").value())
        .as("name() of the new instance")
        .contains(Variant.ofString("second"));
    assertThat(succeed(caller, "tick").value())
        .as("tick() of the new instance: fresh state")
        .contains(Variant.ofLong(1));
    assertThat(succeed(caller, "instanceNumber").value())
        .as("instanceNumber() after reset and setup")
        .contains(Variant.ofLong(2));
  }

  // ---------------------------------------------------------------------------------------------
  // Values and arguments

  @Test
  @Override
  public void required_everyValueRoundTripsByteForByte() {
    Caller caller = mainModel();
    List<ValueVectors.Vector> vectors = ValueVectors.load();
    List<String> changed = new ArrayList<>();
    for (ValueVectors.Vector vector : vectors) {
      Arguments positional = args(vector.value());
      Arguments keyword =
          Arguments.of(List.of(), List.of(new KeywordArgument("value", vector.value())));
      for (Arguments arguments : List.of(positional, keyword)) {
        String how = arguments == positional ? "positional" : "keyword";
        Reply reply = caller.call("echo", arguments, QUICK).value();
        if (!reply.status().isSuccess()) {
          changed.add(vector.name() + " (" + how + "): the call answered " + reply.status());
          continue;
        }
        Variant sent = vector.value();
        Variant received = reply.value().orElse(null);
        if (received == null && sent.type() == VariantType.NONE) {
          continue;
        }
        if (!sent.equals(received)) {
          changed.add(
              vector.name()
                  + " ("
                  + how
                  + "): sent "
                  + describe(sent)
                  + ", received "
                  + (received == null ? "no value" : describe(received)));
        }
      }
    }
    if (!changed.isEmpty()) {
      fail(
          changed.size()
              + " of "
              + 2 * vectors.size()
              + " values did not come back byte for byte:\n  "
              + String.join("\n  ", changed));
    }
  }

  @Test
  @Override
  public void required_positionalArgumentsAreOrderedByPosition() {
    Caller caller = mainModel();
    assertThat(joined(caller, List.of(arg(5, "c"), arg(1, "a"), arg(3, "b"))))
        .as("join with positions 5, 1, 3")
        .isEqualTo("abc");
    assertThat(joined(caller, List.of(arg(-1, "z"), arg(2, "x"), arg(7, "y"))))
        .as("join with positions 4294967295, 2, 7 (unsigned)")
        .isEqualTo("xyz");
    assertThat(joined(caller, List.of(arg(2, "r"), arg(1, "p"), arg(1, "q"))))
        .as("join with positions 2, 1, 1 (ties keep their order)")
        .isEqualTo("pqr");
  }

  @Test
  @Override
  public void required_keywordArgumentsFillNamedParameters() {
    Caller caller = mainModel();
    assertThat(paired(caller, List.of(arg(1, "A")), List.of(kw("b", "B")))).isEqualTo("A|B");
    assertThat(paired(caller, List.of(), List.of(kw("b", "B"), kw("a", "A"))))
        .as("keywords in another order than the parameters")
        .isEqualTo("A|B");
    assertThat(paired(caller, List.of(arg(1, "A")), List.of(kw("a", "X"), kw("b", "B"))))
        .as("a keyword for a parameter already filled by position is dropped")
        .isEqualTo("A|B");
    assertThat(paired(caller, List.of(arg(1, "A")), List.of()))
        .as("a parameter that receives nothing gets null")
        .isEqualTo("A|null");
  }

  @Test
  @Override
  public void required_unknownKeywordArgumentsAreDropped() {
    Caller caller = mainModel();
    assertThat(paired(caller, List.of(arg(1, "A")), List.of(kw("b", "B"), kw("optional", "extra"))))
        .isEqualTo("A|B");
    Reply name =
        caller
            .call(
                "name",
                Arguments.of(
                    List.of(), List.of(new KeywordArgument("optional", Variant.ofLong(1)))),
                QUICK)
            .value();
    assertThat(name)
        .as("name() with an unknown keyword")
        .isEqualTo(Reply.success(Variant.ofString("default")));
  }

  // ---------------------------------------------------------------------------------------------
  // Deadlines and concurrency

  @Test
  @Override
  public void required_everyRequestCompletesWithinItsTimeout() {
    RunnerHandle first = deploy(Kind.MAIN);
    RunnerHandle second = deploy(Kind.MAIN);
    Caller a = connect(first);
    Caller b = connect(second);
    List<Pending<Reply>> setups =
        List.of(
            a.sendSetup(BASE, args(Variant.ofString("a")), QUICK),
            b.sendSetup(BASE, args(Variant.ofString("b")), QUICK));
    for (Pending<Reply> setup : setups) {
      expect(setup.await(), StatusCode.SUCCESS, StatusMessages.INSTANCE_CREATED);
    }
    for (int i = 0; i < 24; i++) {
      Pending<Reply> toA = a.sendCall("echo", args(Variant.ofLong(i)), QUICK);
      Pending<Reply> toB = b.sendCall("echo", args(Variant.ofLong(1000 + i)), QUICK);
      assertThat(toA.await().value())
          .as("answer to %s with %s", toA.what(), i)
          .isEqualTo(Reply.success(Variant.ofLong(i)));
      assertThat(toB.await().value())
          .as("answer to %s with %s", toB.what(), 1000 + i)
          .isEqualTo(Reply.success(Variant.ofLong(1000 + i)));
      if (i % 6 == 5) {
        Pending<Reply> setupA = a.sendSetup(BASE, Arguments.none(), QUICK);
        Pending<HealthStatus> healthB = b.sendHealthCheck(QUICK);
        expect(setupA.await(), StatusCode.SUCCESS, StatusMessages.INSTANCE_EXISTS);
        healthB.await();
      }
    }
    Pending<Reply> resetA = a.sendReset(QUICK);
    Pending<Reply> nameB = b.sendCall("name", Arguments.none(), QUICK);
    expect(resetA.await(), StatusCode.SUCCESS, StatusMessages.INSTANCE_RESET);
    assertThat(nameB.await().value()).isEqualTo(Reply.success(Variant.ofString("b")));
    expect(
        a.setup(BASE, Arguments.none(), QUICK),
        StatusCode.SUCCESS,
        StatusMessages.INSTANCE_CREATED);
  }

  @Test
  @Override
  public void required_slowCallFailsWithDeadlineExceeded() throws InterruptedException {
    Caller caller = mainModel();
    Outcome<Reply> slow = caller.call("work", args(Variant.ofLong(slowMillis())), SHORT);
    slow.failure(TransportException.Kind.DEADLINE_EXCEEDED);
    assertThat(slow.elapsed())
        .as("time until the call failed with DEADLINE_EXCEEDED (timeout %s ms)", SHORT.toMillis())
        .isGreaterThanOrEqualTo(SHORT.minusMillis(50));
    awaitIdle(caller, Duration.ofMillis(slowMillis()).plus(QUICK));
  }

  @Test
  @Override
  public void required_callCompletionRunsItsActionOnceWithTheOutcome() throws InterruptedException {
    Caller caller = mainModel();
    Pending<Reply> answered = caller.sendCall("work", args(Variant.ofLong(30)), QUICK);
    assumeTrue(
        answered.future() instanceof CallCompletion,
        "the transport's call futures do not implement CallCompletion");
    List<Object[]> heard = new CopyOnWriteArrayList<>();
    ((CallCompletion) answered.future())
        .whenDone((reply, error) -> heard.add(new Object[] {reply, error}));
    assertThatThrownBy(
            () -> ((CallCompletion) answered.future()).whenDone((reply, error) -> heard.add(null)))
        .as("a second action")
        .isInstanceOf(IllegalStateException.class);
    Reply reply = answered.await().value();
    assertThat(reply).isEqualTo(Reply.success(Variant.ofLong(30)));
    Awaitility.await("the action on the answer")
        .atMost(tolerance())
        .untilAsserted(() -> assertThat(heard).hasSize(1));
    assertThat(heard.get(0)).as("what the action heard").containsExactly(reply, null);

    List<Object[]> late = new CopyOnWriteArrayList<>();
    ((CallCompletion) answered.future())
        .whenDone((given, error) -> late.add(new Object[] {given, error}));
    assertThat(late).as("an action given after the answer runs at once").hasSize(1);
    assertThat(late.get(0)).containsExactly(reply, null);

    Pending<Reply> slow = caller.sendCall("work", args(Variant.ofLong(slowMillis())), SHORT);
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    ((CallCompletion) slow.future()).whenDone((given, error) -> failures.add(error));
    TransportException timedOut = slow.await().failure(TransportException.Kind.DEADLINE_EXCEEDED);
    Awaitility.await("the action on the failure")
        .atMost(tolerance())
        .untilAsserted(() -> assertThat(failures).hasSize(1));
    assertThat(failures.get(0)).as("the failure the action heard").isSameAs(timedOut);
    assertThat(heard).as("the first action ran once").hasSize(1);
    awaitIdle(caller, Duration.ofMillis(slowMillis()).plus(QUICK));
  }

  @Test
  @Override
  public void required_hungModelDoesNotDelayAnotherModel() throws InterruptedException {
    Caller hung = mainModel();
    Caller other = mainModel();
    Pending<Reply> hanging = hung.sendCall("work", args(Variant.ofLong(slowMillis())), SHORT);
    Outcome<Reply> answer = other.call("tick", Arguments.none(), QUICK);
    assertThat(answer.value())
        .as("answer of the other model")
        .isEqualTo(Reply.success(Variant.ofLong(1)));
    assertThat(answer.elapsed())
        .as("time the other model took to answer while one model hangs")
        .isLessThanOrEqualTo(tolerance());
    hanging.await().failure(TransportException.Kind.DEADLINE_EXCEEDED);
    Outcome<Reply> again = other.call("tick", Arguments.none(), QUICK);
    assertThat(again.value()).isEqualTo(Reply.success(Variant.ofLong(2)));
    assertThat(again.elapsed())
        .as("time the other model took to answer after the hung call's deadline")
        .isLessThanOrEqualTo(tolerance());
    awaitIdle(hung, Duration.ofMillis(slowMillis()).plus(QUICK));
  }

  @Test
  @Override
  public void required_overlappingCallIsRejectedAsBusy() throws InterruptedException {
    Caller caller = mainModel();
    Caller other = connect(caller);
    long hold = holdMillis();
    Held held = holdWhileProbing(caller, caller, hold);
    Pending<Reply> running = held.running();
    TransportException busy = held.busy();
    assertThat(busy.getMessage()).as("message of the BUSY rejection").contains(BUSY_MESSAGE);
    Outcome<Reply> onOther = other.call("work", args(Variant.ofLong(0)), QUICK);
    Outcome<Reply> setup = other.setup(BASE, Arguments.none(), QUICK);
    Outcome<Reply> reset = other.reset(QUICK);
    assertThat(running.isDone())
        .as(
            "the held call of %s ms had already ended when the overlapping requests were answered: %s, %s, %s",
            hold, onOther, setup, reset)
        .isFalse();
    onOther.failure(TransportException.Kind.BUSY);
    assertThat(onOther.elapsed())
        .as("time to reject a call on another connection")
        .isLessThanOrEqualTo(tolerance());
    setup.failure(TransportException.Kind.BUSY);
    reset.failure(TransportException.Kind.BUSY);
    assertThat(running.await().value())
        .as("answer of the first call, once it completed")
        .isEqualTo(Reply.success(Variant.ofLong(hold)));
    assertThat(succeed(caller, "maxConcurrent").value())
        .as("most calls inside the model at once")
        .contains(Variant.ofLong(1));
  }

  @Test
  @Override
  public void required_callsToOneModelNeverOverlap() {
    Caller first = mainModel();
    List<Caller> callers = new ArrayList<>(List.of(first));
    for (int i = 1; i < 4; i++) {
      callers.add(connect(first));
    }
    int succeeded = 0;
    for (int round = 0; round < 6; round++) {
      List<Pending<Reply>> burst = new ArrayList<>();
      for (Caller caller : callers) {
        burst.add(caller.sendCall("work", args(Variant.ofLong(30)), QUICK));
      }
      for (Pending<Reply> pending : burst) {
        Outcome<Reply> outcome = pending.await();
        if (outcome.answered()) {
          assertThat(outcome.value())
              .as("answer to %s", pending.what())
              .isEqualTo(Reply.success(Variant.ofLong(30)));
          succeeded++;
        } else {
          outcome.failure(TransportException.Kind.BUSY);
        }
      }
    }
    assertThat(succeeded).as("calls that succeeded in 6 bursts").isPositive();
    assertThat(succeed(first, "maxConcurrent").value())
        .as("most calls inside the model at once")
        .contains(Variant.ofLong(1));
  }

  @Test
  @Override
  public void optional_healthIsServingWhileACallRuns() throws InterruptedException {
    requires(Capability.HEALTH);
    Caller caller = mainModel();
    Caller other = connect(caller);
    assertThat(other.checkHealth(QUICK).value())
        .as("health of an idle runner")
        .isEqualTo(HealthStatus.SERVING);
    long hold = holdMillis();
    Pending<Reply> running = holdWhileProbing(caller, other, hold).running();
    Outcome<HealthStatus> onOther = other.checkHealth(QUICK);
    Outcome<HealthStatus> onSame = caller.checkHealth(QUICK);
    boolean stillRunning = !running.isDone();
    assertThat(onOther.value())
        .as("health on another connection while a call runs")
        .isEqualTo(HealthStatus.SERVING);
    assertThat(onSame.value())
        .as("health on the calling connection while a call runs")
        .isEqualTo(HealthStatus.SERVING);
    assertThat(stillRunning)
        .as("health was answered while the call still ran (not after it)")
        .isTrue();
    assertThat(onOther.elapsed().plus(onSame.elapsed()))
        .as("time to answer both health checks")
        .isLessThanOrEqualTo(tolerance());
    assertThat(running.await().value()).isEqualTo(Reply.success(Variant.ofLong(hold)));
  }

  // ---------------------------------------------------------------------------------------------
  // Message size limits

  @Test
  @Override
  public void optional_payloadWithinTheLimitPasses() {
    requires(Capability.SIZE_LIMITS);
    ModelTransport limited =
        newTransport(TransportSettings.defaults().withMaxMessageBytes(SMALL_LIMIT));
    Caller caller = setUp(connect(limited, deploy(Kind.MAIN, SMALL_LIMIT)));
    Variant payload = Variant.ofString(pattern(WITHIN_LIMIT));
    Reply echoed = caller.call("echo", args(payload), QUICK).value();
    assertThat(echoed.status()).isEqualTo(Status.of(StatusCode.SUCCESS, ""));
    assertThat(echoed.value()).as("the 900 KiB value echoed").contains(payload);
    Reply text = caller.call("text", args(Variant.ofLong(WITHIN_LIMIT)), QUICK).value();
    assertThat(text.value().map(Variant::size))
        .as("size of a 900 KiB response")
        .contains(WITHIN_LIMIT);
  }

  @Test
  @Override
  public void optional_requestOverTheLimitIsMessageTooLarge() {
    requires(Capability.SIZE_LIMITS);
    ModelTransport limited =
        newTransport(TransportSettings.defaults().withMaxMessageBytes(SMALL_LIMIT));
    Caller caller = setUp(connect(limited, deploy(Kind.MAIN, SMALL_LIMIT)));
    succeed(caller, "tick");
    caller
        .call("length", args(Variant.ofString(pattern(OVER_LIMIT))), QUICK)
        .failure(TransportException.Kind.MESSAGE_TOO_LARGE);
    assertKeepsServing(caller, 2);
  }

  @Test
  @Override
  public void optional_responseOverTheLimitIsMessageTooLarge() {
    requires(Capability.SIZE_LIMITS);
    ModelTransport limited =
        newTransport(TransportSettings.defaults().withMaxMessageBytes(SMALL_LIMIT));
    Caller caller = setUp(connect(limited, deploy(Kind.MAIN)));
    succeed(caller, "tick");
    caller
        .call("text", args(Variant.ofLong(OVER_LIMIT)), QUICK)
        .failure(TransportException.Kind.MESSAGE_TOO_LARGE);
    assertKeepsServing(caller, 2);
  }

  @Test
  @Override
  public void optional_runnerEnforcesItsOwnLimit() {
    requires(Capability.SIZE_LIMITS);
    Caller caller = setUp(connect(deploy(Kind.MAIN, SMALL_LIMIT)));
    succeed(caller, "tick");
    caller
        .call("length", args(Variant.ofString(pattern(OVER_LIMIT))), QUICK)
        .failure(TransportException.Kind.MESSAGE_TOO_LARGE);
    caller
        .call("text", args(Variant.ofLong(OVER_LIMIT)), QUICK)
        .failure(TransportException.Kind.MESSAGE_TOO_LARGE);
    Variant payload = Variant.ofString(pattern(WITHIN_LIMIT));
    assertThat(caller.call("echo", args(payload), QUICK).value())
        .as("a 900 KiB value echoed")
        .isEqualTo(Reply.success(payload));
    assertKeepsServing(caller, 2);
  }

  // ---------------------------------------------------------------------------------------------
  // Connections

  @Test
  @Override
  public void required_closingAConnectionCancelsItsRequests() throws InterruptedException {
    Caller caller = mainModel();
    Caller other = connect(caller);
    long hold = holdMillis();
    Pending<Reply> running = holdWhileProbing(caller, other, hold).running();
    long closing = System.nanoTime();
    caller.connection().close();
    running.await().failure(TransportException.Kind.CANCELLED);
    assertThat(Duration.ofNanos(System.nanoTime() - closing))
        .as("time from close() to CANCELLED")
        .isLessThanOrEqualTo(tolerance());
    Outcome<Reply> afterClose = caller.call("tick", Arguments.none(), QUICK);
    assertThat(afterClose.answered())
        .as("a call on a closed connection was answered: %s", afterClose)
        .isFalse();
    caller.connection().close();
    awaitIdle(other, Duration.ofMillis(hold).plus(QUICK));
  }

  @Test
  @Override
  public void required_newConnectionToTheSameRunnerWorks() {
    RunnerHandle runner = deploy(Kind.MAIN);
    Caller first = setUp(connect(runner));
    assertThat(succeed(first, "tick").value()).contains(Variant.ofLong(1));
    first.connection().close();
    Caller second = connect(runner);
    expect(
        second.setup(BASE, Arguments.none(), QUICK),
        StatusCode.SUCCESS,
        StatusMessages.INSTANCE_EXISTS);
    assertThat(succeed(second, "tick").value())
        .as("tick() on a new connection: same instance")
        .contains(Variant.ofLong(2));
    Caller third = connect(newTransport(TransportSettings.defaults()), runner);
    assertThat(succeed(third, "tick").value())
        .as("tick() through another transport")
        .contains(Variant.ofLong(3));
  }

  @Test
  @Override
  public void required_closingTheTransportClosesItsConnections() throws InterruptedException {
    RunnerHandle runner = deploy(Kind.MAIN);
    ModelTransport closing = newTransport(TransportSettings.defaults());
    Caller caller = setUp(connect(closing, runner));
    Caller other = connect(runner);
    long hold = holdMillis();
    Pending<Reply> running = holdWhileProbing(caller, other, hold).running();
    long start = System.nanoTime();
    closing.close();
    running.await().failure(TransportException.Kind.CANCELLED);
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .as("time from the transport's close() to CANCELLED")
        .isLessThanOrEqualTo(tolerance());
    closing.close();
    Outcome<Reply> afterClose = caller.call("tick", Arguments.none(), QUICK);
    assertThat(afterClose.answered())
        .as("a call through a closed transport was answered: %s", afterClose)
        .isFalse();
    awaitIdle(other, Duration.ofMillis(hold).plus(QUICK));
  }

  @Test
  @Override
  public void required_stoppedRunnerIsUnavailable() {
    RunnerHandle runner = deploy(Kind.MAIN);
    Caller caller = setUp(connect(runner));
    runner.stop();
    caller.call("tick", Arguments.none(), UNREACHABLE).failure(TransportException.Kind.UNAVAILABLE);
    long start = System.nanoTime();
    Caller fresh = connect(runner);
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .as("time connect() took to a stopped runner")
        .isLessThanOrEqualTo(tolerance());
    fresh.setup(BASE, Arguments.none(), UNREACHABLE).failure(TransportException.Kind.UNAVAILABLE);
    runner.stop();
  }

  @Test
  @Override
  public void optional_restartedRunnerIsReachableAtTheSameEndpoint() throws Exception {
    requires(Capability.RESTART_AT_SAME_ENDPOINT);
    RunnerHandle runner = deploy(Kind.MAIN);
    URI endpoint = runner.endpoint();
    Caller caller = setUp(connect(runner));
    assertThat(succeed(caller, "tick").value()).contains(Variant.ofLong(1));
    runner.stop();
    caller.call("tick", Arguments.none(), UNREACHABLE).failure(TransportException.Kind.UNAVAILABLE);
    runner.restart();
    trackClassLoader(runner, "restarted " + endpoint);
    assertThat(runner.endpoint()).as("endpoint after restart").isEqualTo(endpoint);
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    Outcome<Reply> setup = caller.setup(BASE, Arguments.none(), QUICK);
    while (!setup.answered() && System.nanoTime() < deadline) {
      assertThat(setup.failureOrNull().kind())
          .as("failure while the connection reconnects: %s", setup)
          .isIn(TransportException.Kind.UNAVAILABLE, TransportException.Kind.CANCELLED);
      Thread.sleep(100);
      setup = caller.setup(BASE, Arguments.none(), QUICK);
    }
    expect(setup, StatusCode.SUCCESS, StatusMessages.INSTANCE_CREATED);
    assertThat(succeed(caller, "tick").value())
        .as("tick() on the restarted runner: fresh state")
        .contains(Variant.ofLong(1));
    Caller fresh = connect(runner);
    expect(
        fresh.setup(BASE, Arguments.none(), QUICK),
        StatusCode.SUCCESS,
        StatusMessages.INSTANCE_EXISTS);
  }

  @Test
  @Override
  public void required_oneTransportServesManyModels() {
    List<Caller> callers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Caller caller = connect(deploy(Kind.MAIN));
      expect(
          caller.setup(BASE, args(Variant.ofString("m" + i)), QUICK),
          StatusCode.SUCCESS,
          StatusMessages.INSTANCE_CREATED);
      callers.add(caller);
    }
    List<Pending<Reply>> names = new ArrayList<>();
    for (Caller caller : callers) {
      names.add(caller.sendCall("name", Arguments.none(), QUICK));
    }
    for (int i = 0; i < names.size(); i++) {
      assertThat(names.get(i).await().value())
          .as("answer to %s", names.get(i).what())
          .isEqualTo(Reply.success(Variant.ofString("m" + i)));
    }
    expect(callers.get(1).reset(QUICK), StatusCode.SUCCESS, StatusMessages.INSTANCE_RESET);
    expect(
        callers.get(1).call("name", Arguments.none(), QUICK),
        StatusCode.FAILED_PRECONDITION,
        StatusMessages.SETUP_NOT_CALLED);
    assertThat(succeed(callers.get(0), "name").value()).contains(Variant.ofString("m0"));
    assertThat(succeed(callers.get(2), "name").value()).contains(Variant.ofString("m2"));
  }

  @Test
  @Override
  public void required_connectRejectsForeignSchemes() {
    ModelTransport transport = transport();
    assertThatThrownBy(() -> transport.connect(URI.create("conformance-no-such-scheme://nowhere")))
        .as("connect() to an endpoint whose scheme the transport does not serve")
        .isInstanceOf(IllegalArgumentException.class);
  }

  // ---------------------------------------------------------------------------------------------
  // Resources

  @Test
  @Override
  public void required_closingReleasesThreads() {
    ModelTransport transport = newTransport(TransportSettings.defaults());
    RunnerHandle first = deploy(Kind.MAIN);
    RunnerHandle second = deploy(Kind.MAIN);
    Caller a = setUp(connect(transport, first));
    Caller b = setUp(connect(transport, second));
    succeed(a, "tick");
    succeed(b, "tick");
    a.checkHealth(QUICK);
    b.call("fail", args(Variant.ofString("exercise the failure path")), QUICK).value();
    a.connection().close();
    transport.close();
    first.stop();
    second.stop();
    List<Thread> alive = ledger.awaitNewThreadsEnded(fixture.releaseTimeout());
    if (!alive.isEmpty()) {
      fail(Ledger.describeLeak(alive, fixture.releaseTimeout()));
    }
  }

  @Test
  @Override
  public void optional_stoppingTheRunnerReleasesTheSubmissionClassLoader()
      throws InterruptedException {
    requires(Capability.CLASS_LOADER_RELEASE);
    ReferenceQueue<ClassLoader> queue = new ReferenceQueue<>();
    WeakReference<ClassLoader> loader = useAndStop(queue);
    long deadline =
        System.nanoTime() + Duration.ofSeconds(10).plus(fixture.releaseTimeout()).toNanos();
    while (!loader.refersTo(null) && System.nanoTime() < deadline) {
      System.gc();
      queue.remove(100);
    }
    assertThat(loader.refersTo(null))
        .as(
            "whether the submission's class loader was collected once its runner was stopped and its"
                + " connection and transport closed (something still references the submission: a registry, a"
                + " cache, a thread, a thread-local)")
        .isTrue();
  }

  /**
   * Runs a model through a transport of its own, closes everything, and returns only a weak
   * reference.
   */
  private WeakReference<ClassLoader> useAndStop(ReferenceQueue<ClassLoader> queue) {
    ModelTransport transport = newTransport(TransportSettings.defaults());
    RunnerHandle runner = deploy(Kind.MAIN);
    WeakReference<ClassLoader> loader =
        new WeakReference<>(runner.submissionClassLoader().orElseThrow(), queue);
    Caller caller = setUp(connect(transport, runner));
    succeed(caller, "tick");
    caller
        .call(
            "echo",
            args(
                Variant.of(VariantType.JSON, "{\"a\": [1, 2.5]}".getBytes(StandardCharsets.UTF_8))),
            QUICK)
        .value();
    caller.call("fail", args(Variant.ofString("exercise the failure path")), QUICK).value();
    caller.connection().close();
    transport.close();
    runner.stop();
    ledger.forget(caller.connection());
    ledger.forget(transport);
    ledger.forget(runner);
    if (defaultTransport == transport) {
      defaultTransport = null;
    }
    return loader;
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private void requires(Capability capability) {
    assumeTrue(
        fixture.capabilities().contains(capability),
        () -> "skipped: the fixture does not declare the capability " + capability);
  }

  private Duration tolerance() {
    return fixture.timingTolerance();
  }

  /**
   * How long a slow model sleeps: longer than a short call's timeout plus the tolerance, with a
   * margin.
   */
  private long slowMillis() {
    return SHORT.plus(tolerance()).toMillis() + 500;
  }

  /** How long a held call runs while the rules check what happens meanwhile. */
  private long holdMillis() {
    return tolerance().toMillis() + 500;
  }

  /** The transport of the test with the default settings, created on first use. */
  private ModelTransport transport() {
    if (defaultTransport == null) {
      defaultTransport = newTransport(TransportSettings.defaults());
    }
    return defaultTransport;
  }

  private ModelTransport newTransport(TransportSettings settings) {
    ModelTransport transport = fixture.createTransport(settings);
    assertThat(transport).as("fixture.createTransport(%s)", settings).isNotNull();
    return ledger.track(transport);
  }

  private RunnerHandle deploy(Kind kind) {
    return deploy(kind, TransportSettings.DEFAULT_MAX_MESSAGE_BYTES);
  }

  private RunnerHandle deploy(Kind kind, int maxMessageBytes) {
    String name =
        "conformance-"
            + kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-')
            + "-"
            + RUNNER_NUMBERS.incrementAndGet();
    Deployment deployment =
        new Deployment(
            name, Submissions.get().folder(kind), Submissions.hostClassPath(), maxMessageBytes);
    RunnerHandle runner;
    try {
      runner = fixture.deploy(deployment);
    } catch (Exception e) {
      throw new AssertionError("fixture.deploy(" + deployment + ") failed", e);
    }
    assertThat(runner).as("fixture.deploy(%s)", deployment).isNotNull();
    ledger.track(runner);
    trackClassLoader(runner, name);
    return runner;
  }

  private void trackClassLoader(RunnerHandle runner, String name) {
    if (fixture.capabilities().contains(Capability.CLASS_LOADER_RELEASE)) {
      ledger.trackLoader(
          name,
          runner
              .submissionClassLoader()
              .orElseThrow(
                  () ->
                      new AssertionError(
                          "The fixture declares CLASS_LOADER_RELEASE, but the runner "
                              + name
                              + " exposes no submissionClassLoader()")));
    }
  }

  private Caller connect(RunnerHandle runner) {
    return connect(transport(), runner);
  }

  /** Opens another connection to the runner of {@code caller}, through the same transport. */
  private Caller connect(Caller caller) {
    return connect(caller.transport(), caller.connection().endpoint());
  }

  private Caller connect(ModelTransport transport, RunnerHandle runner) {
    return connect(transport, runner.endpoint());
  }

  private Caller connect(ModelTransport transport, URI endpoint) {
    ModelConnection connection = transport.connect(endpoint);
    assertThat(connection).as("connect(%s)", endpoint).isNotNull();
    ledger.track(connection);
    return new Caller(endpoint.toString(), transport, connection, tolerance());
  }

  /** Deploys the main model behind a new runner, connects to it and sets it up. */
  private Caller mainModel() {
    return setUp(connect(deploy(Kind.MAIN)));
  }

  private static Caller setUp(Caller caller) {
    expect(
        caller.setup(BASE, Arguments.none(), QUICK),
        StatusCode.SUCCESS,
        StatusMessages.INSTANCE_CREATED);
    return caller;
  }

  /** Calls a method without arguments and checks that it succeeded. */
  private static Reply succeed(Caller caller, String method) {
    Reply reply = caller.call(method, Arguments.none(), QUICK).value();
    assertThat(reply.status())
        .as("status of %s() on %s", method, caller)
        .isEqualTo(Status.of(StatusCode.SUCCESS, ""));
    return reply;
  }

  private static Reply expect(Outcome<Reply> outcome, StatusCode code, String message) {
    Reply reply = outcome.value();
    assertThat(reply.status()).as("status of %s", outcome).isEqualTo(Status.of(code, message));
    return reply;
  }

  /** After a request failed, the runner still answers with its instance. */
  private static void assertKeepsServing(Caller caller, long expectedTick) {
    assertThat(succeed(caller, "tick").value())
        .as("tick() after the failure: the runner kept its instance")
        .contains(Variant.ofLong(expectedTick));
    expect(
        caller.setup(BASE, Arguments.none(), QUICK),
        StatusCode.SUCCESS,
        StatusMessages.INSTANCE_EXISTS);
  }

  /**
   * A held call that runs on the runner, and the BUSY rejection of a request that overlapped it.
   */
  private record Held(Pending<Reply> running, TransportException busy) {}

  /**
   * Sends a call of {@code caller} that holds the runner for {@code holdMillis}, then quick calls
   * of {@code prober}, one at a time, until one is rejected as BUSY while the held call runs. The
   * requests travel on their own streams (and connections), so the first quick call may reach the
   * model before the held one, which is then rightly rejected as BUSY itself: the held call is sent
   * again (at most three times in all) rather than taken for a runner that does not reject
   * overlaps.
   */
  private Held holdWhileProbing(Caller caller, Caller prober, long holdMillis)
      throws InterruptedException {
    for (int attempt = 1; ; attempt++) {
      Pending<Reply> running =
          caller.sendCall("work", args(Variant.ofLong(holdMillis)), QUICK.plusMillis(holdMillis));
      while (!running.isDone()) {
        Outcome<Reply> probe = prober.call("work", args(Variant.ofLong(0)), QUICK);
        if (!probe.answered()) {
          TransportException busy = probe.failure(TransportException.Kind.BUSY);
          if (!running.isDone()) {
            return new Held(running, busy);
          }
          break;
        }
        Thread.sleep(POLL_MILLIS);
      }
      Outcome<Reply> ended = running.await();
      TransportException lost = ended.failureOrNull();
      if (attempt == 3 || lost == null || lost.kind() != TransportException.Kind.BUSY) {
        throw new AssertionError(
            "No request was rejected as BUSY while "
                + running.what()
                + " ran (it ended as "
                + ended
                + ", attempt "
                + attempt
                + "): a request that reaches a runner while another runs must fail at once with"
                + " BUSY (\"Server busy\"), not wait for it");
      }
    }
  }

  /**
   * Polls with quick calls until the runner is no longer busy (a held or hung model call has
   * returned).
   */
  private void awaitIdle(Caller caller, Duration bound) throws InterruptedException {
    long deadline = System.nanoTime() + bound.toNanos();
    while (true) {
      Outcome<Reply> probe = caller.call("work", args(Variant.ofLong(0)), QUICK);
      if (probe.answered()) {
        assertThat(probe.value())
            .as("a call once the runner is idle again")
            .isEqualTo(Reply.success(Variant.ofLong(0)));
        return;
      }
      probe.failure(TransportException.Kind.BUSY);
      if (System.nanoTime() > deadline) {
        fail(
            "The runner still answered BUSY "
                + bound.toMillis()
                + " ms later: it did not serve again after"
                + " the model call returned");
      }
      Thread.sleep(POLL_MILLIS);
    }
  }

  private static String joined(Caller caller, List<Argument> positional) {
    return succeedWith(caller, "join", Arguments.of(positional, List.of())).asString();
  }

  private static String paired(
      Caller caller, List<Argument> positional, List<KeywordArgument> keyword) {
    return succeedWith(caller, "pair", Arguments.of(positional, keyword)).asString();
  }

  private static Variant succeedWith(Caller caller, String method, Arguments arguments) {
    Reply reply = caller.call(method, arguments, QUICK).value();
    assertThat(reply.status())
        .as("status of %s(%s)", method, arguments)
        .isEqualTo(Status.of(StatusCode.SUCCESS, ""));
    return reply.value().orElseThrow(() -> new AssertionError(method + " returned no value"));
  }

  private static Argument arg(int position, String value) {
    return new Argument(position, Variant.ofString(value));
  }

  private static KeywordArgument kw(String keyword, String value) {
    return new KeywordArgument(keyword, Variant.ofString(value));
  }

  private static Arguments args(Variant... values) {
    Arguments.Builder builder = Arguments.builder();
    for (Variant value : values) {
      builder.add(value);
    }
    return builder.build();
  }

  /** A string of {@code size} ASCII bytes that is not all the same byte. */
  private static String pattern(int size) {
    StringBuilder text = new StringBuilder(size);
    for (int i = 0; i < size; i++) {
      text.append((char) ('a' + (i * 7 + i / 26) % 26));
    }
    return text.toString();
  }

  private static String describe(Variant value) {
    int shown = Math.min(value.size(), 48);
    byte[] bytes = value.toByteArray();
    return value.type()
        + " ["
        + value.size()
        + " bytes] "
        + HexFormat.of().formatHex(bytes, 0, shown)
        + (shown < value.size() ? "…" : "");
  }
}
