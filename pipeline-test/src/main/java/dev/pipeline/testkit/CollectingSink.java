package dev.pipeline.testkit;

import dev.pipeline.Envelope;
import dev.pipeline.Sink;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/** A sink that keeps what it is given, in arrival order. Thread-safe. */
final class CollectingSink<T> implements Sink<T> {
  private final ReentrantLock lock = new ReentrantLock();
  // guarded by lock
  private final List<Envelope<T>> received = new ArrayList<>();

  @Override
  public void publish(List<Envelope<T>> records) {
    lock.lock();
    try {
      received.addAll(records);
    } finally {
      lock.unlock();
    }
  }

  List<Envelope<T>> received() {
    lock.lock();
    try {
      return List.copyOf(received);
    } finally {
      lock.unlock();
    }
  }
}
