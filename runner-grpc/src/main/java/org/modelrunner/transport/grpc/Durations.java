package org.modelrunner.transport.grpc;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.modelrunner.loader.RunnerCore;

/** Reading and writing the durations of the runner's options. */
final class Durations {
  private static final Pattern AMOUNT =
      Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)\\s*(ms|s|m|h)?", Pattern.CASE_INSENSITIVE);

  private Durations() {}

  /**
   * Parses a duration: a number of seconds ({@code "2.5"}), a number with a unit ({@code "250ms"},
   * {@code "2s"}, {@code "5m"}, {@code "1h"}) or an ISO-8601 duration ({@code "PT2.5S"}).
   *
   * @throws IllegalArgumentException if the text is none of these, or negative
   */
  static Duration parse(String text) {
    String value = text.strip();
    if (value.regionMatches(true, 0, "P", 0, 1)) {
      try {
        Duration duration = Duration.parse(value.toUpperCase(Locale.ROOT));
        if (duration.isNegative()) {
          throw new IllegalArgumentException("'" + text + "' is negative");
        }
        return duration;
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException("'" + text + "' is not a duration", e);
      }
    }
    Matcher matcher = AMOUNT.matcher(value);
    if (!matcher.matches()) {
      throw new IllegalArgumentException(
          "'" + text + "' is not a duration (seconds such as 2.5, or 250ms, 2s, 5m, 1h, PT2S)");
    }
    BigDecimal amount = new BigDecimal(matcher.group(1));
    String unit = matcher.group(2) == null ? "s" : matcher.group(2).toLowerCase(Locale.ROOT);
    BigDecimal nanosPerUnit =
        switch (unit) {
          case "ms" -> BigDecimal.valueOf(1_000_000L);
          case "m" -> BigDecimal.valueOf(60_000_000_000L);
          case "h" -> BigDecimal.valueOf(3_600_000_000_000L);
          default -> BigDecimal.valueOf(1_000_000_000L);
        };
    try {
      return Duration.ofNanos(amount.multiply(nanosPerUnit).toBigInteger().longValueExact());
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("'" + text + "' is too long", e);
    }
  }

  /** Returns the duration for humans: {@code 250 ms}, {@code 2.5 s}, {@code 10 s}. */
  static String describe(long nanos) {
    return RunnerCore.describe(nanos);
  }

  static String describe(Duration duration) {
    return describe(saturatedNanos(duration));
  }

  static long saturatedNanos(Duration duration) {
    try {
      return duration.toNanos();
    } catch (ArithmeticException e) {
      return duration.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
  }
}
