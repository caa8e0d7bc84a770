package org.modelrunner.examples.demo;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The demo a newcomer runs first, from the project's root, after the build:
 *
 * <pre>
 * ./mvnw -B -ntp -DskipTests install &amp;&amp; java -jar examples/demo/target/model-runner-demo.jar
 * </pre>
 *
 * <p>It plays a coordinator: it hosts the five example submissions in-process (each loaded from its
 * submission folder in a class loader of its own, as a runner would), calls them as one fleet every
 * round ({@code tick} with the next point of a random walk, then {@code predict}) under a deadline,
 * and shows what happens to each: the good and heavy models answer, the slow one times out now and
 * then, the throwing one is disconnected after too many failures in a row, and the one that
 * implements nothing is refused at setup.
 */
@Command(
    name = "model-runner-demo",
    mixinStandardHelpOptions = true,
    version = "model-runner-demo 0.1.0-SNAPSHOT",
    sortOptions = false,
    description = {
      "Hosts the example submissions in-process and calls them as one fleet, round after round, under a"
          + " deadline; shows each model's outcomes, and who gets disconnected and why.",
      "Run it from the project's root after the build (./mvnw -B -ntp -DskipTests install)."
    })
public final class Demo implements Callable<Integer> {
  /**
   * Kept strongly reachable: java.util.logging holds its loggers weakly, and would drop the level.
   */
  private static final Logger LIBRARY_LOGGER = Logger.getLogger("org.modelrunner");

  @Spec private CommandSpec spec;

  @Option(
      names = "--rounds",
      defaultValue = "12",
      paramLabel = "N",
      description = "How many rounds (tick, then predict) to run. Default: ${DEFAULT-VALUE}.")
  private int rounds;

  @Option(
      names = "--timeout-ms",
      defaultValue = "500",
      paramLabel = "MS",
      description = "The fleet's call timeout, in milliseconds. Default: ${DEFAULT-VALUE}.")
  private long timeoutMillis;

  @Option(
      names = "--interval-ms",
      defaultValue = "1000",
      paramLabel = "MS",
      description =
          "The time from one round's start to the next one's, in milliseconds (the coordinator's"
              + " tick rate; keep it above 700, the slow model's slow answers). Default: ${DEFAULT-VALUE}.")
  private long intervalMillis;

  @Option(
      names = "--seed",
      defaultValue = "42",
      paramLabel = "N",
      description = "The seed of the random walk the ticks follow. Default: ${DEFAULT-VALUE}.")
  private long seed;

  @Option(
      names = "--models-dir",
      defaultValue = "examples/models",
      paramLabel = "DIR",
      description =
          "The folder that holds <model>/target/submission for each example model"
              + " (good, slow, throwing, nothing, heavy). Default: ${DEFAULT-VALUE}, from the project's root.")
  private Path modelsDir;

  @Option(
      names = "--page-port",
      paramLabel = "PORT",
      description =
          "Serve a live page of the fleet (models, counts, latency, events) on http://127.0.0.1:PORT/"
              + " while the demo runs, and print its address; 0 takes a free port. Loopback only."
              + " Add rounds to have time to look: --rounds 300.")
  private Integer pagePort;

  @Option(
      names = "--plain",
      description =
          "Print each round below the last instead of redrawing the screen (the default when the"
              + " output is not a terminal).")
  private boolean plain;

  @Option(
      names = "--verbose",
      description =
          "Also show the library's own log messages (warnings of disconnections, and so on).")
  private boolean verbose;

  /** Runs the demo; exits with 0 once the fleet and the runners are closed. */
  public static void main(String[] args) {
    System.exit(new CommandLine(new Demo()).execute(args));
  }

  @Override
  public Integer call() throws InterruptedException {
    if (rounds < 1) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--rounds must be at least 1");
    }
    if (timeoutMillis < 1) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--timeout-ms must be positive");
    }
    if (intervalMillis < 0) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--interval-ms cannot be negative");
    }
    if (pagePort != null && (pagePort < 0 || pagePort > 65_535)) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--page-port must be within 0 to 65535");
    }
    if (!verbose) {
      // The view reports every disconnection itself; the library's warnings would only break it up.
      LIBRARY_LOGGER.setLevel(Level.SEVERE);
    }
    Map<String, Path> submissions;
    try {
      submissions = SubmissionFolders.locate(modelsDir);
    } catch (SubmissionFolders.MissingSubmissionsException e) {
      spec.commandLine().getErr().println(e.getMessage());
      return 1;
    }
    DemoSettings settings =
        new DemoSettings(
            rounds,
            Duration.ofMillis(timeoutMillis),
            Duration.ofMillis(intervalMillis),
            Duration.ofSeconds(30),
            seed,
            !plain && System.console() != null,
            pagePort == null ? OptionalInt.empty() : OptionalInt.of(pagePort));
    try {
      new FleetDemo(settings, submissions, System.out).run();
    } catch (FleetDemo.PageUnavailableException e) {
      spec.commandLine().getErr().println(e.getMessage());
      return 1;
    }
    return 0;
  }
}
