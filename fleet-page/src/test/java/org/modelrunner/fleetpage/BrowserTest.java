package org.modelrunner.fleetpage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.modelrunner.fleetpage.fixtures.CountingTracker;
import org.modelrunner.fleetpage.fixtures.ThrowingTracker;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The page in a real browser: Debian's headless Chromium, driven through its chromedriver. It loads
 * the page, sees the fleet's models, and sees a fan-out's calls arrive without a reload.
 *
 * <p>Needs {@code /usr/bin/chromium} and {@code /usr/bin/chromedriver} (Debian's {@code chromium}
 * and {@code chromium-driver}; {@code .ci/run} installs them). Without them the test is skipped,
 * unless the environment variable {@code CI} is set: then it fails.
 */
@Timeout(90)
class BrowserTest {
  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  private static final Duration WAIT = Duration.ofSeconds(15);

  private TestFleet fleet;
  private FleetPage page;
  private ChromeDriverService service;
  private CompletableFuture<ChromeDriver> starting;
  private ChromeDriver browser;

  @BeforeEach
  void startTheBrowser() throws IOException {
    requireChromium();
    service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(CHROMEDRIVER.toFile())
            .usingAnyFreePort()
            .withLogFile(new File("target/chromedriver.log"))
            .build();
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--window-size=1400,900");
    // The browser starts while the test builds its fleet.
    starting = CompletableFuture.supplyAsync(() -> new ChromeDriver(service, options));
  }

  @AfterEach
  void stopEverything() {
    if (starting != null) {
      try {
        starting.join().quit();
      } catch (CompletionException e) {
        // It did not start: the test failed with the reason.
      }
    }
    if (service != null) {
      service.stop();
    }
    if (page != null) {
      page.close();
    }
    if (fleet != null) {
      fleet.close();
    }
  }

  @Test
  void thePageShowsTheModelsAndUpdatesLive() throws Exception {
    fleet = new TestFleet();
    page = FleetPage.builder(fleet.fleet).updateInterval(Duration.ofMillis(200)).start();
    fleet
        .register("browser-good", CountingTracker.class)
        .register("browser-throwing", ThrowingTracker.class);
    fleet.awaitConnected(2);

    browser = starting.join();
    browser.get(page.uri().toString());
    WebDriverWait wait = new WebDriverWait(browser, WAIT, Duration.ofMillis(50));
    wait.until(b -> text("body[data-connection='live'] #connection").equals("live"));
    wait.until(b -> !rows().isEmpty());
    assertThat(rows()).containsExactly("browser-good", "browser-throwing");
    assertThat(cell("browser-good", "state-cell")).isEqualTo("CONNECTED");
    assertThat(cell("browser-good", "calls")).isEqualTo("0");
    assertThat(cell("browser-good", "p50")).isEqualTo("-");
    // A mark that a reload would wipe out.
    script("window.fleetPageTestMark = 42;");

    fleet.tick();
    fleet.tick();
    wait.until(b -> cell("browser-good", "calls").equals("2"));
    // A push may fall between a call's sending and its answer: the success follows.
    wait.until(b -> cell("browser-good", "successes").equals("2"));
    assertThat(cell("browser-good", "p50")).matches("\\d+(\\.\\d)? (µs|ms)");
    // The failing model was disconnected after its second failure: the page says why, and shows
    // the model's error as text (its markup is not run).
    wait.until(b -> cell("browser-throwing", "state-cell").equals("DISCONNECTED"));
    // The model's last error shows at once; the event that took it out follows with the next push.
    wait.until(b -> cell("browser-throwing", "why").startsWith("DISCONNECTED MULTIPLE_FAILED"));
    assertThat(cell("browser-throwing", "why"))
        .startsWith("DISCONNECTED MULTIPLE_FAILED\n2 consecutive failures")
        .contains(ThrowingTracker.MESSAGE);
    assertThat(script("return document.querySelectorAll('td.why b').length;")).isEqualTo(0L);
    assertThat(cell("browser-throwing", "failures")).isEqualTo("2");
    wait.until(b -> text("#states").contains("DISCONNECTED"));
    assertThat(text("#states"))
        .contains("2 models")
        .contains("1 CONNECTED")
        .contains("1 DISCONNECTED");
    wait.until(b -> eventRows().size() == 3);
    assertThat(eventRows().get(0))
        .contains("DISCONNECTED")
        .contains("browser-throwing")
        .contains("MULTIPLE_FAILED");

    Object mark = script("return window.fleetPageTestMark;");
    assertThat(mark).as("no reload happened").isEqualTo(42L);

    // The filter narrows the table.
    browser.findElement(By.id("filter")).sendKeys("multiple_failed");
    wait.until(b -> rows().size() == 1);
    assertThat(rows()).containsExactly("browser-throwing");
    screenshot("fleet-page.png");
  }

  // Each read is one script, so that a redraw in between cannot leave a stale element.

  @SuppressWarnings("unchecked")
  private List<String> rows() {
    return (List<String>)
        script(
            "return Array.from(document.querySelectorAll('#models tbody tr'),"
                + " row => row.dataset.modelId);");
  }

  @SuppressWarnings("unchecked")
  private List<String> eventRows() {
    return (List<String>)
        script(
            "return Array.from(document.querySelectorAll('#events tbody tr'),"
                + " row => row.innerText);");
  }

  private String cell(String modelId, String column) {
    return text("#models tr[data-model-id='" + modelId + "'] td." + column);
  }

  private String text(String selector) {
    return (String)
        script(
            "const found = document.querySelector(arguments[0]);"
                + " return found === null ? '' : found.innerText;",
            selector);
  }

  private Object script(String script, Object... arguments) {
    return ((JavascriptExecutor) browser).executeScript(script, arguments);
  }

  private void screenshot(String name) throws IOException {
    Path shot = browser.getScreenshotAs(OutputType.FILE).toPath();
    Files.copy(shot, Path.of("target", name), StandardCopyOption.REPLACE_EXISTING);
  }

  /** Skips the test without Chromium, or fails it when the environment variable CI is set. */
  static void requireChromium() {
    List<String> missing = new ArrayList<>();
    for (Path tool : List.of(CHROMIUM, CHROMEDRIVER)) {
      if (!Files.isExecutable(tool)) {
        missing.add(tool.toString());
      }
    }
    if (missing.isEmpty()) {
      return;
    }
    String message =
        "The browser test needs "
            + String.join(" and ", missing)
            + ". Install Debian's packages: apt-get install -y chromium chromium-driver"
            + " (.ci/run installs them in CI)";
    if (System.getenv("CI") != null) {
      fail(
          message
              + ". The environment variable CI is set: the packages should be there, so this fails.");
    }
    assumeTrue(false, message + ". Skipped (the environment variable CI is not set).");
  }
}
