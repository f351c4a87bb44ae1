package dev.pipeline.it;

import static dev.pipeline.StageName.ANALYSIS;
import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.EXTRACTION;
import static dev.pipeline.StageName.INDEXING;
import static dev.pipeline.StageName.INGESTION;
import static dev.pipeline.StageName.PUBLISHING;
import static dev.pipeline.StageName.TRANSLATION;
import static dev.pipeline.StageName.VALIDATION;

import dev.pipeline.Pipeline;
import dev.pipeline.RecordFilteredException;
import dev.pipeline.Sink;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.spi.RecordLedger;
import java.util.concurrent.locks.LockSupport;

/**
 * The pipeline the crash tests run in child JVMs: eight stages of string work, two checkpoints (a
 * record resumes at the first stage, the fourth, or the last one, before the sink), and outcomes
 * fixed by the record number so the parent knows what each record must end as.
 */
final class CrashPipeline {
  static final String NAME = "crash";

  private CrashPipeline() {}

  static String id(int n) {
    return "rec-" + n;
  }

  static int numberOf(String id) {
    return Integer.parseInt(id.substring(4));
  }

  /** What record {@code n} must end as. */
  static RecordStatus expectedStatus(int n) {
    if (n % 89 == 0) {
      return RecordStatus.DEAD_LETTER;
    }
    if (n % 97 == 0) {
      return RecordStatus.FILTERED;
    }
    return RecordStatus.PUBLISHED;
  }

  /** The final output the sink must have for a published record. */
  static String expectedOutput(int n) {
    return "P:V:T:A:E:C:" + n + ":I";
  }

  /**
   * The pipeline; {@code queueCapacity} bounds the records waiting before each stage (0: the
   * engine's default), and so how many records a worker holds at once.
   */
  static Pipeline<String, String> build(
      RecordLedger store, Sink<String> sink, long workNanos, int queueCapacity) {
    var builder = Pipeline.builder(NAME, String.class);
    if (queueCapacity > 0) {
      builder.queueCapacity(queueCapacity);
    }
    return builder
        .store(store)
        .stage(
            INGESTION,
            (String payload) -> {
              int n = Integer.parseInt(payload);
              if (n % 89 == 0) {
                throw new IllegalStateException("poison record " + n);
              }
              return Integer.toString(n);
            })
        .stage(CLEANING, (String s) -> "C:" + s, s -> s.concurrency(2))
        .stage(
            EXTRACTION,
            (String s) -> {
              LockSupport.parkNanos(workNanos); // a remote call's worth of waiting
              return "E:" + s;
            },
            s -> s.concurrency(8).batchSize(16).checkpoint().codec(PayloadCodec.string()))
        .stage(
            ANALYSIS,
            (String s) -> {
              if (payloadNumber(s) % 97 == 0) {
                throw RecordFilteredException.because("every 97th record is filtered");
              }
              return "A:" + s;
            })
        .stage(TRANSLATION, (String s) -> "T:" + s)
        .stage(
            VALIDATION,
            (String s) -> {
              LockSupport.parkNanos(workNanos);
              return "V:" + s;
            },
            s -> s.concurrency(8).batchSize(16))
        .stage(INDEXING, (String s) -> s + ":I", s -> s.checkpoint().codec(PayloadCodec.string()))
        .stage(PUBLISHING, (String s) -> "P:" + s)
        .sink(sink)
        .build();
  }

  /** The record number inside a payload such as "T:A:E:C:42". */
  private static int payloadNumber(String payload) {
    String digits = payload.substring(payload.lastIndexOf(':') + 1);
    int end = 0;
    while (end < digits.length() && Character.isDigit(digits.charAt(end))) {
      end++;
    }
    return Integer.parseInt(digits.substring(0, end));
  }
}
