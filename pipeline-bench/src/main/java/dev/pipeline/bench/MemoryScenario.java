package dev.pipeline.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Target 4: ten million records from a lazy source through eight stages, in a child JVM with {@code
 * -Xmx256m}, with the default in-memory store (which keeps the state of the last 10,000 completed
 * records): the run must complete and the heap stay flat. Flat means the heap after a full
 * collection at the end is within 10% of the heap after one at a tenth of the records.
 *
 * <p>The baseline is the child JVM's floor: its heap after a full collection before the run.
 */
final class MemoryScenario implements Scenario {
  static final String MAX_HEAP = "256m";
  static final double FLAT = 1.10;
  private static final long MB = 1024 * 1024;

  @Override
  public String name() {
    return "memory";
  }

  @Override
  public List<Row> run(Settings settings, PrintStream log) throws Exception {
    long records = settings.memoryRecords();
    int rounds = settings.memoryRounds();
    List<Map<String, String>> results = new ArrayList<>();
    boolean completed = true;
    for (int r = 0; r < rounds; r++) {
      Map<String, String> result = child(records, r == 0, log);
      if (result == null) {
        completed = false;
        break;
      }
      results.add(result);
      log.printf(
          "memory round %d/%d: %s records in %ss, floor %s MB, after full GC %s MB, max after any"
              + " GC %s MB, max used %s MB, %s collections (%s)%n",
          r + 1,
          rounds,
          Targets.count(records),
          result.get("seconds"),
          mb(result.get("floor")),
          milestones(result),
          mb(result.get("maxAfterGc")),
          mb(result.get("maxUsed")),
          result.get("collections"),
          result.get("gc"));
    }
    String label = "4. memory: " + Targets.count(records) + " records, -Xmx" + MAX_HEAP;
    String goal = "completes; flat (end ≤ " + FLAT + " × at 1/10)";
    if (!completed || results.isEmpty()) {
      return List.of(new Row(label, "did not complete", "", "", goal, Verdict.FAIL));
    }
    Samples peak = samples(results, "maxAfterGc");
    Samples used = samples(results, "maxUsed");
    Samples floor = samples(results, "floor");
    double[] growth = new double[results.size()];
    for (int i = 0; i < results.size(); i++) {
      List<Long> at = afterGc(results.get(i));
      growth[i] = (double) at.get(at.size() - 1) / at.get(0);
    }
    Samples grows = Samples.of(growth);
    return List.of(
        new Row(
            label,
            "max after any GC "
                + peak.format("%.0f")
                + " MB; max used "
                + used.format("%.0f")
                + " MB",
            "JVM floor " + floor.format("%.1f") + " MB",
            "after full GC at "
                + milestones(results.get(0))
                + " MB; end/first "
                + grows.format("%.2f"),
            goal,
            Verdict.of(grows.median() <= FLAT)));
  }

  /** Runs the child JVM; returns its RESULT lines, or null if it did not complete. */
  private static Map<String, String> child(long records, boolean histogram, PrintStream log)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Targets.javaCommand());
    command.add("-Xmx" + MAX_HEAP);
    command.add("-XX:+UseG1GC");
    command.add("-XX:+ExitOnOutOfMemoryError");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(MemoryChild.class.getName());
    command.add(Long.toString(records));
    if (histogram) {
      command.add("histogram");
    }
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    Map<String, String> result = new LinkedHashMap<>();
    try (BufferedReader out =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        if (line.startsWith("RESULT ")) {
          String[] parts = line.split(" ", 3);
          result.put(parts[1], parts.length > 2 ? parts[2] : "");
        } else if (line.startsWith("HISTO ")) {
          log.println("memory: live objects at the middle milestone: " + line.substring(6));
        } else {
          log.println("memory child: " + line);
        }
      }
    }
    if (!process.waitFor(10, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      log.println("memory: the child JVM did not finish in 10 minutes");
      return null;
    }
    if (process.exitValue() != 0) {
      log.println("memory: the child JVM exited with " + process.exitValue());
      return null;
    }
    return result;
  }

  private static List<Long> afterGc(Map<String, String> result) {
    List<Long> values = new ArrayList<>();
    for (Map.Entry<String, String> e : result.entrySet()) {
      if (e.getKey().startsWith("heapAfterGcAt:")) {
        values.add(Long.parseLong(e.getValue()));
      }
    }
    return values;
  }

  private static String milestones(Map<String, String> result) {
    List<String> parts = new ArrayList<>();
    for (Map.Entry<String, String> e : result.entrySet()) {
      if (e.getKey().startsWith("heapAfterGcAt:")) {
        long done = Long.parseLong(e.getKey().substring("heapAfterGcAt:".length()));
        parts.add(String.format(Locale.ROOT, "%.2fM: %s", done / 1e6, mb(e.getValue())));
      }
    }
    return String.join(", ", parts);
  }

  private static Samples samples(List<Map<String, String>> results, String key) {
    double[] values = new double[results.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = Long.parseLong(results.get(i).get(key)) / (double) MB;
    }
    return Samples.of(values);
  }

  private static String mb(String bytes) {
    return String.format(Locale.ROOT, "%.1f", Long.parseLong(bytes) / (double) MB);
  }
}
