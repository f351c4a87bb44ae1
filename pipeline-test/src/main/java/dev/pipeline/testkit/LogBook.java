package dev.pipeline.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/** The log entries captured by one tester or one run, in the order they were written. */
final class LogBook {
  private final ReentrantLock lock = new ReentrantLock();
  // guarded by lock
  private final List<LogEntry> entries = new ArrayList<>();

  void add(LogEntry entry) {
    lock.lock();
    try {
      entries.add(entry);
    } finally {
      lock.unlock();
    }
  }

  int size() {
    lock.lock();
    try {
      return entries.size();
    } finally {
      lock.unlock();
    }
  }

  /** A copy of the entries from {@code index} on. */
  List<LogEntry> from(int index) {
    lock.lock();
    try {
      return List.copyOf(entries.subList(index, entries.size()));
    } finally {
      lock.unlock();
    }
  }
}
