package dev.pipeline.engine.run;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import jdk.jfr.EventType;
import jdk.jfr.FlightRecorder;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingStream;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Estimates the CPU time and the bytes allocated by each stage's threads, by sampling with JDK
 * Flight Recorder in this process. Where the JVM has it (JDK 25 on Linux), JFR samples each thread
 * every {@link #PERIOD} of its own CPU time ({@code jdk.CPUTimeSample}) and the worker's stage is
 * charged one period; elsewhere JFR samples every {@link #PERIOD} the threads in Java code ({@code
 * jdk.ExecutionSample}), which also counts time a thread waited for a core, so it overstates CPU on
 * a loaded machine. JFR's allocation samples ({@code jdk.ObjectAllocationSample}) carry the bytes
 * each stands for, charged the same way. Samples are taken without their stack traces (only the
 * thread is read), so JFR neither walks nor writes a stack per sample. Per-call thread CPU time
 * cannot do it: {@code ThreadMXBean} answers -1 for virtual threads (JDK 21 and 25).
 *
 * <p>One recording serves every pipeline of the process that samples, started by the first and
 * stopped when the last is closed. JFR delivers samples about a second late, so a worker's thread
 * stays known for {@link #LINGER} after its run ends: by its stage's two counters only ({@link
 * Account}), never by the stage's recorder, which reaches the run's stages and what they hold (a
 * sink's index, a cache). Kept by the recorder, a finished run stayed reachable from the shared
 * sampler until a later run started a worker at least {@code LINGER} after it ended: the next run
 * of a pipeline that samples carried the last one's heap, which its collections had to copy and
 * mark. Thread-safe.
 */
public final class ResourceSampler {
  private static final Logger LOG = LoggerFactory.getLogger(ResourceSampler.class);

  /** How often JFR samples the running threads. */
  static final Duration PERIOD = Duration.ofMillis(20);

  // how long a finished worker's samples are still charged to its stage
  static final long LINGER = TimeUnit.SECONDS.toNanos(10);

  private static final String ALLOCATION_RATE = "100/s";
  private static final String CPU_TIME_SAMPLE = "jdk.CPUTimeSample";
  private static final String EXECUTION_SAMPLE = "jdk.ExecutionSample";
  private static final String ALLOCATION_SAMPLE = "jdk.ObjectAllocationSample";

  private static final ReentrantLock LOCK = new ReentrantLock();
  private static @Nullable ResourceSampler shared; // guarded by LOCK
  private static int users; // guarded by LOCK
  private static boolean saidUnavailable; // guarded by LOCK

  private final RecordingStream stream;
  private final Map<Long, Account> threads = new ConcurrentHashMap<>();
  private final Queue<long[]> retiring = new ConcurrentLinkedQueue<>(); // {thread id, since}

  /** Where a worker's samples are charged: its stage's counters, and nothing else of the run. */
  private record Account(LongAdder cpuNanos, LongAdder allocatedBytes) {}

  private ResourceSampler(RecordingStream stream) {
    this.stream = stream;
  }

  /**
   * The process's sampler, started if no pipeline uses it yet; null (said once in the log) if JFR
   * is not available here.
   */
  public static @Nullable ResourceSampler acquire() {
    LOCK.lock();
    try {
      if (shared == null) {
        try {
          shared = start();
        } catch (LinkageError | RuntimeException e) {
          if (!saidUnavailable) {
            saidUnavailable = true;
            LOG.warn(
                "resource sampling is unavailable, so CPU and memory per stage are not measured:"
                    + " {} (on the module path, add --add-modules jdk.jfr)",
                String.valueOf(e));
          }
          return null;
        }
      }
      users++;
      return shared;
    } finally {
      LOCK.unlock();
    }
  }

  private static ResourceSampler start() {
    RecordingStream stream = new RecordingStream();
    ResourceSampler sampler = new ResourceSampler(stream);
    long period = PERIOD.toNanos();
    // only the thread of a sample is read, never its stack: no stack is walked or written
    if (cpuTimeSampling()) {
      stream.enable(CPU_TIME_SAMPLE).with("throttle", PERIOD.toMillis() + "ms").withoutStackTrace();
      stream.onEvent(CPU_TIME_SAMPLE, e -> sampler.charge(e, "eventThread", period, true));
    } else {
      stream.enable(EXECUTION_SAMPLE).withPeriod(PERIOD);
      stream.onEvent(EXECUTION_SAMPLE, e -> sampler.charge(e, "sampledThread", period, true));
    }
    stream.enable(ALLOCATION_SAMPLE).with("throttle", ALLOCATION_RATE).withoutStackTrace();
    stream.setMaxAge(Duration.ofSeconds(10));
    stream.onEvent(
        ALLOCATION_SAMPLE, e -> sampler.charge(e, "eventThread", e.getLong("weight"), false));
    stream.startAsync();
    return sampler;
  }

  /** Whether this JVM has JFR's CPU-time sampler (JDK 25 and later, on Linux). */
  static boolean cpuTimeSampling() {
    for (EventType type : FlightRecorder.getFlightRecorder().getEventTypes()) {
      if (type.getName().equals(CPU_TIME_SAMPLE)) {
        return true;
      }
    }
    return false;
  }

  /** Stops the recording when the last pipeline that samples lets go of it. */
  public static void release(ResourceSampler sampler) {
    LOCK.lock();
    try {
      if (sampler != shared) {
        return;
      }
      if (--users == 0) {
        shared = null;
        sampler.stream.close();
      }
    } finally {
      LOCK.unlock();
    }
  }

  private void charge(RecordedEvent event, String field, long amount, boolean cpu) {
    RecordedThread thread = event.getThread(field);
    if (thread == null) {
      return;
    }
    Account account = threads.get(thread.getJavaThreadId());
    if (account != null) {
      (cpu ? account.cpuNanos : account.allocatedBytes).add(amount);
    }
  }

  /** Charges a worker's samples to its stage from now on. */
  void track(Thread worker, StageRecorder stage) {
    forgetRetired();
    threads.put(worker.threadId(), new Account(stage.cpuNanos, stage.allocatedBytes));
  }

  /** A run's workers ended: their late samples are still charged for {@link #LINGER}. */
  void retire(Collection<Thread> workers) {
    long now = System.nanoTime();
    for (Thread t : workers) {
      retiring.add(new long[] {t.threadId(), now});
    }
    forgetRetired();
  }

  private void forgetRetired() {
    long now = System.nanoTime();
    long[] head;
    while ((head = retiring.peek()) != null && now - head[1] > LINGER) {
      if (retiring.remove(head)) {
        threads.remove(head[0]);
      }
    }
  }
}
