package dev.pipeline.engine;

import dev.pipeline.OutputCheck;
import dev.pipeline.OutputShapeException;
import dev.pipeline.StageOptions;
import dev.pipeline.internal.ErrorText;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The check of a stage's outputs against their declared shape, at the stage's transition to the
 * next: an output of another type than the stage's declared {@link StageOptions#outputType()}, a
 * record with a null in a required component ({@link RecordShape}), an output the stage's {@link
 * OutputCheck} refuses. The record shape of the declared type is found when the pipeline is built;
 * an output of another record class (the stage declared none, or an interface) has its class's
 * shape, found once per class. A split's children are each checked. Thread-safe.
 */
public final class OutputShape {
  private static final Logger LOG = LoggerFactory.getLogger(OutputShape.class);

  /** The longest problem an {@link OutputCheck} may put in an error. */
  static final int MAX_PROBLEM_CHARS = 1_000;

  private final String stage;
  private final @Nullable Class<?> declared;
  // the shape of the declared type if it is a record and records are checked
  private final @Nullable RecordShape declaredShape;
  private final boolean records;
  private final @Nullable OutputCheck check;

  private OutputShape(
      String stage, @Nullable Class<?> declared, boolean records, @Nullable OutputCheck check) {
    this.stage = stage;
    this.declared = declared;
    this.records = records;
    this.check = check;
    this.declaredShape =
        records && declared != null && declared.isRecord()
            ? RecordShape.of(declared.asSubclass(Record.class))
            : null;
  }

  /**
   * The check of a stage's outputs with these options (whose output type a pipeline's build() has
   * set from the stage's class if the options did not), or null if they check nothing.
   */
  public static @Nullable OutputShape of(String stage, StageOptions options) {
    return of(stage, options, null);
  }

  /**
   * The check of the outputs of {@code function} (a stage, a batch stage, a splitter, a merger)
   * with these options: their output type, or else the one the function's class declares.
   */
  public static @Nullable OutputShape of(
      String stage, StageOptions options, @Nullable Object function) {
    Class<?> declared = options.outputType();
    if (declared == null && function != null) {
      declared = OutputTypes.declaredBy(function);
    }
    if (!options.shapeCheck() && options.outputCheck() == null && declared == null) {
      return null;
    }
    return new OutputShape(stage, declared, options.shapeCheck(), options.outputCheck());
  }

  /**
   * What keeps a stage with these options from checking its outputs, for the pipeline's build():
   * the components of its declared record type cannot be read; null if nothing does.
   */
  public static @Nullable String problem(StageOptions options) {
    Class<?> type = options.outputType();
    if (!options.shapeCheck() || type == null || !type.isRecord()) {
      return null;
    }
    return RecordShape.of(type.asSubclass(Record.class)).unreadable();
  }

  /**
   * The error an output makes, or null if it has its shape.
   *
   * @param output what the stage returned for the record, not null
   * @param recordId the record
   */
  public @Nullable OutputShapeException test(Object output, String recordId) {
    if (output instanceof Splits.Children children) {
      List<Object> all = children.payloads();
      for (int i = 0; i < all.size(); i++) {
        String problem = problem(all.get(i));
        if (problem != null) {
          return error(recordId, "child " + i + " of " + all.size() + ", " + problem);
        }
      }
      return null;
    }
    String problem = problem(output);
    return problem == null ? null : error(recordId, problem);
  }

  /** The error the first of a split's children that lacks its shape makes, or null. */
  public @Nullable OutputShapeException testChildren(List<?> children, String recordId) {
    for (int i = 0; i < children.size(); i++) {
      Object child = children.get(i);
      String problem = child == null ? null : problem(child);
      if (problem != null) {
        return error(recordId, "child " + i + " of " + children.size() + ", " + problem);
      }
    }
    return null;
  }

  private @Nullable String problem(Object output) {
    Class<?> type = output.getClass();
    Class<?> expected = declared;
    if (expected != null && type != expected && !expected.isInstance(output)) {
      return "an output of type "
          + type.getName()
          + " where the stage declares "
          + expected.getName()
          + "; return a "
          + expected.getSimpleName()
          + ", or declare the type the stage returns with s.outputType(...)";
    }
    if (records) {
      RecordShape shape = type == expected ? declaredShape : null;
      if (shape == null && output instanceof Record) {
        shape = RecordShape.of(type.asSubclass(Record.class));
        if (shape.unreadable() != null) {
          warnOnce(shape);
        }
      }
      if (shape != null) {
        List<String> nulls;
        try {
          nulls = shape.nulls(output);
        } catch (RuntimeException e) {
          return "a "
              + type.getSimpleName()
              + " whose accessor threw "
              + ErrorText.cut(ErrorText.escape(String.valueOf(e)), MAX_PROBLEM_CHARS)
              + "; make its accessors return the components";
        }
        if (nulls != null) {
          return "a "
              + type.getSimpleName()
              + " whose required component"
              + (nulls.size() == 1 ? " '" + nulls.get(0) + "' is" : "s " + quoted(nulls) + " are")
              + " null; set "
              + (nulls.size() == 1 ? "it" : "them")
              + " in the stage, or annotate the component @Nullable if null is allowed (or turn"
              + " the check off with s.shapeCheck(false))";
        }
      }
    }
    OutputCheck extra = check;
    if (extra != null) {
      String refused;
      try {
        refused = extra.problem(output);
      } catch (RuntimeException e) {
        refused = "the check threw " + e;
      }
      if (refused != null) {
        return "an output its output check refuses: "
            + ErrorText.escape(ErrorText.cut(refused, MAX_PROBLEM_CHARS))
            + "; fix the stage or its check";
      }
    }
    return null;
  }

  private OutputShapeException error(String recordId, String problem) {
    return new OutputShapeException(
        stage,
        recordId,
        "stage '" + stage + "' returned " + problem + " (record '" + recordId + "')");
  }

  private static String quoted(List<String> names) {
    StringBuilder s = new StringBuilder();
    for (String name : names) {
      s.append(s.isEmpty() ? "" : ", ").append('\'').append(name).append('\'');
    }
    return s.toString();
  }

  private void warnOnce(RecordShape shape) {
    if (shape.firstUnreadableUse()) {
      LOG.warn(
          "stage '{}' returns records whose shape is not checked: {}",
          ErrorText.loggable(stage),
          shape.unreadable());
    }
  }
}
