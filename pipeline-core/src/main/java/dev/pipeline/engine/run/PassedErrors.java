package dev.pipeline.engine.run;

import dev.pipeline.internal.ErrorText;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.spi.Completion;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The errors records met at stages they passed anyway (retried, then succeeded; or degraded by a
 * fallback), kept by a run until each record ends, when they go first in its terminal state's
 * errors. Bounded per record ({@link ErrorText#bounded}).
 *
 * <p>Thread-safe.
 */
final class PassedErrors {
  private final Map<String, List<ErrorInfo>> byRecord = new ConcurrentHashMap<>();

  /** Keeps the errors a record met at a stage it passed, after those it met before. */
  void keep(String recordId, List<ErrorInfo> errors) {
    byRecord.merge(
        recordId,
        ErrorText.bounded(List.copyOf(errors)),
        (earlier, more) -> ErrorText.append(earlier, more));
  }

  /** The errors a record met at the stages it passed, left in place; empty if none. */
  List<ErrorInfo> peek(String recordId) {
    if (byRecord.isEmpty()) {
      return List.of();
    }
    List<ErrorInfo> errors = byRecord.get(recordId);
    return errors == null ? List.of() : errors;
  }

  /** Takes the errors a record met at the stages it passed; empty if none. */
  List<ErrorInfo> take(String recordId) {
    if (byRecord.isEmpty()) {
      return List.of();
    }
    List<ErrorInfo> errors = byRecord.remove(recordId);
    return errors == null ? List.of() : errors;
  }

  /** The completions, each with the errors its record met at the stages it passed put first. */
  List<Completion> putFirst(List<Completion> completions) {
    if (byRecord.isEmpty()) {
      return completions;
    }
    List<Completion> all = new ArrayList<>(completions.size());
    for (Completion c : completions) {
      List<ErrorInfo> earlier = take(c.recordId());
      if (earlier.isEmpty()) {
        all.add(c);
      } else {
        List<ErrorInfo> errors = ErrorText.append(earlier, c.errors());
        all.add(
            new Completion(
                c.recordId(),
                c.status(),
                c.stage(),
                c.reason(),
                c.record(),
                errors,
                c.attempts(),
                c.at()));
      }
    }
    return all;
  }
}
