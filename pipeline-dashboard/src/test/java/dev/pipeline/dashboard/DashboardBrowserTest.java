package dev.pipeline.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Pipeline;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.testkit.ManualClock;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.logging.Level;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriverException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Clicks through the dashboard in the system's headless Chromium (Debian's {@code chromium} and
 * {@code chromium-driver}; Selenium never downloads a driver). Skipped when they are missing,
 * unless {@code PIPELINE_REQUIRE_BROWSER=true} (CI), where their absence fails the test. Keeps a
 * screenshot of every page and the pages' Navigation Timing under {@code target/dashboard-browser}.
 */
class DashboardBrowserTest {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  private static final Path OUT = Path.of("target", "dashboard-browser");

  private static Pipeline<String, String> pipeline;
  private static Dashboard dashboard;
  private static ChromeDriver driver;
  private static @Nullable WebElement shown; // the page visited last
  private static Path profile;
  private static final Map<String, Double> timings = new LinkedHashMap<>();
  private static final List<String> consoleErrors = new ArrayList<>();

  @BeforeAll
  static void start() throws IOException {
    boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
    if (!present) {
      if ("true".equals(System.getenv("PIPELINE_REQUIRE_BROWSER"))) {
        throw new AssertionError(
            "PIPELINE_REQUIRE_BROWSER=true but /usr/bin/chromium or /usr/bin/chromedriver is"
                + " missing: apt-get install -y chromium chromium-driver");
      }
      Assumptions.abort("no /usr/bin/chromium and /usr/bin/chromedriver: browser tests skipped");
    }
    System.setProperty("SE_OFFLINE", "true"); // Selenium Manager must not download anything
    Files.createDirectories(OUT);
    profile = Files.createTempDirectory("dashboard-chromium");
    pipeline = Fixture.pipeline();
    Fixture.run(pipeline, 40, 6);
    dashboard = Dashboard.builder().pipeline(pipeline).sampleEvery(Duration.ofMillis(200)).start();
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1366,768",
        "--user-data-dir=" + profile);
    LoggingPreferences logs = new LoggingPreferences();
    logs.enable(LogType.BROWSER, Level.ALL);
    options.setCapability("goog:loggingPrefs", logs);
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(new File(CHROMEDRIVER.toString()))
            .usingAnyFreePort()
            .build();
    driver = new ChromeDriver(service, options);
    driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30));
  }

  @AfterAll
  static void stop() throws IOException {
    try {
      if (driver != null) {
        driver.quit();
      }
    } finally {
      if (dashboard != null) {
        dashboard.close();
      }
      if (pipeline != null) {
        pipeline.close();
      }
      if (!timings.isEmpty()) {
        StringBuilder report = new StringBuilder("page\tload ms (Navigation Timing)\n");
        timings.forEach(
            (page, ms) ->
                report
                    .append(page)
                    .append('\t')
                    .append(String.format(Locale.ROOT, "%.0f", ms))
                    .append('\n'));
        Files.writeString(OUT.resolve("timings.tsv"), report.toString());
      }
      if (profile != null) {
        try (var files = Files.walk(profile)) {
          files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
      }
    }
  }

  /**
   * Opens a page, waits for it to load, keeps its timing and screenshot, collects console errors.
   */
  private static void open(String name, String path) throws IOException {
    driver.get(dashboard.url().resolve(path).toString());
    visited(name);
  }

  /**
   * Whether an element's page is gone: stale, as WebDriver says it, or, as Chromium sometimes says
   * it while the new page replaces the old, "does not belong to the document".
   */
  private static boolean isGone(WebElement element) {
    try {
      element.isEnabled();
      return false;
    } catch (StaleElementReferenceException e) {
      return true;
    } catch (WebDriverException e) {
      String message = e.getMessage();
      if (message != null && message.contains("does not belong to the document")) {
        return true;
      }
      throw e;
    }
  }

  private static void visited(String name) throws IOException {
    WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(20));
    if (shown != null) {
      // a click returns before the browser leaves the page: wait until the page it left is gone,
      // or the checks below would read the old page (and fail on its elements going stale)
      WebElement left = shown;
      wait.until(d -> isGone(left));
    }
    wait.until(
        d ->
            ((JavascriptExecutor) d)
                .executeScript(
                    "var n = performance.getEntriesByType('navigation')[0];"
                        + " return n && n.loadEventEnd > 0;")
                .equals(Boolean.TRUE));
    Object ms =
        driver.executeScript(
            "var n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime;");
    timings.put(name, ((Number) ms).doubleValue());
    Files.write(
        OUT.resolve(name + ".png"), ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
    collectConsole();
    shown = driver.findElement(By.tagName("html"));
  }

  /**
   * Opened last in the try of a test with a dashboard of its own, so closed first: leaves that
   * dashboard's page for a blank one before the dashboard stops. A page polls its dashboard every 2
   * s; one left open on a closed dashboard until the next test navigated away (later under load)
   * logged a refused connection, a console error charged to every test after it (five failed so at
   * a load of 15).
   */
  private static Leaving leavingItsPage() {
    return () -> driver.get("about:blank");
  }

  /** Leaves a page; closes without a checked exception. */
  private interface Leaving extends AutoCloseable {
    @Override
    void close();
  }

  private static void collectConsole() {
    for (LogEntry entry : driver.manage().logs().get(LogType.BROWSER)) {
      if (entry.getLevel().intValue() >= Level.WARNING.intValue()) {
        consoleErrors.add(entry.getMessage());
      }
    }
  }

  /**
   * The texts of the elements {@code css} finds, read again if the page's poll replaced them while
   * they were read: a live table's rows are built anew at each poll (every 2 s), and a row found
   * before a poll was stale when read after it (seen at a load of 29).
   */
  private static List<String> texts(String css) {
    return new WebDriverWait(driver, Duration.ofSeconds(20))
        .ignoring(StaleElementReferenceException.class)
        .until(d -> d.findElements(By.cssSelector(css)).stream().map(WebElement::getText).toList());
  }

  private static String text() {
    return driver.findElement(By.tagName("main")).getText();
  }

  @Test
  void clickThroughEveryPage() throws IOException {
    open("overview", "/");
    assertThat(driver.getTitle()).startsWith("Overview");
    assertThat(text()).contains("orders", "cleaning", "validation", "Needs attention");
    WebElement health =
        driver.findElement(By.cssSelector("[data-live='p.orders.s.validation.health']"));
    assertThat(health.getAttribute("class")).contains("lvl-red");
    // the page updates itself: wait for two polls of its JSON
    new WebDriverWait(driver, Duration.ofSeconds(20))
        .until(
            d ->
                Integer.parseInt(
                        String.valueOf(
                            d.findElement(By.tagName("body")).getAttribute("data-updates") == null
                                ? "0"
                                : d.findElement(By.tagName("body")).getAttribute("data-updates")))
                    >= 2);
    assertThat(
            driver
                .findElement(By.cssSelector("[data-live='p.orders.s.validation.health']"))
                .getAttribute("class"))
        .as("still red after the live update")
        .contains("lvl-red");
    collectConsole();

    driver.findElement(By.linkText("validation")).click();
    visited("stage");
    assertThat(text()).contains("throughput", "p50 / p95 / p99", "circuit", "batch size");
    new WebDriverWait(driver, Duration.ofSeconds(20))
        .until(d -> !d.findElements(By.cssSelector("svg.chart polyline")).isEmpty());
    assertThat(driver.findElements(By.cssSelector("svg[data-metric='latency'] polyline")))
        .hasSize(3);
    Files.write(OUT.resolve("stage-charts.png"), driver.getScreenshotAs(OutputType.BYTES));
    collectConsole();

    driver.findElement(By.linkText("Dead letters")).click();
    visited("dead-letters");
    List<String> messages = texts("td.message");
    assertThat(messages).hasSize(6);
    assertThat(messages.get(0)).isEqualTo(Fixture.HOSTILE);
    assertThat(driver.findElements(By.cssSelector("main script"))).isEmpty();

    driver.findElement(By.cssSelector("input[name='id'][value='order-41']")).click();
    driver.findElement(By.xpath("//button[text()='Reprocess selected']")).click();
    visited("dead-letters-after-reprocess");
    assertThat(driver.findElement(By.id("flash")).getText())
        .startsWith("1 dead letters sent back to be processed again");
    assertThat(pipeline.store().find("orders", "order-41").orElseThrow().status())
        .isEqualTo(RecordStatus.READY);

    driver.findElement(By.linkText("Audit trail")).click();
    visited("audit");
    assertThat(driver.getTitle()).startsWith("Audit trail");
    assertThat(texts("table.audit td.message"))
        .as("the dead-lettered lines, their hostile message shown as text")
        .anySatisfy(td -> assertThat(td).contains(Fixture.HOSTILE));
    assertThat(driver.findElements(By.cssSelector("main script"))).isEmpty();
    driver.findElement(By.cssSelector("form.filters input[name='id']")).sendKeys("order-41");
    driver.findElement(By.xpath("//button[text()='Search']")).click();
    visited("audit-record");
    assertThat(text())
        .as("the reprocess, by the anonymous loopback user")
        .contains("reprocessed", "sent back for reprocessing by dashboard");
    driver.findElement(By.linkText("Dead letters")).click();
    visited("dead-letters-again");

    driver.findElement(By.name("text")).sendKeys("bad item 2");
    driver.findElement(By.xpath("//button[text()='Search']")).click();
    visited("dead-letters-search");
    assertThat(driver.findElements(By.cssSelector("td.id"))).hasSize(1);
    driver.findElement(By.linkText("order-43")).click();
    visited("record");
    assertThat(text())
        .contains("dead_letter", "bad item 2", "IllegalStateException", Fixture.HOSTILE);
    WebElement payload = driver.findElement(By.name("payload"));
    assertThat(payload.getAttribute("value")).isEqualTo("bad item 2");
    driver.findElement(By.cssSelector("input[name='reason']")).sendKeys("test data");
    driver.findElement(By.xpath("//button[text()='Discard']")).click();
    driver.switchTo().alert().accept();
    visited("dead-letters-after-discard");
    assertThat(driver.findElement(By.id("flash")).getText()).startsWith("1 dead letters discarded");
    assertThat(pipeline.store().find("orders", "order-43").orElseThrow().status())
        .isEqualTo(RecordStatus.DISCARDED);

    open("record-edit", "/record?pipeline=orders&id=order-44");
    WebElement edit = driver.findElement(By.name("payload"));
    edit.clear();
    edit.sendKeys("item 3, price added");
    driver.findElement(By.id("reprocess-edited")).click();
    visited("record-after-edit");
    assertThat(driver.findElement(By.id("flash")).getText())
        .startsWith("record order-44 sent back with the edited payload");
    pipeline.resume();
    assertThat(pipeline.store().find("orders", "order-44").orElseThrow().status())
        .isEqualTo(RecordStatus.PUBLISHED);

    driver.findElement(By.linkText("Retry queue")).click();
    visited("retries");
    assertThat(text()).contains("waiting to retry", "By stage");
    driver.findElement(By.linkText("Workers")).click();
    visited("workers");
    assertThat(text()).contains("This process", "leases");

    driver.findElement(By.cssSelector("form.lookup input[name='id']")).sendKeys("order-7");
    driver.findElement(By.xpath("//button[text()='Trace']")).click();
    visited("trace");
    assertThat(text()).contains("published", "order-7");

    assertThat(consoleErrors).as("console errors, CSP refusals included").isEmpty();
    assertThat(timings).hasSizeGreaterThanOrEqualTo(11);
  }

  @Test
  void aSignedInUsersReprocessShowsInTheAuditTrailWithTheirName() throws IOException {
    try (Pipeline<String, String> own = Fixture.pipeline();
        Dashboard signed =
            Dashboard.builder()
                .pipeline(own)
                .user("ops-anna", "correct horse battery", Role.OPERATOR)
                .start();
        Leaving left = leavingItsPage()) {
      Fixture.run(own, 2, 2);
      // every request of the browser signs in as ops-anna (HTTP basic), the pages' fetches too
      driver.executeCdpCommand("Network.enable", Map.of());
      driver.executeCdpCommand(
          "Network.setExtraHTTPHeaders",
          Map.of(
              "headers",
              Map.of(
                  "Authorization",
                  "Basic "
                      + java.util.Base64.getEncoder()
                          .encodeToString(
                              "ops-anna:correct horse battery"
                                  .getBytes(java.nio.charset.StandardCharsets.UTF_8)))));
      try {
        driver.get(signed.url().resolve("/dead-letters?pipeline=orders").toString());
        visited("signed-dead-letters");
        driver.findElement(By.cssSelector("input[name='id'][value='order-3']")).click();
        driver.findElement(By.xpath("//button[text()='Reprocess selected']")).click();
        visited("signed-after-reprocess");
        assertThat(driver.findElement(By.id("flash")).getText())
            .startsWith("1 dead letters sent back to be processed again");

        driver.findElement(By.linkText("Audit trail")).click();
        visited("signed-audit");
        driver.findElement(By.cssSelector("form.filters input[name='text']")).sendKeys("sent back");
        driver.findElement(By.xpath("//button[text()='Search']")).click();
        visited("signed-audit-search");
        List<String> rows = texts("table.audit tbody tr");
        assertThat(rows).hasSize(1);
        assertThat(rows.get(0))
            .contains("order-3", "reprocessed", "sent back for reprocessing by ops-anna");
      } finally {
        driver.executeCdpCommand("Network.setExtraHTTPHeaders", Map.of("headers", Map.of()));
      }
      assertThat(consoleErrors).as("console errors, CSP refusals included").isEmpty();
    }
  }

  @Test
  void aBranchSinkIsARowOfTheOverviewTheBottleneckAndAStagePageOfItsOwn() throws IOException {
    try (Pipeline<String, String> routes = Fixture.routed(ManualClock.create(), 6);
        Dashboard served = Dashboard.builder().pipeline(routes).start();
        Leaving left = leavingItsPage()) {
      driver.get(served.url().resolve("/").toString());
      visited("overview-branch-sink");
      String row = "[data-live='p.routes.s." + Fixture.WORD_SINK + ".health']";
      assertThat(driver.findElement(By.cssSelector(row)).getAttribute("class")).contains("lvl-red");
      assertThat(driver.findElement(By.cssSelector(row)).getText()).isEqualTo("circuit open");
      assertThat(driver.findElement(By.cssSelector("[data-live='p.routes.bottleneck']")).getText())
          .startsWith(Fixture.WORD_SINK + " (");
      assertThat(text()).contains("branch sink " + Fixture.WORD_SINK + ": circuit open");

      driver.findElement(By.linkText(Fixture.WORD_SINK)).click();
      visited("stage-branch-sink");
      assertThat(text()).contains("routes · stage " + Fixture.WORD_SINK, "throughput", "circuit");
      assertThat(driver.findElement(By.cssSelector("[data-live='st.circuit']")).getText())
          .isEqualTo("open");
      assertThat(consoleErrors).as("console errors, CSP refusals included").isEmpty();
    }
  }

  @Test
  void anOperatorEditsADeadLetterKeptAtABranchSinksStepAndItGoesBackToThatSink()
      throws IOException {
    List<Fixture.Word> given = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (Pipeline<Fixture.Word, Fixture.Word> words = Fixture.words(given);
        Dashboard served = Dashboard.builder().pipeline(words).start();
        Leaving left = leavingItsPage()) {
      driver.get(served.url().resolve("/record?pipeline=words&id=in-1").toString());
      visited("record-edit-branch-sink");
      WebElement edit = driver.findElement(By.name("payload"));
      assertThat(edit.getAttribute("value")).isEqualTo("word:wx");
      edit.clear();
      edit.sendKeys("word:wy");
      driver.findElement(By.id("reprocess-edited")).click();
      visited("record-after-edit-branch-sink");
      assertThat(driver.findElement(By.id("flash")).getText())
          .startsWith("record in-1 sent back with the edited payload");
      words.resume();
      assertThat(given).as("sent back to that sink, edited").endsWith(new Fixture.Word("wy"));
      assertThat(words.store().find("words", "in-1").orElseThrow().status())
          .isEqualTo(RecordStatus.PUBLISHED);
      assertThat(consoleErrors).as("console errors, CSP refusals included").isEmpty();
    }
  }

  @Test
  void theQualityPageShowsGatesAsTextAndAnOperatorReopensAClosedOne() throws IOException {
    FakeQuality quality = new FakeQuality(QualitySource.GateState.CLOSED);
    try (Pipeline<String, String> own = Fixture.pipeline();
        Dashboard served = Dashboard.builder().pipeline(own).quality(quality).start();
        Leaving left = leavingItsPage()) {
      Fixture.run(own, 3, 1);
      driver.get(served.url().resolve("/").toString());
      visited("quality-overview");
      assertThat(driver.findElement(By.cssSelector("section.attention")).getText())
          .contains("quality gate at stage validation is closed", FakeQuality.HOSTILE_DRIFT);
      driver.findElement(By.linkText("Quality")).click();
      visited("quality");
      assertThat(driver.getTitle()).startsWith("Quality");
      assertThat(text())
          .contains(FakeQuality.HOSTILE_RULE, FakeQuality.HOSTILE_DRIFT, "closed: holding records");
      assertThat(driver.findElements(By.cssSelector("main img, main b, main script")))
          .as("markup from rule names and drift texts is shown as text")
          .isEmpty();
      driver.findElement(By.xpath("//button[text()='Reopen gate']")).click();
      visited("quality-after-reopen");
      assertThat(driver.findElement(By.id("flash")).getText())
          .startsWith("the quality gate at stage validation was reopened");
      assertThat(quality.reopened()).isEqualTo(1);
      assertThat(driver.findElement(By.cssSelector("[data-live='q.g.validation.state']")).getText())
          .isEqualTo("open");
      assertThat(driver.findElements(By.xpath("//button[text()='Reopen gate']"))).isEmpty();

      driver.findElement(By.linkText("Audit trail")).click();
      visited("quality-audit");
      assertThat(text()).contains("gate-reopened", "quality gate reopened by dashboard");
    }
    assertThat(consoleErrors).as("console errors, CSP refusals included").isEmpty();
  }

  @Test
  void theAuditTrailShowsNewLinesWithoutReloadingAndKeepsItsSearch() throws IOException {
    try (Pipeline<String, String> own = Fixture.pipeline();
        Dashboard served =
            Dashboard.builder().pipeline(own).sampleEvery(Duration.ofMillis(200)).start();
        Leaving left = leavingItsPage()) {
      Fixture.run(own, 3, 1);
      driver.get(
          served.url().resolve("/audit?pipeline=orders&level=WARN&id=bad-late-one").toString());
      visited("audit-live-before");
      assertThat(
              driver
                  .findElement(By.cssSelector("form.filters input[name='id']"))
                  .getAttribute("value"))
          .isEqualTo("bad-late-one");
      assertThat(texts("table.audit tbody tr")).containsExactly("no lines match");
      // the page stays as it is: no navigation, only its poll
      driver.executeScript("window.notReloaded = true;");

      Fixture.runWithIds(
          own, List.of("bad late one", "good late one", "bad early"), t -> t.replace(' ', '-'));
      new WebDriverWait(driver, Duration.ofSeconds(20))
          .until(d -> !d.findElements(By.cssSelector("table.audit td.id a")).isEmpty());
      assertThat(texts("table.audit tbody tr"))
          .as("the new dead letter matching the search, not the other records' lines")
          .singleElement()
          .satisfies(
              tr -> assertThat(tr).contains("bad-late-one", "dead-lettered", Fixture.HOSTILE));
      assertThat(driver.executeScript("return window.notReloaded === true;")).isEqualTo(true);
      assertThat(driver.findElements(By.cssSelector("main script"))).isEmpty();
      Files.write(OUT.resolve("audit-live-after.png"), driver.getScreenshotAs(OutputType.BYTES));
      new WebDriverWait(driver, Duration.ofSeconds(20))
          .ignoring(StaleElementReferenceException.class)
          .until(
              d -> {
                d.findElement(By.linkText("bad-late-one")).click(); // a link of a live row
                return true;
              });
      visited("audit-live-record");
      assertThat(text()).contains("bad-late-one", "dead_letter");
      collectConsole();
    }
    assertThat(consoleErrors).as("console errors, CSP refusals included").isEmpty();
  }
}
