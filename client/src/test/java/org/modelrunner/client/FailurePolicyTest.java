package org.modelrunner.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.lang.syntax.ArchRuleDefinition;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.ValueConverter;

/** The failure policy on its own: typed kinds, counters and decisions, without a fleet. */
class FailurePolicyTest {
  private static final ValueConverter CONVERTER = ValueConverter.create();
  private static final ModelEndpoint MODEL = ModelEndpoint.of("m", URI.create("fake://m"));

  private static CallOutcome outcome(CallStatus status, CallFailure.Source source, String code) {
    CallFailure failure = source == null ? null : new CallFailure(source, code, "why");
    return new CallOutcome(MODEL, status, null, failure, 1_000, CONVERTER);
  }

  private static CallOutcome model(String code) {
    return outcome(CallStatus.FAILURE, CallFailure.Source.MODEL, code);
  }

  private static CallOutcome transport(String code) {
    return outcome(CallStatus.FAILURE, CallFailure.Source.TRANSPORT, code);
  }

  private static FleetMember member() {
    return new FleetMember(null, MODEL, FleetEvent.Kind.CONNECTED);
  }

  @Test
  void outcomesAreClassifiedByKind() {
    assertThat(FailurePolicy.classify(outcome(CallStatus.SUCCESS, null, null)))
        .isEqualTo(FailurePolicy.Kind.SUCCESS);
    assertThat(
            FailurePolicy.classify(
                outcome(CallStatus.SKIPPED, CallFailure.Source.CLIENT, "COOLDOWN")))
        .isEqualTo(FailurePolicy.Kind.NOT_COUNTED);
    assertThat(
            FailurePolicy.classify(
                outcome(CallStatus.CANCELLED, CallFailure.Source.CLIENT, "NOT_NEEDED")))
        .isEqualTo(FailurePolicy.Kind.NOT_COUNTED);
    assertThat(FailurePolicy.classify(outcome(CallStatus.TIMEOUT, null, null)))
        .isEqualTo(FailurePolicy.Kind.TIMEOUT);
    assertThat(FailurePolicy.classify(model("INVALID_ARGUMENT")))
        .isEqualTo(FailurePolicy.Kind.COORDINATOR_ERROR);
    assertThat(FailurePolicy.classify(model("FAILED_PRECONDITION")))
        .isEqualTo(FailurePolicy.Kind.LOST_INSTANCE);
    assertThat(FailurePolicy.classify(model("BAD_IMPLEMENTATION")))
        .isEqualTo(FailurePolicy.Kind.BAD_IMPLEMENTATION);
    assertThat(FailurePolicy.classify(model("MODEL_FAILED"))).isEqualTo(FailurePolicy.Kind.FAILURE);
    assertThat(FailurePolicy.classify(transport("BUSY"))).isEqualTo(FailurePolicy.Kind.BUSY);
    assertThat(FailurePolicy.classify(transport("UNAVAILABLE")))
        .isEqualTo(FailurePolicy.Kind.UNREACHABLE);
    assertThat(FailurePolicy.classify(transport("INTERNAL"))).isEqualTo(FailurePolicy.Kind.FAILURE);
  }

  @Test
  void anAuthenticationFailureDisconnectsAtOnceAsConnectionFailedWithItsReason() {
    for (String code :
        new String[] {"AUTHENTICATION_FAILED", "UNAUTHENTICATED", "CREDENTIALS_REQUIRED"}) {
      assertThat(FailurePolicy.classify(transport(code)))
          .isEqualTo(FailurePolicy.Kind.AUTHENTICATION);
      // Limits high and re-admission on: still out at once, for good, on the first one.
      FailurePolicy policy = new FailurePolicy(5, 5, true, 1, true, null);
      FailurePolicy.Decision decision = policy.apply(member(), transport(code));
      assertThat(decision).isInstanceOf(FailurePolicy.Decision.Disconnect.class);
      FailurePolicy.Decision.Disconnect disconnect = (FailurePolicy.Decision.Disconnect) decision;
      assertThat(disconnect.code()).isEqualTo(FailureCode.CONNECTION_FAILED);
      assertThat(disconnect.reason()).isEqualTo("why");
    }
    // A model's own answer with such a code is not an authentication failure.
    assertThat(FailurePolicy.classify(model("UNAUTHENTICATED")))
        .isEqualTo(FailurePolicy.Kind.FAILURE);
  }

  @Test
  void limitsAreCrossedOnTheOutcomeAfterTheLimitAndSaidOnce() {
    FailurePolicy policy = new FailurePolicy(2, 2, false, 0, false, null);
    FleetMember member = member();
    assertThat(policy.apply(member, model("MODEL_FAILED"))).isEqualTo(FailurePolicy.Decision.NONE);
    assertThat(policy.apply(member, model("MODEL_FAILED"))).isEqualTo(FailurePolicy.Decision.NONE);
    FailurePolicy.Decision third = policy.apply(member, model("MODEL_FAILED"));
    assertThat(third).isInstanceOf(FailurePolicy.Decision.Disconnect.class);
    FailurePolicy.Decision.Disconnect disconnect = (FailurePolicy.Decision.Disconnect) third;
    assertThat(disconnect.code()).isEqualTo(FailureCode.MULTIPLE_FAILED);
    assertThat(disconnect.firstCrossing()).isTrue();
    assertThat(
            ((FailurePolicy.Decision.Disconnect) policy.apply(member, model("MODEL_FAILED")))
                .firstCrossing())
        .isFalse();

    assertThat(policy.apply(member, outcome(CallStatus.SUCCESS, null, null)))
        .isEqualTo(FailurePolicy.Decision.NONE);
    assertThat(member.status().consecutiveFailures()).isZero();
  }

  @Test
  void busyAndUnreachableCountAsTimeoutsAndUnreachableIsCheckedAtOnce() {
    FailurePolicy policy = new FailurePolicy(0, 3, true, 2, false, null);
    FleetMember member = member();
    assertThat(policy.apply(member, transport("UNAVAILABLE")))
        .isInstanceOf(FailurePolicy.Decision.CheckHealth.class);
    assertThat(policy.apply(member, transport("BUSY")))
        .as("every second timeout")
        .isInstanceOf(FailurePolicy.Decision.CheckHealth.class);
    assertThat(policy.apply(member, outcome(CallStatus.TIMEOUT, null, null)))
        .isEqualTo(FailurePolicy.Decision.NONE);
    assertThat(member.status().consecutiveTimeouts()).isEqualTo(3);
    assertThat(member.status().consecutiveFailures()).isZero();
    assertThat(member.status().cooldown()).as("ceil(3 / 2)").isEqualTo(2);
    FailurePolicy.Decision fourth = policy.apply(member, outcome(CallStatus.TIMEOUT, null, null));
    assertThat(((FailurePolicy.Decision.Disconnect) fourth).code())
        .isEqualTo(FailureCode.MULTIPLE_TIMEOUT);
  }

  @Test
  void theCoordinatorsProblemsAreNotCounted() {
    FailurePolicy policy = new FailurePolicy(1, 1, true, 1, false, null);
    FleetMember member = member();
    assertThat(policy.apply(member, model("INVALID_ARGUMENT")))
        .isInstanceOf(FailurePolicy.Decision.CoordinatorError.class);
    assertThat(policy.apply(member, model("FAILED_PRECONDITION")))
        .isInstanceOf(FailurePolicy.Decision.SetUpAgain.class);
    assertThat(
            policy.apply(
                member, outcome(CallStatus.CANCELLED, CallFailure.Source.CLIENT, "NOT_NEEDED")))
        .isEqualTo(FailurePolicy.Decision.NONE);
    assertThat(member.status().consecutiveFailures()).isZero();
    assertThat(member.status().consecutiveTimeouts()).isZero();
    assertThat(
            ((FailurePolicy.Decision.Disconnect) policy.apply(member, model("BAD_IMPLEMENTATION")))
                .code())
        .isEqualTo(FailureCode.BAD_IMPLEMENTATION);
  }

  @Test
  void withReadmissionAModelOverALimitIsEjectedButABadImplementationIsOutForGood() {
    FailurePolicy policy = new FailurePolicy(1, 1, false, 0, true, null);
    FleetMember failing = member();
    policy.apply(failing, model("MODEL_FAILED"));
    FailurePolicy.Decision failed = policy.apply(failing, model("MODEL_FAILED"));
    assertThat(failed).isInstanceOf(FailurePolicy.Decision.Eject.class);
    assertThat(((FailurePolicy.Decision.Eject) failed).code())
        .isEqualTo(FailureCode.MULTIPLE_FAILED);
    FleetMember slow = member();
    policy.apply(slow, outcome(CallStatus.TIMEOUT, null, null));
    FailurePolicy.Decision timedOut = policy.apply(slow, outcome(CallStatus.TIMEOUT, null, null));
    assertThat(((FailurePolicy.Decision.Eject) timedOut).code())
        .isEqualTo(FailureCode.MULTIPLE_TIMEOUT);
    assertThat(policy.apply(member(), model("BAD_IMPLEMENTATION")))
        .isInstanceOf(FailurePolicy.Decision.Disconnect.class);
  }

  @Test
  void ejectionTimesGrowByTheMultiplierUpToTheMaximum() {
    Ejection ejection = new Ejection(true, Duration.ofSeconds(30), 2.0, Duration.ofMinutes(10));
    assertThat(ejection.time(1)).isEqualTo(Duration.ofSeconds(30));
    assertThat(ejection.time(2)).isEqualTo(Duration.ofSeconds(60));
    assertThat(ejection.time(5)).isEqualTo(Duration.ofSeconds(480));
    assertThat(ejection.time(6)).as("capped").isEqualTo(Duration.ofMinutes(10));
    assertThat(ejection.time(10_000)).isEqualTo(Duration.ofMinutes(10));
    assertThat(new Ejection(true, Duration.ofSeconds(5), 1.0, Duration.ofSeconds(5)).time(7))
        .isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void timeoutsOfMostOfAFanOutsModelsOrAfterALateTimerAreTheFleetsOwnStall() {
    FailurePolicy policy = new FailurePolicy(3, 3, true, 1, false, FailurePolicy.Stall.DEFAULT);
    long onTime = 1_000_000; // 1 ms after the deadline
    assertThat(policy.stall(3, 5, onTime)).as("more than half of 5").contains("3 of the 5 models");
    assertThat(policy.stall(2, 5, onTime)).as("not more than half").isNull();
    assertThat(policy.stall(1, 100, onTime)).as("one model").isNull();
    assertThat(policy.stall(4, 4, onTime)).as("too few models to tell").isNull();
    assertThat(policy.stall(1, 2, 600_000_000L))
        .as("a timer 600 ms late")
        .contains("ran 600 ms late");
    assertThat(policy.stall(1, 2, 400_000_000L)).as("400 ms late: within the bound").isNull();
    assertThat(policy.stall(0, 10, 10_000_000_000L)).as("no timeouts").isNull();
    assertThat(new FailurePolicy(3, 3, true, 1, false, null).stall(10, 10, 10_000_000_000L))
        .as("the guard off")
        .isNull();
  }

  @Test
  void thePolicyNeverCallsIntoTheFleet() {
    JavaClasses classes =
        new ClassFileImporter()
            .importClasses(
                FailurePolicy.class,
                FailurePolicy.Decision.class,
                FailurePolicy.Decision.Disconnect.class,
                FailurePolicy.Decision.Eject.class,
                FailurePolicy.Decision.CheckHealth.class,
                FailurePolicy.Decision.SetUpAgain.class,
                FailurePolicy.Decision.CoordinatorError.class,
                FailurePolicy.Counters.class,
                FailurePolicy.Stall.class,
                FailurePolicy.Kind.class);
    ArchRuleDefinition.noClasses()
        .should()
        .dependOnClassesThat()
        .areAssignableTo(ModelFleet.class)
        .check(classes);
  }
}
