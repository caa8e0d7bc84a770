package org.modelrunner.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A benchmark's JVM leaves nothing behind: its work folder is deleted when it ends well and kept
 * (and named) when it fails, and the processes it started do not outlive it, even when a signal
 * stops it. Each case runs {@link Child} in a JVM of its own.
 */
class WorkDirectoryTest {
  @TempDir Path scratch;

  private final List<Path> leftovers = new ArrayList<>();
  private final List<Long> servers = new ArrayList<>();

  @AfterEach
  void deleteWhatTheChildrenLeftAndStopTheirServers() throws IOException {
    for (Path path : leftovers) {
      WorkDirectory.delete(path);
    }
    for (long server : servers) { // left running only when a test fails
      ProcessHandle.of(server).ifPresent(ProcessHandle::destroyForcibly);
    }
  }

  @Test
  void aRunThatEndsWellDeletesItsWorkFolder() throws Exception {
    Run run = run("ok");

    assertThat(run.exitCode).isZero();
    assertThat(run.work).doesNotExist();
  }

  @Test
  void aRunThatFailsKeepsItsWorkFolderAndNamesIt() throws Exception {
    Run run = run("fail");

    assertThat(run.exitCode).isNotZero();
    assertThat(run.work.resolve("server.log")).exists();
    assertThat(run.errors)
        .contains("Work folder kept: " + run.work)
        .contains("IllegalStateException: the benchmark failed");
  }

  @Test
  void keepTrueKeepsTheFolderOfARunThatEndsWell() throws Exception {
    Run run = run("ok", "-Dkeep=true");

    assertThat(run.exitCode).isZero();
    assertThat(run.work).isDirectory();
  }

  @Test
  void aBenchmarkStoppedBySigtermTakesItsServerProcessesWithIt() throws Exception {
    Path work = stopBySigtermAndCheckTheServerIsGone("hang");

    assertThat(work).doesNotExist();
  }

  @Test
  void serverProcessesEndWithTheJvmThatStartedThemEvenWithoutAWorkFolder() throws Exception {
    Path log = stopBySigtermAndCheckTheServerIsGone("hang-bare");

    assertThat(log).isRegularFile(); // no work folder: the log is the test's to delete
  }

  /** Runs the child in {@code mode}, stops it once it hangs; returns the path it printed. */
  private Path stopBySigtermAndCheckTheServerIsGone(String mode) throws Exception {
    Path out = scratch.resolve("out-" + mode + ".txt");
    Process child = start(out, List.of(), mode);
    String[] lines = awaitLines(out, child, 2);
    Path printed = Path.of(lines[0]);
    leftovers.add(printed); // deleted after the test if still there
    long server = Long.parseLong(lines[1]);
    servers.add(server);
    assertThat(ProcessHandle.of(server).map(ProcessHandle::isAlive)).contains(true);

    child.destroy(); // SIGTERM
    assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();

    assertThat(ProcessHandle.of(server).map(ProcessHandle::isAlive).orElse(false))
        .as("the server process after its benchmark's JVM ended")
        .isFalse();
    return printed;
  }

  private Run run(String mode, String... options) throws Exception {
    Path out = scratch.resolve("out-" + mode + ".txt");
    Process child = start(out, List.of(options), mode);
    assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String[] lines = Files.readString(out, StandardCharsets.UTF_8).split("\n");
    Path errors = scratch.resolve("out-" + mode + ".txt.err");
    Path work = Path.of(lines[0]);
    leftovers.add(work); // deleted after the test if still there
    return new Run(child.exitValue(), work, Files.readString(errors, StandardCharsets.UTF_8));
  }

  private Process start(Path out, List<String> options, String mode) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(options);
    command.addAll(
        List.of("-cp", System.getProperty("java.class.path"), Child.class.getName(), mode));
    return new ProcessBuilder(command)
        .redirectOutput(out.toFile())
        .redirectError(Path.of(out + ".err").toFile())
        .start();
  }

  /** Waits until the child has printed {@code count} whole lines (it prints them, then hangs). */
  private static String[] awaitLines(Path out, Process child, int count) {
    return await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> {
              assertThat(child.isAlive()).as("the child still runs").isTrue();
              String text = Files.readString(out, StandardCharsets.UTF_8);
              int end = text.lastIndexOf('\n');
              return end < 0 ? new String[0] : text.substring(0, end).split("\n");
            },
            lines -> lines.length >= count);
  }

  private record Run(int exitCode, Path work, String errors) {}

  /**
   * A benchmark in miniature: makes its work folder, starts a server process (a {@code sleep})
   * whose log is in it, prints the folder and the server's process id, then ends well ({@code ok}),
   * throws ({@code fail}) or waits until it is stopped ({@code hang}); or, with no work folder,
   * starts the server with its log in a temporary file, prints the file and the server's process id
   * and waits ({@code hang-bare}).
   */
  public static final class Child {
    private Child() {}

    /** Runs the miniature benchmark in the mode given as the one argument. */
    public static void main(String[] args) throws Exception {
      Path work =
          args[0].equals("hang-bare")
              ? Files.createTempFile("modelrunner-work-directory-test", ".log")
              : WorkDirectory.create("modelrunner-work-directory-test");
      Process server =
          Processes.start(
              List.of("sleep", "600"), Files.isDirectory(work) ? work.resolve("server.log") : work);
      System.out.println(work);
      System.out.println(server.pid());
      System.out.flush();
      switch (args[0]) {
        case "ok" -> Processes.stop(List.of(server));
        case "fail" -> throw new IllegalStateException("the benchmark failed");
        default -> Thread.currentThread().join(); // until a signal stops the JVM
      }
    }
  }
}
