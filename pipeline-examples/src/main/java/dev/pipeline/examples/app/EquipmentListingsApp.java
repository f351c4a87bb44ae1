package dev.pipeline.examples.app;

import dev.pipeline.Alert;
import dev.pipeline.AlertListener;
import dev.pipeline.Pipeline;
import dev.pipeline.PipelineBuilder;
import dev.pipeline.PipelineClock;
import dev.pipeline.PipelineRun;
import dev.pipeline.RunResult;
import dev.pipeline.Source;
import dev.pipeline.StageName;
import dev.pipeline.dashboard.Dashboard;
import dev.pipeline.examples.listings.IndexedListing;
import dev.pipeline.examples.listings.ListingGenerator;
import dev.pipeline.examples.listings.ListingIndex;
import dev.pipeline.examples.listings.TranslatedListing;
import dev.pipeline.jdbc.JdbcPipelineStore;
import dev.pipeline.jdbc.JsonCodec;
import dev.pipeline.quality.QualityGate;
import dev.pipeline.quality.report.QualityReport;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.spi.RecordLedger;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Runs the equipment-listings pipeline from the command line: on the bundled data set by default,
 * on the user's own files, or on a generated data set of any size; prints a progress line while it
 * runs and a summary at the end.
 *
 * <pre>
 * java -jar equipment-listings.jar [--file listings.txt]... [--generate N] [--out published.jsonl]
 *                                  [--search "excavator caterpillar"] [--dead-letters N] [--quiet]
 *                                  [--db PATH | --fresh | --postgres URL | --memory]
 *                                  [--report quality.html | --report quality.md]
 *                                  [--dashboard [PORT]]
 * </pre>
 */
public final class EquipmentListingsApp {
  private static final String USAGE =
      """
      usage: equipment-listings [options]
        --file PATH        process a file of listings (repeatable); default: the bundled data set
        --generate N       process N generated listings instead (deterministic, lazy)
        --out PATH         also write published listings to PATH as JSON lines, each on disk
                           before the store notes it delivered; a rerun appends, each listing
                           once (--fresh starts the file again)
        --search QUERY     after the run, search the published listings
        --dead-letters N   show the first N dead letters (default 5)
        --db PATH          the embedded H2 database file (default: data/equipment); a rerun resumes
                           what a crash left and skips listings already processed
        --fresh            delete the embedded database (and empty the --out file) first, to
                           process everything again
        --postgres URL     keep the state in PostgreSQL instead, e.g.
                           jdbc:postgresql://127.0.0.1:5432/test?user=postgres
        --memory           keep the state in memory only (nothing survives the process)
        --quiet            no progress line
        --report PATH      write a quality report of the run to PATH: HTML (Markdown if PATH
                           ends in .md) with scores, drift of the extracted fields per second,
                           the validation rules that failed most, with example listings
        --dashboard [PORT] serve the operations dashboard on 127.0.0.1:PORT (default 8090) while
                           the pipeline runs, and after it until Ctrl-C; prints its address;
                           its quality page shows the validation gate, scores and drift
      line format: id|title|price|currency|description|lang  (see ListingParser)""";

  /** The dashboard's port when {@code --dashboard} names none. */
  static final int DEFAULT_DASHBOARD_PORT = 8090;

  private EquipmentListingsApp() {}

  /** Entry point. Exits 2 on bad arguments, 1 if the run failed. */
  public static void main(String[] args) throws Exception {
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("equipment-listings: " + e.getMessage());
      System.err.println(USAGE);
      System.exit(2);
      return;
    }
    options.holdDashboard = true;
    RunResult result = run(options, System.out, System.err);
    System.exit(exitCode(result));
  }

  /** 0 if the run completed; 1 if not, a source that could not be read to its end included. */
  static int exitCode(RunResult result) {
    return result.status() == dev.pipeline.RunStatus.COMPLETED ? 0 : 1;
  }

  static RunResult run(Options options, PrintStream out, PrintStream err) throws Exception {
    ListingIndex index = new ListingIndex();
    // opened first and closed last, whatever fails after it (the store, the build, the run)
    try (JsonLinesSink file =
        options.out == null ? null : new JsonLinesSink(options.out, options.fresh)) {
      return run(options, out, err, index, file);
    }
  }

  private static RunResult run(
      Options options,
      PrintStream out,
      PrintStream err,
      ListingIndex index,
      @Nullable JsonLinesSink file)
      throws Exception {
    RecordLedger store = options.store(err);
    AlertListener alerts =
        alert -> {
          if (alert.kind() != Alert.Kind.DEAD_LETTER) {
            err.println("alert: " + printable(alert.message()));
          }
        };
    // the report and the dashboard's quality page both read what the watch sees
    @Nullable QualityWatch watch =
        options.report == null && options.dashboardPort < 0
            ? null
            : new QualityWatch(PipelineClock.system(), Duration.ofSeconds(1), alerts);
    QualityGate<TranslatedListing> rules = ListingRules.gate();
    PipelineBuilder<ScrapedLine, IndexedListing> builder =
        EquipmentPipeline.stages(
                Pipeline.builder("equipment", ScrapedLine.class), index, watch, rules)
            .store(store)
            .inputCodec(JsonCodec.of(ScrapedLine.class))
            // the bundled data holds rejected listings on purpose: the dead letters are listed at
            // the end rather than logged one by one; circuits opening and closing are shown
            .alerts(alerts);
    if (file != null) {
      builder.sink(file);
    }
    try (store;
        Pipeline<ScrapedLine, IndexedListing> pipeline = builder.build();
        Dashboard dashboard =
            options.dashboardPort < 0
                ? null
                : Dashboard.builder()
                    .pipeline(pipeline)
                    .port(options.dashboardPort)
                    .quality(
                        new DashboardQuality(
                            pipeline.name(),
                            StageName.VALIDATION.value(),
                            rules,
                            Objects.requireNonNull(watch)))
                    .start()) {
      if (dashboard != null) {
        err.println("dashboard: " + dashboard.url());
      }
      PipelineRun run = pipeline.start(options.sources());
      Optional<RunResult> done = Optional.empty();
      while (done.isEmpty()) {
        done = run.await(Duration.ofSeconds(1));
        if (watch != null && done.isEmpty()) { // a run that ended has no more volume to watch
          watch.sample(pipeline.metrics());
        }
        if (!options.quiet) {
          err.println(run.progress().line());
        }
      }
      RunResult result = done.get();
      out.println();
      out.print(result.summary());
      List<DeadLetter> dead =
          options.deadLetters == 0
              ? List.of()
              : pipeline
                  .deadLetters()
                  .find(DeadLetterQuery.all().limit(options.deadLetters))
                  .items();
      if (!dead.isEmpty()) {
        out.println("first dead letters:");
        for (DeadLetter letter : dead) {
          out.printf(
              "  %s at %s: %s: %s%n",
              printable(letter.recordId()),
              letter.stage(),
              letter.lastError().errorType(),
              printable(letter.lastError().message()));
        }
      }
      if (result.duplicates() == result.read() && result.read() > 0) {
        out.println(
            "every listing was already processed by an earlier run in this database;"
                + " use --fresh to process them again");
      }
      out.printf("published index: %d listings, %d terms%n", index.size(), index.termCount());
      if (options.search != null) {
        List<IndexedListing> hits = index.search(options.search);
        out.printf("search \"%s\": %d hits%n", options.search, hits.size());
        for (IndexedListing hit : hits.subList(0, Math.min(5, hits.size()))) {
          out.printf("  %s  %s%n", hit.id(), hit.title());
        }
      }
      if (options.out != null) {
        out.println("published listings written to " + options.out);
      }
      if (watch != null && options.report != null) {
        QualityReport report = watch.report();
        String name = options.report.getFileName().toString();
        Files.writeString(
            options.report, name.endsWith(".md") ? report.toMarkdown() : report.toHtml());
        out.println("quality report written to " + options.report);
        report.insights().stream().limit(3).forEach(i -> out.println("  " + printable(i)));
      }
      if (dashboard != null && options.holdDashboard) {
        out.println("the dashboard stays up at " + dashboard.url() + "; press Ctrl-C to stop");
        new java.util.concurrent.CountDownLatch(1).await();
      }
      return result;
    }
  }

  /**
   * Text from the data (a record id, an error message) for the terminal: line breaks, escapes and
   * other control and bidi characters written as {@code \}{@code uXXXX}, so that a hostile record
   * cannot forge lines or drive the terminal.
   */
  static String printable(String text) {
    StringBuilder out = new StringBuilder(text.length());
    text.codePoints()
        .forEach(
            c -> {
              int type = Character.getType(c);
              if (type == Character.CONTROL
                  || type == Character.FORMAT
                  || type == Character.LINE_SEPARATOR
                  || type == Character.PARAGRAPH_SEPARATOR) {
                out.append(String.format(Locale.ROOT, "\\u%04X", c));
              } else {
                out.appendCodePoint(c);
              }
            });
    return out.toString();
  }

  /** The parsed command line. */
  static final class Options {
    final List<Path> files = new ArrayList<>();
    int generate = -1;
    @Nullable Path out;
    @Nullable Path report;
    @Nullable String search;
    int deadLetters = 5;
    boolean quiet;
    Path db = Path.of("data", "equipment");
    boolean fresh;
    @Nullable String postgres;
    boolean memory;
    int dashboardPort = -1;
    boolean holdDashboard;

    static Options parse(String[] args) {
      Options o = new Options();
      for (int i = 0; i < args.length; i++) {
        String arg = args[i];
        switch (arg) {
          case "--file" -> {
            Path file = Path.of(value(args, ++i, arg));
            if (!Files.exists(file)) {
              throw new IllegalArgumentException("no such file: " + file.toAbsolutePath());
            }
            if (!Files.isRegularFile(file)) {
              // a directory cannot be read as lines; a device or a pipe may never end
              throw new IllegalArgumentException(
                  file.toAbsolutePath()
                      + " is "
                      + (Files.isDirectory(file) ? "a directory" : "not a regular file")
                      + ": --file takes a file of listings, one per line");
            }
            if (!Files.isReadable(file)) {
              throw new IllegalArgumentException("cannot read " + file.toAbsolutePath());
            }
            o.files.add(file);
          }
          case "--generate" -> o.generate = positive(value(args, ++i, arg), arg);
          case "--out" -> o.out = Path.of(value(args, ++i, arg));
          case "--report" -> o.report = Path.of(value(args, ++i, arg));
          case "--search" -> o.search = value(args, ++i, arg);
          case "--dead-letters" -> o.deadLetters = positive(value(args, ++i, arg), arg);
          case "--quiet" -> o.quiet = true;
          case "--db" -> o.db = Path.of(value(args, ++i, arg));
          case "--fresh" -> o.fresh = true;
          case "--postgres" -> {
            o.postgres = value(args, ++i, arg);
            // refused here, with the usage, rather than when the store is built: the same check
            JdbcPipelineStore.builder().jdbcUrl(o.postgres, null, null);
          }
          case "--memory" -> o.memory = true;
          case "--dashboard" -> {
            o.dashboardPort = DEFAULT_DASHBOARD_PORT;
            if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
              o.dashboardPort = positive(args[++i], arg);
              if (o.dashboardPort > 65_535) {
                throw new IllegalArgumentException(
                    "--dashboard takes a port from 0 to 65535, was " + o.dashboardPort);
              }
            }
          }
          case "--help", "-h" -> throw new IllegalArgumentException("help");
          default -> throw new IllegalArgumentException("unknown option " + arg);
        }
      }
      if (o.generate >= 0 && !o.files.isEmpty()) {
        throw new IllegalArgumentException("give --file or --generate, not both");
      }
      if (o.memory && o.postgres != null) {
        throw new IllegalArgumentException("give --memory or --postgres, not both");
      }
      return o;
    }

    /** The store the options ask for: embedded H2 unless told otherwise. */
    RecordLedger store(PrintStream err) throws IOException {
      if (memory) {
        return InMemoryPipelineStore.create();
      }
      if (postgres != null) {
        return JdbcPipelineStore.builder()
            .jdbcUrl(postgres, null, null)
            .schema("equipment")
            .build();
      }
      Path dir = db.toAbsolutePath().getParent();
      if (fresh && dir != null && Files.isDirectory(dir)) {
        String name = db.getFileName().toString();
        try (var files = Files.list(dir)) {
          for (Path f :
              files.filter(f -> f.getFileName().toString().startsWith(name + ".")).toList()) {
            Files.delete(f);
          }
        }
      }
      if (dir != null) {
        Files.createDirectories(dir);
      }
      err.println("state kept in the embedded H2 database " + db.toAbsolutePath() + ".mv.db");
      return JdbcPipelineStore.builder().h2File(db).build();
    }

    List<Source<ScrapedLine>> sources() throws IOException {
      if (!files.isEmpty()) {
        return files.stream().map(ListingLines::file).toList();
      }
      if (generate >= 0) {
        return List.of(
            ListingLines.lines(
                "generated", new ListingGenerator(ListingGenerator.DEFAULT_SEED).lines(generate)));
      }
      return List.of(
          ListingLines.stream(ListingGenerator.BUNDLED_SOURCE_ID, ListingGenerator::openBundled));
    }

    private static String value(String[] args, int i, String option) {
      if (i >= args.length) {
        throw new IllegalArgumentException(option + " needs a value");
      }
      return args[i];
    }

    private static int positive(String text, String option) {
      try {
        int n = Integer.parseInt(text);
        if (n < 0) {
          throw new NumberFormatException();
        }
        return n;
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            option + " needs a non-negative number, was '" + text + "'");
      }
    }
  }
}
