package dev.pipeline.it;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What the sinks of a crash test's workers got ({@code id TAB payload TAB redelivered} lines): by
 * id, how often, how often flagged as handed over before, and the last payload.
 */
final class SinkLines {
  final Map<String, Integer> times = new HashMap<>();
  final Map<String, Integer> flagged = new HashMap<>();
  final Map<String, String> payloads = new HashMap<>();

  private SinkLines() {}

  static SinkLines read(List<ChildJvm> workers) throws IOException {
    SinkLines lines = new SinkLines();
    for (ChildJvm w : workers) {
      if (!Files.exists(w.sink)) {
        continue;
      }
      for (String line : Files.readAllLines(w.sink)) {
        String[] f = line.split("\t");
        lines.times.merge(f[0], 1, Integer::sum);
        if (f[2].equals("true")) {
          lines.flagged.merge(f[0], 1, Integer::sum);
        }
        lines.payloads.put(f[0], f[1]);
      }
    }
    return lines;
  }

  /** The ids handed over more than once without the redelivered flag on each repeat. */
  List<String> unflagged() {
    List<String> unflagged = new ArrayList<>();
    times.forEach(
        (id, n) -> {
          if (n - flagged.getOrDefault(id, 0) > 1) {
            unflagged.add(id + " x" + n);
          }
        });
    return unflagged;
  }
}
