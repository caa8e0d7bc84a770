package org.modelrunner.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The library's performance goals (the README's "Performance goals"), checked against one run's
 * figures: a benchmark adds each goal it measures as it goes, and prints them together at the end,
 * each with this run's figure, the goal, whether this run met it, and what the baseline measured in
 * the same run did beside it. One run decides nothing on a noisy machine: the lines say what this
 * run measured, no more.
 */
final class Goals {
  private final List<String> lines = new ArrayList<>();

  /**
   * A ratio of ours to a baseline measured in the same run, at most {@code limit}; {@code beside}
   * says what else the reader needs (the figures compared, another baseline).
   */
  void ratio(String goal, double ours, double baseline, double limit, String beside) {
    add(goal, ours / baseline, limit, "×", beside);
  }

  /**
   * A ratio of ours to a baseline measured in the same run, at most {@code limit}, with both
   * figures (in {@code unit}) beside it.
   */
  void compare(String goal, double ours, double baseline, double limit, String unit) {
    ratio(
        goal,
        ours,
        baseline,
        limit,
        "(" + format(ours) + " against " + format(baseline) + " " + unit + ")");
  }

  /** A time in milliseconds, at most {@code limit}. */
  void millis(String goal, double millis, double limit, String beside) {
    add(goal, millis, limit, " ms", beside);
  }

  private void add(String goal, double value, double limit, String unit, String beside) {
    lines.add(
        String.format(
            Locale.ROOT,
            "  %-84s %9s  ≤ %-8s %-8s %s",
            goal,
            format(value) + unit,
            format(limit) + unit,
            Double.isNaN(value) ? "unknown" : value <= limit ? "met" : "not met",
            beside));
  }

  private static String format(double value) {
    return Double.isNaN(value)
        ? "n/a"
        : String.format(Locale.ROOT, value >= 100 ? "%.0f" : "%.2f", value);
  }

  /** Prints the goals added so far, if any, under a heading. */
  void print() {
    if (lines.isEmpty()) {
      return;
    }
    System.out.printf(Locale.ROOT, "%nPerformance goals, as this run measured them:%n");
    lines.forEach(System.out::println);
  }
}
