package org.modelrunner.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.platform.engine.TestExecutionResult.Status;
import org.modelrunner.conformance.inprocess.InProcessFixture;

/**
 * A rule whose capability the fixture does not declare is skipped (reported as aborted by an
 * assumption), never passed; rule names and the rules interface agree.
 */
class CapabilitiesTest {
  private static final Set<String> OPTIONAL = ruleNames("optional_");

  @Test
  void optionalRulesAreSkippedWithoutTheirCapability() {
    Set<String> selected = new TreeSet<>(OPTIONAL);
    selected.add("required_setupCreatesTheInstance");
    SuiteRun run = SuiteRun.of(NoCapabilitiesSuite.class, selected);

    assertThat(run.rules(Status.ABORTED)).isEqualTo(OPTIONAL);
    for (String rule : OPTIONAL) {
      assertThat(run.message(rule))
          .as("why %s was skipped", rule)
          .contains("the fixture does not declare the capability");
    }
    assertThat(run.rules(Status.SUCCESSFUL)).containsExactly("required_setupCreatesTheInstance");
    assertThat(run.rules(Status.FAILED)).isEmpty();
  }

  @Test
  void everyRuleIsRequiredOrOptionalAndIsATestOfTheSuite() throws NoSuchMethodException {
    Set<String> rules = ruleNames("");
    assertThat(rules)
        .hasSizeGreaterThanOrEqualTo(30)
        .allMatch(name -> name.startsWith("required_") || name.startsWith("optional_"));
    for (String rule : rules) {
      assertThat(TransportConformanceSuite.class.getMethod(rule).isAnnotationPresent(Test.class))
          .as("%s is a @Test of the suite", rule)
          .isTrue();
    }
    assertThat(OPTIONAL).hasSize(7);
  }

  private static Set<String> ruleNames(String prefix) {
    return Arrays.stream(TransportRules.class.getDeclaredMethods())
        .map(java.lang.reflect.Method::getName)
        .filter(name -> name.startsWith(prefix))
        .collect(Collectors.toCollection(TreeSet::new));
  }

  /** The in-process transport, declaring no capability. */
  static class NoCapabilitiesSuite extends TransportConformanceSuite {
    @Override
    protected TransportFixture fixture() {
      return InProcessFixture.withCapabilities(Set.of());
    }
  }
}
