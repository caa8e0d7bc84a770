package org.modelrunner.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.platform.engine.TestExecutionResult.Status;
import org.modelrunner.conformance.inprocess.InProcessFixture;

/**
 * The suite rejects deliberately broken transports, each by the rule made for what it breaks: the
 * suite is run (with the JUnit Platform's test kit) against wrappers of the in-process transport
 * that drop results, ignore deadlines, leak threads, mangle values, hide BUSY by retrying or ignore
 * close, and the self-test checks which rules failed and why, and that rules unrelated to the
 * breakage still pass. Each run takes only the rules its breakage targets and the unrelated ones
 * (the whole suite per broken transport took a minute).
 */
class BrokenTransportsTest {
  /**
   * Rules that never look at values returned by calls, nor depend on deadlines or on many calls.
   */
  private static final Set<String> UNRELATED =
      Set.of(
          "required_setupCreatesTheInstance",
          "required_setupWithEmptyClassNameIsInvalidArgument",
          "required_callBeforeSetupIsFailedPrecondition",
          "required_unknownMethodIsBadImplementation",
          "required_stoppedRunnerIsUnavailable",
          "required_connectRejectsForeignSchemes");

  /** The rules a run takes: those named, and the unrelated ones. */
  private static Set<String> rulesAnd(String... targeted) {
    Set<String> rules = new java.util.HashSet<>(UNRELATED);
    rules.addAll(Set.of(targeted));
    return rules;
  }

  @AfterEach
  void endLeakedThreads() throws InterruptedException {
    BrokenTransports.LeakingThreads.endLeakedThreads();
  }

  @Test
  void aTransportThatDropsResultsIsRejectedByTheCompletionRule() {
    SuiteRun run =
        SuiteRun.of(
            DroppingResultsSuite.class,
            rulesAnd(
                "required_everyRequestCompletesWithinItsTimeout",
                "required_everyValueRoundTripsByteForByte"));
    assertThat(run.rules(Status.FAILED)).contains("required_everyRequestCompletesWithinItsTimeout");
    assertThat(run.message("required_everyRequestCompletesWithinItsTimeout"))
        .contains("did not complete within its timeout");
    for (String rule : run.rules(Status.FAILED)) {
      assertThat(run.message(rule))
          .as("why %s failed", rule)
          .contains("did not complete within its timeout");
    }
    assertThat(run.rules(Status.SUCCESSFUL)).containsAll(UNRELATED);
  }

  @Test
  void aTransportThatIgnoresDeadlinesIsRejectedByTheDeadlineRules() {
    SuiteRun run =
        SuiteRun.of(
            IgnoringDeadlinesSuite.class,
            rulesAnd(
                "required_slowCallFailsWithDeadlineExceeded",
                "required_hungModelDoesNotDelayAnotherModel"));
    assertThat(run.rules(Status.FAILED))
        .contains(
            "required_slowCallFailsWithDeadlineExceeded",
            "required_hungModelDoesNotDelayAnotherModel");
    assertThat(run.message("required_slowCallFailsWithDeadlineExceeded"))
        .contains("did not complete within its timeout of 300 ms plus the tolerance of 500 ms");
    assertThat(run.rules(Status.SUCCESSFUL)).containsAll(UNRELATED);
  }

  @Test
  void aTransportThatLeaksThreadsIsRejectedByTheThreadRule() {
    SuiteRun run =
        SuiteRun.of(LeakingThreadsSuite.class, rulesAnd("required_closingReleasesThreads"));
    assertThat(run.rules(Status.FAILED)).contains("required_closingReleasesThreads");
    assertThat(run.message("required_closingReleasesThreads"))
        .contains("still run")
        .contains("'" + BrokenTransports.LeakingThreads.THREAD_PREFIX);
    // Every other rule that opened a connection fails too, by the check that runs after each test.
    for (String rule : run.rules(Status.FAILED)) {
      assertThat(run.message(rule))
          .as("why %s failed", rule)
          .contains(BrokenTransports.LeakingThreads.THREAD_PREFIX);
    }
    assertThat(run.message("required_setupCreatesTheInstance"))
        .contains("Resources were not released");
  }

  @Test
  void aTransportThatManglesValuesIsRejectedByTheRoundTripRule() {
    SuiteRun run =
        SuiteRun.of(
            ManglingValuesSuite.class, rulesAnd("required_everyValueRoundTripsByteForByte"));
    assertThat(run.rules(Status.FAILED)).contains("required_everyValueRoundTripsByteForByte");
    assertThat(run.message("required_everyValueRoundTripsByteForByte"))
        .contains("did not come back byte for byte")
        .contains(
            "variants/double_one_and_half (positional): sent DOUBLE [8 bytes] 000000000000f83f, received"
                + " DOUBLE [8 bytes] 010000000000f83f");
    assertThat(run.rules(Status.SUCCESSFUL))
        .containsAll(
            Set.of(
                "required_setupWithEmptyClassNameIsInvalidArgument",
                "required_callBeforeSetupIsFailedPrecondition",
                "required_unknownMethodIsBadImplementation",
                "required_connectRejectsForeignSchemes"));
  }

  @Test
  void aTransportThatHidesBusyIsRejectedByTheBusyRule() {
    SuiteRun run =
        SuiteRun.of(
            RetryingWhenBusySuite.class,
            Set.of(
                "required_overlappingCallIsRejectedAsBusy",
                "required_callsToOneModelNeverOverlap",
                "required_setupCreatesTheInstance"));
    assertThat(run.rules(Status.FAILED))
        .containsExactly("required_overlappingCallIsRejectedAsBusy");
    assertThat(run.message("required_overlappingCallIsRejectedAsBusy"))
        .contains("No request was rejected as BUSY");
  }

  @Test
  void aConnectionThatIgnoresCloseIsRejectedByTheCancellationRule() {
    SuiteRun run =
        SuiteRun.of(
            IgnoringConnectionCloseSuite.class,
            Set.of(
                "required_closingAConnectionCancelsItsRequests",
                "required_closingTheTransportClosesItsConnections",
                "required_setupCreatesTheInstance"));
    assertThat(run.rules(Status.FAILED))
        .containsExactly("required_closingAConnectionCancelsItsRequests");
    assertThat(run.message("required_closingAConnectionCancelsItsRequests"))
        .contains("it should have failed with TransportException CANCELLED");
  }

  /** The suite against a transport that loses one call result in twenty. */
  static class DroppingResultsSuite extends TransportConformanceSuite {
    @Override
    protected TransportFixture fixture() {
      return InProcessFixture.breaking(BrokenTransports.DroppingResults::new);
    }
  }

  /** The suite against a transport that waits for calls however long they take. */
  static class IgnoringDeadlinesSuite extends TransportConformanceSuite {
    @Override
    protected TransportFixture fixture() {
      return InProcessFixture.breaking(BrokenTransports.IgnoringDeadlines::new);
    }
  }

  /** The suite against a transport that starts a thread per connection and never stops it. */
  static class LeakingThreadsSuite extends TransportConformanceSuite {
    @Override
    protected TransportFixture fixture() {
      return InProcessFixture.breaking(
          BrokenTransports.LeakingThreads::new, Duration.ofMillis(300));
    }
  }

  /** The suite against a transport that flips a bit of every returned value. */
  static class ManglingValuesSuite extends TransportConformanceSuite {
    @Override
    protected TransportFixture fixture() {
      return InProcessFixture.breaking(BrokenTransports.ManglingValues::new);
    }
  }

  /** The suite against a transport that retries calls rejected as BUSY. */
  static class RetryingWhenBusySuite extends TransportConformanceSuite {
    @Override
    protected TransportFixture fixture() {
      return InProcessFixture.breaking(BrokenTransports.RetryingWhenBusy::new);
    }
  }

  /** The suite against a transport whose connections ignore close(). */
  static class IgnoringConnectionCloseSuite extends TransportConformanceSuite {
    @Override
    protected TransportFixture fixture() {
      return InProcessFixture.breaking(BrokenTransports.IgnoringConnectionClose::new);
    }
  }
}
