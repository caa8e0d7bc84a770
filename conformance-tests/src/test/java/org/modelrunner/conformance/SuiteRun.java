package org.modelrunner.conformance;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;

/**
 * Runs a subclass of the suite with the JUnit Platform's {@link EngineTestKit} and tells, rule by
 * rule, how it ended: for the self-test's assertions on which rules reject a broken transport.
 */
final class SuiteRun {
  private final String suite;
  private final Map<String, TestExecutionResult> results;

  private SuiteRun(String suite, Map<String, TestExecutionResult> results) {
    this.suite = suite;
    this.results = results;
  }

  /** Runs every rule of the suite class. */
  static SuiteRun of(Class<? extends TransportConformanceSuite> suite) {
    return run(suite, List.of(selectClass(suite)));
  }

  /** Runs the named rules of the suite class. */
  static SuiteRun of(Class<? extends TransportConformanceSuite> suite, Set<String> rules) {
    return run(
        suite, rules.stream().map(rule -> (DiscoverySelector) selectMethod(suite, rule)).toList());
  }

  private static SuiteRun run(Class<?> suite, List<DiscoverySelector> selectors) {
    EngineExecutionResults executed =
        EngineTestKit.engine("junit-jupiter")
            .selectors(selectors.toArray(DiscoverySelector[]::new))
            .execute();
    Map<String, TestExecutionResult> results = new TreeMap<>();
    for (Event event : executed.testEvents().finished().list()) {
      String rule =
          event
              .getTestDescriptor()
              .getSource()
              .filter(MethodSource.class::isInstance)
              .map(source -> ((MethodSource) source).getMethodName())
              .orElse(event.getTestDescriptor().getDisplayName());
      results.put(rule, event.getRequiredPayload(TestExecutionResult.class));
    }
    executed.containerEvents().failed().stream()
        .forEach(
            event ->
                results.put(
                    "(container) " + event.getTestDescriptor().getDisplayName(),
                    event.getRequiredPayload(TestExecutionResult.class)));
    SuiteRun run = new SuiteRun(suite.getSimpleName(), results);
    System.out.println(run.table());
    return run;
  }

  /** Returns the rules that ran, each with how it ended. */
  Map<String, TestExecutionResult> results() {
    return results;
  }

  /** Returns the rules that ended with the given status. */
  Set<String> rules(TestExecutionResult.Status status) {
    return results.entrySet().stream()
        .filter(entry -> entry.getValue().getStatus() == status)
        .map(Map.Entry::getKey)
        .collect(Collectors.toCollection(java.util.TreeSet::new));
  }

  /** Returns the message of the failure of a rule, or an empty string. */
  String message(String rule) {
    TestExecutionResult result = results.get(rule);
    if (result == null) {
      return "";
    }
    return result.getThrowable().map(SuiteRun::fullMessage).orElse("");
  }

  private static String fullMessage(Throwable error) {
    StringBuilder text = new StringBuilder(String.valueOf(error.getMessage()));
    for (Throwable suppressed : error.getSuppressed()) {
      text.append("\n[suppressed] ").append(suppressed.getMessage());
    }
    return text.toString();
  }

  /** Returns one line per rule: its status and the first line of its failure. */
  String table() {
    StringBuilder text = new StringBuilder("Conformance suite run " + suite + ":\n");
    results.forEach(
        (rule, result) -> {
          String first =
              result
                  .getThrowable()
                  .map(error -> String.valueOf(error.getMessage()).lines().findFirst().orElse(""))
                  .orElse("");
          text.append(
              String.format(
                  "  %-10s %-62s %s%n",
                  result.getStatus(),
                  rule,
                  first.length() > 160 ? first.substring(0, 160) + "…" : first));
        });
    return text.toString();
  }

  @Override
  public String toString() {
    return table();
  }
}
