package dev.pipeline.bench;

import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Checks the engine's performance targets, each against a baseline measured in the same run, and
 * prints a markdown table of the figures with PASS or FAIL (REPORTED: shown for comparison, with no
 * goal of its own).
 *
 * <pre>
 * java -cp pipeline-bench/target/benchmarks.jar dev.pipeline.bench.Targets \
 *     [overhead|routing|realwork|io|memory|resilience|durable|durable-io|durable-scaling|durable-workers|durable-stores|lineage|observability|shapes|all|observability-parts]...
 *     [--rounds N] [--warmups N] [--smoke]
 *     [--realwork-concurrency N] [--realwork-batch N] [--realwork-queue N]
 *     [--durable-lines N] [--scaling-lines N] [--databases h2,postgresql] [--in-process]
 *     [--keep-disturbed]
 * </pre>
 *
 * <p>Each scenario runs in a JVM of its own ({@value #CHILD_HEAP} heap, fixed so that the heap does
 * not resize between rounds), like a JMH fork, so that one scenario's JIT profile and garbage do
 * not bias the next; {@code --in-process} runs them in this JVM instead. Each figure is measured
 * over several rounds after unmeasured warm-up rounds, baseline and pipeline interleaved (their
 * order alternating), and reported as median (min–max); a ratio taken round by round survives a
 * noisy machine better than two absolute figures. Progress goes to standard error, the table to
 * standard output. A round that other processes disturbed is left out and run again (up to three
 * times as many rounds in all); {@code --keep-disturbed} keeps it instead, for a machine that is
 * always loaded and a figure (CPU per record) that holds there.
 *
 * <p>Exits with 0 whether or not the targets are met, 2 on a bad command line, and 1 only if a
 * scenario crashed (records lost, a run failed, an exception).
 */
public final class Targets {
  static final String CHILD_HEAP = "2g";
  private static final String ROW = "ROW\t";
  private static final Map<String, Scenario> SCENARIOS = new LinkedHashMap<>();

  static {
    for (Scenario s :
        List.of(
            new OverheadScenario(),
            new RoutingScenario(),
            new RealWorkScenario(),
            new IoScenario(),
            new MemoryScenario(),
            new ResilienceScenario(),
            new DurableScenario(),
            new DurableIoScenario(),
            new DurableScalingScenario(),
            new DurableWorkersScenario(),
            new DurableStoresScenario(),
            new LineageScenario(),
            new ShapeCheckScenario(),
            new ObservabilityScenario(),
            new ObservabilityPartsScenario())) {
      SCENARIOS.put(s.name(), s);
    }
  }

  private Targets() {}

  /** Runs the targets named on the command line (all of them by default). */
  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  static int run(String[] args, PrintStream out, PrintStream log) {
    List<Scenario> chosen = new ArrayList<>();
    List<String> options = new ArrayList<>();
    Settings.Builder settings = new Settings.Builder();
    boolean inProcess = false;
    boolean rowsOnly = false;
    try {
      for (int i = 0; i < args.length; i++) {
        String arg = args[i];
        switch (arg) {
          case "all" -> chosen.addAll(targets());
          case "--in-process" -> inProcess = true;
          case "--rows" -> rowsOnly = true;
          case "--keep-disturbed" -> {
            settings.repeatDisturbed = false;
            options.add(arg);
          }
          case "--smoke" -> {
            settings.smoke();
            options.add(arg);
          }
          case "--databases" -> {
            if (++i >= args.length) {
              throw new IllegalArgumentException("--databases needs h2, postgresql or both");
            }
            settings.databases = databases(args[i]);
            options.add(arg);
            options.add(args[i]);
          }
          case "--rounds",
              "--warmups",
              "--realwork-concurrency",
              "--realwork-batch",
              "--realwork-queue",
              "--durable-lines",
              "--scaling-lines" -> {
            int value = number(arg, args, ++i, arg.equals("--warmups") ? 0 : 1);
            switch (arg) {
              case "--rounds" -> settings.rounds = value;
              case "--warmups" -> settings.warmups = value;
              case "--realwork-concurrency" -> settings.realWorkConcurrency = value;
              case "--realwork-batch" -> settings.realWorkBatch = value;
              case "--durable-lines" -> settings.durableLines = value;
              case "--scaling-lines" -> settings.scalingLines = value;
              default -> settings.realWorkQueue = value;
            }
            options.add(arg);
            options.add(Integer.toString(value));
          }
          default -> {
            Scenario scenario = SCENARIOS.get(arg);
            if (scenario == null) {
              throw new IllegalArgumentException("unknown argument '" + arg + "'");
            }
            chosen.add(scenario);
          }
        }
      }
    } catch (IllegalArgumentException e) {
      log.println(e.getMessage());
      log.println(
          "usage: Targets [overhead|routing|realwork|io|memory|resilience|durable|durable-io"
              + "|durable-scaling|durable-workers|durable-stores|lineage|observability|shapes|all|observability-parts]..."
              + " [--rounds N] [--warmups N]"
              + " [--smoke] [--keep-disturbed] [--realwork-concurrency N] [--realwork-batch N] [--realwork-queue N]"
              + " [--durable-lines N] [--scaling-lines N] [--databases h2,postgresql]"
              + " [--in-process]");
      return 2;
    }
    if (chosen.isEmpty()) {
      chosen.addAll(targets());
    }
    Settings s = settings.build();
    if (!rowsOnly) {
      log.printf(
          "Targets on %d cores, %s %s, load average %.2f; %d rounds after %d warm-ups, %s%n",
          Runtime.getRuntime().availableProcessors(),
          System.getProperty("java.vm.name"),
          Runtime.version(),
          ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(),
          s.rounds(),
          s.warmups(),
          inProcess ? "in this JVM" : "each scenario in a JVM of its own with -Xmx" + CHILD_HEAP);
    }
    List<Row> rows = new ArrayList<>();
    int exit = 0;
    try {
      for (Scenario scenario : chosen) {
        if (!rowsOnly) {
          log.println("== " + scenario.name());
        }
        List<Row> found = inProcess ? scenario.run(s, log) : fork(scenario, options, log);
        if (found == null) {
          exit = 1;
          break;
        }
        rows.addAll(found);
      }
    } catch (Exception | AssertionError e) {
      e.printStackTrace(log);
      exit = 1;
    }
    if (rowsOnly) {
      for (Row row : rows) {
        out.println(
            ROW
                + String.join(
                    "\t",
                    row.target(),
                    row.figure(),
                    row.baseline(),
                    row.derived(),
                    row.goal(),
                    row.verdict().name()));
      }
    } else {
      print(rows, out);
    }
    out.flush();
    return exit;
  }

  /** The scenarios with targets ("all"): not the measurements run only on request. */
  private static List<Scenario> targets() {
    return SCENARIOS.values().stream()
        .filter(s -> !(s instanceof ObservabilityPartsScenario))
        .toList();
  }

  /** Runs one scenario in a child JVM; returns its rows, or null if it crashed. */
  private static List<Row> fork(Scenario scenario, List<String> options, PrintStream log)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(javaCommand());
    command.add("-Xms" + CHILD_HEAP);
    command.add("-Xmx" + CHILD_HEAP);
    // the benchmarks' own switches (-Dbench.…) reach the scenario's JVM
    for (String name : System.getProperties().stringPropertyNames()) {
      if (name.startsWith("bench.")) {
        command.add("-D" + name + "=" + System.getProperty(name));
      }
    }
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(Targets.class.getName());
    command.add(scenario.name());
    command.addAll(options);
    command.add("--in-process");
    command.add("--rows");
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    List<Row> rows = new ArrayList<>();
    try (BufferedReader lines =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = lines.readLine()) != null) {
        if (line.startsWith(ROW)) {
          String[] f = line.substring(ROW.length()).split("\t", -1);
          rows.add(new Row(f[0], f[1], f[2], f[3], f[4], Verdict.valueOf(f[5])));
        } else {
          log.println(line);
        }
      }
    }
    int exit = process.waitFor();
    if (exit != 0) {
      log.println(scenario.name() + ": its JVM exited with " + exit);
      return null;
    }
    return rows;
  }

  /** The java launcher of the running JVM. */
  static String javaCommand() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** "h2", "postgresql" or "h2,postgresql". */
  private static Set<BenchDatabase.Kind> databases(String list) {
    Set<BenchDatabase.Kind> kinds = EnumSet.noneOf(BenchDatabase.Kind.class);
    for (String name : list.split(",")) {
      switch (name.strip().toLowerCase(Locale.ROOT)) {
        case "h2" -> kinds.add(BenchDatabase.Kind.H2);
        case "postgresql", "postgres" -> kinds.add(BenchDatabase.Kind.POSTGRES);
        default ->
            throw new IllegalArgumentException(
                "--databases takes h2, postgresql or both, comma-separated; was '" + list + "'");
      }
    }
    return kinds;
  }

  private static int number(String option, String[] args, int index, int min) {
    if (index >= args.length) {
      throw new IllegalArgumentException(option + " needs a number");
    }
    try {
      int value = Integer.parseInt(args[index]);
      if (value < min) {
        throw new IllegalArgumentException(option + " must be at least " + min + ", was " + value);
      }
      return value;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(option + " needs a number, was '" + args[index] + "'");
    }
  }

  private static void print(List<Row> rows, PrintStream out) {
    out.println();
    out.println(
        "| target | our figure, median (min–max) | baseline, same run | compared | goal | result |");
    out.println("|---|---|---|---|---|---|");
    for (Row row : rows) {
      out.printf(
          "| %s | %s | %s | %s | %s | %s |%n",
          row.target(), row.figure(), row.baseline(), row.derived(), row.goal(), row.verdict());
    }
  }

  /** "1M", "50k", "1,234". */
  static String count(long n) {
    if (n >= 1_000_000 && n % 100_000 == 0) {
      return (n % 1_000_000 == 0 ? Long.toString(n / 1_000_000) : String.valueOf(n / 1e6)) + "M";
    }
    if (n >= 1_000 && n % 1_000 == 0) {
      return n / 1_000 + "k";
    }
    return String.format(Locale.ROOT, "%,d", n);
  }

  /**
   * Checks that a run completed with every record accounted for.
   *
   * @throws IllegalStateException if not: a crash, not a missed target
   */
  static void requireComplete(RunResult result, long records) {
    long done = result.published() + result.filtered() + result.deadLettered();
    if (result.status() != RunStatus.COMPLETED || done != records || result.duplicates() != 0) {
      throw new IllegalStateException(
          "run of '"
              + result.pipeline()
              + "' did not complete cleanly: expected "
              + records
              + " records done\n"
              + result.summary(),
          result.failure());
    }
  }
}
