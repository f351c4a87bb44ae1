package dev.pipeline.jdbc;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Worker ids that say where their worker runs, so that a worker can tell that another one on the
 * same host is gone and take its records over at once instead of waiting for its leases to expire.
 *
 * <p>A default id is {@code <host>-<pid>-t<start>-n<pid namespace>-<random>}: the process start
 * time (epoch millis, base 36) tells a dead process from a later one that got its PID, and the PID
 * namespace (Linux; empty elsewhere) tells two containers that share a host name apart, since a PID
 * means something only within its namespace. A worker is taken for gone only when its id has this
 * form, names this host and namespace, and no process with its PID and start time exists. Ids set
 * by hand are never taken for gone: their workers are waited for.
 */
final class LocalWorkers {
  private static final Pattern ID =
      Pattern.compile("(.+)-(\\d+)-t([0-9a-z]+)-n([0-9]*)-([0-9a-f]{6})");
  // start times read twice may differ by a clock tick or the boot time's rounding
  private static final long SAME_START_MILLIS = 1_000;
  private static final String HOST = host();
  private static final String NAMESPACE = pidNamespace();

  private LocalWorkers() {}

  /** A fresh id for a worker of this process. */
  static String newId() {
    ProcessHandle me = ProcessHandle.current();
    return id(me.pid(), me.info().startInstant().map(Instant::toEpochMilli).orElse(0L));
  }

  /** A fresh id for a worker of the process with this PID and start time (epoch millis). */
  static String id(long pid, long startMillis) {
    byte[] random = new byte[3];
    ThreadLocalRandom.current().nextBytes(random);
    return HOST
        + "-"
        + pid
        + "-t"
        + Long.toString(startMillis, 36)
        + "-n"
        + NAMESPACE
        + "-"
        + HexFormat.of().formatHex(random);
  }

  /**
   * Whether the worker of this id ran in a process of this host (and PID namespace) that is gone.
   * False when that cannot be known.
   */
  static boolean isGone(String workerId) {
    Matcher m = ID.matcher(workerId);
    if (!m.matches() || !m.group(1).equals(HOST) || !m.group(4).equals(NAMESPACE)) {
      return false;
    }
    long pid;
    long start;
    try {
      pid = Long.parseLong(m.group(2));
      start = Long.parseLong(m.group(3), 36);
    } catch (NumberFormatException e) {
      return false;
    }
    Optional<ProcessHandle> process = ProcessHandle.of(pid);
    if (process.isEmpty() || !process.get().isAlive()) {
      return true;
    }
    Optional<Instant> started = process.get().info().startInstant();
    // a process with that PID that started at another time got the PID after the worker's died
    return start != 0
        && started.isPresent()
        && Math.abs(started.get().toEpochMilli() - start) > SAME_START_MILLIS;
  }

  /** The PID of the worker of this id, if it is of the default form (for messages). */
  static Optional<String> pid(String workerId) {
    Matcher m = ID.matcher(workerId);
    return m.matches() ? Optional.of(m.group(2)) : Optional.empty();
  }

  private static String host() {
    String host = System.getenv("HOSTNAME");
    if (host == null || host.isBlank()) {
      try {
        host = InetAddress.getLocalHost().getHostName();
      } catch (Exception e) {
        host = "host";
      }
    }
    return host.length() > 60 ? host.substring(0, 60) : host;
  }

  private static String pidNamespace() {
    try {
      // "pid:[4026531836]"
      String link = Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString();
      return link.replaceAll("[^0-9]", "");
    } catch (Exception e) {
      return ""; // not Linux, or not readable: the host name alone decides
    }
  }
}
