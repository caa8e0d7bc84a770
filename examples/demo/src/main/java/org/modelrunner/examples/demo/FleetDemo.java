package org.modelrunner.examples.demo;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.modelrunner.client.CallOutcome;
import org.modelrunner.client.FanOut;
import org.modelrunner.client.FanOutResult;
import org.modelrunner.client.ModelFleet;
import org.modelrunner.client.ModelStatus;
import org.modelrunner.examples.tracker.LastValueTracker;
import org.modelrunner.examples.tracker.Prediction;
import org.modelrunner.examples.tracker.Tick;
import org.modelrunner.examples.tracker.TrackerBase;
import org.modelrunner.fleetpage.FleetPage;
import org.modelrunner.spi.ValueConversionException;
import org.modelrunner.transport.inprocess.InProcessModels;
import org.modelrunner.transport.inprocess.InProcessRunner;

/**
 * The demo's core: builds a {@link ModelFleet} over the in-process registry, registers each
 * submission with it (each loaded in a class loader of its own), waits until every model is set up
 * or refused, then runs the rounds (a {@code tick} fan-out, then a {@code predict} fan-out),
 * drawing the view after each; serves the fleet's live page meanwhile if asked. Closes the page,
 * the fleet and the runners before it returns.
 */
final class FleetDemo {
  /**
   * The fleet's failure limits: the client's defaults, spelled out because the view states them.
   */
  static final int MAX_CONSECUTIVE_FAILURES = 3;

  static final int MAX_CONSECUTIVE_TIMEOUTS = 3;

  static final String BASE_CLASS = TrackerBase.class.getName();

  private final DemoSettings settings;
  private final Map<String, Path> submissions;
  private final PrintStream out;
  private final FleetView view;

  FleetDemo(DemoSettings settings, Map<String, Path> submissions, PrintStream out) {
    this.settings = settings;
    this.submissions = new LinkedHashMap<>(submissions);
    this.out = out;
    this.view = new FleetView(settings, this.submissions);
  }

  /**
   * Runs the demo.
   *
   * @throws InterruptedException if the thread is interrupted; the fleet and runners are closed
   *     first
   * @throws IllegalStateException if a model is already registered under one of the names
   * @throws PageUnavailableException if the settings ask for the fleet's page and its port cannot
   *     be bound
   */
  DemoReport run() throws InterruptedException {
    List<InProcessRunner> runners = new ArrayList<>();
    try {
      return runFleet(runners);
    } finally {
      for (int i = runners.size() - 1; i >= 0; i--) {
        runners.get(i).close();
      }
      out.println("Closed the fleet and the " + runners.size() + " runners.");
      out.flush();
    }
  }

  /** Runs the fleet; the runners it registers go to {@code runners}, for the caller to close. */
  private DemoReport runFleet(List<InProcessRunner> runners) throws InterruptedException {
    EventLog events = new EventLog();
    try (ModelFleet fleet =
            ModelFleet.builder()
                .directory(InProcessModels.directory())
                .baseClass(BASE_CLASS)
                .callTimeout(settings.callTimeout())
                .maxConsecutiveFailures(MAX_CONSECUTIVE_FAILURES)
                .maxConsecutiveTimeouts(MAX_CONSECUTIVE_TIMEOUTS)
                .listener(events)
                .build();
        FleetPage page = startPage(fleet)) {
      if (page != null) {
        view.page(page.uri());
      }
      // The submissions are registered once the fleet (and its page) follow the registry: each
      // model joins through the registry's event, and the page sees every event from the first.
      for (Map.Entry<String, Path> submission : submissions.entrySet()) {
        runners.add(
            InProcessModels.submission(submission.getKey(), submission.getValue()).register());
      }
      boolean setUp = events.awaitSetUp(submissions.keySet(), settings.setupTimeout());
      List<ModelStatus> setupStatuses = fleet.models();
      out.print(view.setup(setUp, setupStatuses, events.entries()));
      out.flush();

      RandomWalk walk = new RandomWalk(settings.seed());
      Scoreboard scores = new Scoreboard();
      LastValueTracker benchmark = new LastValueTracker();
      List<Round> rounds = new ArrayList<>();
      long start = System.nanoTime();
      for (int number = 1; number <= settings.rounds(); number++) {
        long roundStart = System.nanoTime();
        events.round(number);
        Tick tick = walk.next();
        scores.observe(tick.price());

        FanOutResult ticks = fleet.callAndWait(FanOut.of("tick", tick));
        FanOutResult predictions = fleet.callAndWait(FanOut.of("predict"));

        Map<String, Prediction> predicted = new LinkedHashMap<>();
        for (CallOutcome outcome : predictions.successes()) {
          try {
            Prediction prediction = outcome.as(Prediction.class);
            if (prediction != null) {
              predicted.put(outcome.modelId(), prediction);
              scores.predicted(outcome.modelId(), prediction.price());
            }
          } catch (ValueConversionException e) {
            // A model that answers something that is not a Prediction: no score, the view shows
            // "-".
          }
        }
        benchmark.tick(tick);
        Prediction benchmarkPrediction = benchmark.predict();
        scores.predicted(FleetView.BENCHMARK, benchmarkPrediction.price());

        // Wait out the round's interval (a coordinator's tick rate): the fleet applies what this
        // round
        // caused (a disconnection, say) meanwhile, so the view drawn next is up to date.
        sleepUntil(roundStart + settings.interval().toNanos());

        Map<String, Double> errors = scores.meanAbsoluteErrors();
        Double benchmarkError = errors.remove(FleetView.BENCHMARK);
        Round round =
            new Round(
                number,
                tick,
                ticks,
                predictions,
                predicted,
                fleet.models(),
                errors,
                benchmarkPrediction,
                benchmarkError == null ? Double.NaN : benchmarkError);
        rounds.add(round);
        out.print(view.round(round, events.removals()));
        out.flush();
      }
      Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
      DemoReport report =
          new DemoReport(
              setUp, setupStatuses, List.copyOf(rounds), events.entries(), fleet.models(), elapsed);
      out.print(view.summary(report, events.removals()));
      out.flush();
      return report;
    }
  }

  /**
   * Starts the fleet's live page if the settings ask for one (closed with the fleet, when the demo
   * ends); returns null otherwise.
   *
   * @throws PageUnavailableException if the port cannot be bound
   */
  private FleetPage startPage(ModelFleet fleet) {
    if (settings.pagePort().isEmpty()) {
      return null;
    }
    int port = settings.pagePort().getAsInt();
    try {
      return FleetPage.builder(fleet).port(port).start();
    } catch (IOException e) {
      throw new PageUnavailableException(
          "Cannot serve the fleet's page on 127.0.0.1 port " + port + ": " + e.getMessage(), e);
    }
  }

  /** The page asked for cannot be served (its port is taken, say). */
  static final class PageUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    PageUnavailableException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private static void sleepUntil(long nanoTime) throws InterruptedException {
    long left = nanoTime - System.nanoTime();
    if (left > 0) {
      TimeUnit.NANOSECONDS.sleep(left);
    }
  }
}
