package dev.pipeline.it;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Starts {@link CrashWorker} in a child JVM with this JVM's class path. */
final class ChildJvm {
  private ChildJvm() {}

  static Process start(
      Databases db, int records, Path sink, long leaseMillis, long workMicros, Path log)
      throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command = new ArrayList<>();
    command.add(java);
    command.add("-Xmx256m");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(CrashWorker.class.getName());
    command.add(db.url());
    command.add(db.user());
    command.add(db.schema());
    command.add(Integer.toString(records));
    command.add(sink.toString());
    command.add(Long.toString(leaseMillis));
    command.add(Long.toString(workMicros));
    return new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
  }
}
