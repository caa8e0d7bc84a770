package org.modelrunner.examples.demo;

import java.net.URI;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.modelrunner.client.CallOutcome;
import org.modelrunner.client.CallStatus;
import org.modelrunner.client.FleetEvent;
import org.modelrunner.client.ModelStatus;
import org.modelrunner.examples.tracker.LastValueTracker;
import org.modelrunner.examples.tracker.Prediction;

/**
 * Draws the demo's plain-text view: the setup, then one table per round, then a summary. ASCII
 * only.
 */
final class FleetView {
  /** The scoreboard's id of the benchmark. */
  static final String BENCHMARK = "(benchmark)";

  private static final String CLEAR_SCREEN = "\033[H\033[2J";
  private static final String ROW = "%-9s %-13s %-8s %-8s %9s  %-17s %6s %6s %9s %9s%n";
  private static final String INDENT = "            ";

  private final DemoSettings settings;
  private final Map<String, Path> submissions;
  private String setupText = "";
  private URI page;

  FleetView(DemoSettings settings, Map<String, Path> submissions) {
    this.settings = settings;
    this.submissions = submissions;
  }

  /** Shows the address of the fleet's live page in the introduction. */
  void page(URI uri) {
    this.page = uri;
  }

  /** The introduction and how each model's setup ended. */
  String setup(boolean complete, List<ModelStatus> statuses, List<EventLog.Entry> events) {
    StringBuilder text = new StringBuilder();
    if (settings.clearScreen()) {
      text.append(CLEAR_SCREEN);
    }
    text.append(header()).append('\n');
    text.append(
        "Setup (each submission in a class loader of its own; the host provides the tracker API):\n");
    for (String id : submissions.keySet()) {
      Optional<EventLog.Entry> ended = setupEvent(events, id);
      String outcome =
          ended
              .map(
                  entry ->
                      entry.event().kind() == FleetEvent.Kind.CONNECTED
                          ? "CONNECTED"
                          : entry.event().code())
              .orElse(state(statuses, id) + " (still)");
      text.append(
          String.format(
              Locale.ROOT,
              "  %-9s %-19s %s%n",
              id,
              outcome,
              String.join(" + ", SubmissionFolders.jars(submissions.get(id)))));
      ended
          .filter(entry -> entry.event().kind() != FleetEvent.Kind.CONNECTED)
          .ifPresent(entry -> text.append(INDENT).append(entry.event().reason()).append('\n'));
    }
    if (!complete) {
      text.append("Not every model was set up within ")
          .append(millis(settings.setupTimeout()))
          .append("; going on with those that were.\n");
    }
    text.append('\n');
    setupText = text.substring(settings.clearScreen() ? CLEAR_SCREEN.length() : 0);
    return text.toString();
  }

  /** One round: the table of models, this round's problems, and who was disconnected. */
  String round(Round round, List<EventLog.Entry> removals) {
    StringBuilder text = new StringBuilder();
    if (settings.clearScreen()) {
      // The screen is redrawn: keep the introduction and the setup above the table.
      text.append(CLEAR_SCREEN).append(setupText.isEmpty() ? header() + "\n" : setupText);
    } else {
      text.append(
          "------------------------------------------------------------------------------------------\n");
    }
    text.append(
        String.format(
            Locale.ROOT,
            "Round %d of %d: tick %s at %s, price %.2f%n%n",
            round.number(),
            settings.rounds(),
            round.tick().symbol(),
            Instant.ofEpochMilli(round.tick().time()),
            round.tick().price()));
    text.append(
        String.format(
            Locale.ROOT,
            ROW,
            "model",
            "state",
            "tick",
            "predict",
            "latency",
            "prediction",
            "MAE",
            "fails",
            "timeouts",
            "ok/calls"));
    for (String id : submissions.keySet()) {
      Optional<ModelStatus> status = round.status(id);
      Optional<CallOutcome> tick = round.tickOutcome(id);
      Optional<CallOutcome> predict = round.predictOutcome(id);
      Prediction prediction = round.predicted().get(id);
      Double error = round.meanAbsoluteErrors().get(id);
      text.append(
          String.format(
              Locale.ROOT,
              ROW,
              id,
              status.map(s -> s.state().name()).orElse("UNKNOWN"),
              tick.map(o -> o.status().name()).orElse("-"),
              predict.map(o -> o.status().name()).orElse("-"),
              predict.map(o -> latency(o.latencyMicros())).orElse("-"),
              prediction == null ? "-" : prediction(prediction),
              error == null ? "-" : String.format(Locale.ROOT, "%.2f", error),
              status.map(s -> Integer.toString(s.consecutiveFailures())).orElse("-"),
              status.map(s -> Integer.toString(s.consecutiveTimeouts())).orElse("-"),
              status.map(s -> s.counts().successes() + "/" + s.counts().calls()).orElse("-")));
    }
    text.append(
        String.format(
            Locale.ROOT,
            "%nbenchmark: %s (in the API jar, run by the coordinator itself) predicts %.2f, MAE %s%n",
            LastValueTracker.class.getSimpleName(),
            round.benchmark().price(),
            Double.isNaN(round.benchmarkError())
                ? "-"
                : String.format(Locale.ROOT, "%.2f", round.benchmarkError())));

    List<String> problems = new ArrayList<>();
    for (String id : submissions.keySet()) {
      round
          .tickOutcome(id)
          .filter(o -> !o.isSuccess())
          .ifPresent(o -> problems.add(problem(id, "tick", o)));
      round
          .predictOutcome(id)
          .filter(o -> !o.isSuccess())
          .ifPresent(o -> problems.add(problem(id, "predict", o)));
    }
    if (!problems.isEmpty()) {
      text.append("\nThis round:\n");
      problems.forEach(problem -> text.append(problem).append('\n'));
    }
    if (!removals.isEmpty()) {
      text.append("\nDisconnected:\n");
      for (EventLog.Entry entry : removals) {
        text.append(
            String.format(
                Locale.ROOT,
                "  %-9s %-9s %s%n",
                entry.modelId(),
                when(entry),
                entry.event().code()));
        text.append(INDENT).append(entry.event().reason()).append('\n');
      }
    }
    text.append('\n');
    return text.toString();
  }

  /** The end of the run. */
  String summary(DemoReport report, List<EventLog.Entry> removals) {
    StringBuilder text = new StringBuilder();
    text.append(
        String.format(
            Locale.ROOT,
            "Done: %d rounds in %.1f s.%n",
            report.rounds().size(),
            report.elapsed().toMillis() / 1000.0));
    List<String> connected = new ArrayList<>();
    for (ModelStatus status : report.finalStatuses()) {
      if (status.state() == ModelStatus.State.CONNECTED) {
        connected.add(status.modelId());
      }
    }
    text.append("  still connected: ")
        .append(connected.isEmpty() ? "none" : String.join(", ", connected))
        .append('\n');
    List<String> removed = new ArrayList<>();
    for (EventLog.Entry entry : removals) {
      removed.add(entry.modelId() + " (" + entry.event().code() + ", " + when(entry) + ")");
    }
    text.append("  disconnected:    ")
        .append(removed.isEmpty() ? "none" : String.join(", ", removed))
        .append('\n');
    List<Map.Entry<String, Double>> ranking =
        new ArrayList<>(report.meanAbsoluteErrors().entrySet());
    ranking.sort(Map.Entry.comparingByValue());
    if (!ranking.isEmpty()) {
      List<String> scores = new ArrayList<>();
      for (Map.Entry<String, Double> score : ranking) {
        scores.add(String.format(Locale.ROOT, "%s %.2f", score.getKey(), score.getValue()));
      }
      Round last = report.rounds().get(report.rounds().size() - 1);
      text.append("  mean absolute error: ").append(String.join(", ", scores));
      if (!Double.isNaN(last.benchmarkError())) {
        text.append(String.format(Locale.ROOT, " (benchmark %.2f)", last.benchmarkError()));
      }
      text.append('\n');
    }
    return text.toString();
  }

  private String header() {
    String pageLine =
        page == null ? "" : "Live page of the fleet: " + page + " (served while the demo runs)\n";
    return String.format(
            Locale.ROOT,
            "Model Runner demo: %d example submissions hosted in-process, called as one fleet%n"
                + "base class %s, call timeout %s,%n"
                + "a model is disconnected after more than %d consecutive failures or %d consecutive timeouts%n",
            submissions.size(),
            FleetDemo.BASE_CLASS,
            millis(settings.callTimeout()),
            FleetDemo.MAX_CONSECUTIVE_FAILURES,
            FleetDemo.MAX_CONSECUTIVE_TIMEOUTS)
        + pageLine;
  }

  private String problem(String id, String method, CallOutcome outcome) {
    String why =
        outcome.status() == CallStatus.TIMEOUT
            ? "no answer within " + millis(settings.callTimeout())
            : outcome.failure().map(f -> f.code() + ": " + f.message()).orElse("failed");
    return String.format(Locale.ROOT, "  %-9s %-8s %-8s %s", id, method, outcome.status(), why);
  }

  private static Optional<EventLog.Entry> setupEvent(List<EventLog.Entry> events, String id) {
    return events.stream()
        .filter(entry -> entry.modelId().equals(id) && entry.round() == 0)
        .filter(entry -> entry.event().kind() != FleetEvent.Kind.LEFT)
        .findFirst();
  }

  private static String state(List<ModelStatus> statuses, String id) {
    return statuses.stream()
        .filter(s -> s.modelId().equals(id))
        .findFirst()
        .map(s -> s.state().name())
        .orElse("UNKNOWN");
  }

  private static String when(EventLog.Entry entry) {
    return entry.round() == 0 ? "at setup" : "round " + entry.round();
  }

  private static String prediction(Prediction prediction) {
    return prediction.stdDev() > 0
        ? String.format(Locale.ROOT, "%.2f +/- %.2f", prediction.price(), prediction.stdDev())
        : String.format(Locale.ROOT, "%.2f", prediction.price());
  }

  private static String latency(long micros) {
    return String.format(Locale.ROOT, "%.1f ms", micros / 1000.0);
  }

  private static String millis(java.time.Duration duration) {
    return duration.toMillis() + " ms";
  }
}
