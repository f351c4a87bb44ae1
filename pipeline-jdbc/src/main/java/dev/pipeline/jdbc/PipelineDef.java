package dev.pipeline.jdbc;

import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.spi.StageDescriptor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A pipeline as registered: its stages by name, their codecs and ids, and its last stage (where a
 * published record was last).
 */
record PipelineDef(
    Map<String, StageDescriptor> byName, Map<String, Long> stageIds, String lastStage) {
  /** The name of the sink's pseudo-stage, registered after the last stage (see the store). */
  static final String SINK = "sink";

  PipelineDef(List<StageDescriptor> stages, Map<String, Long> stageIds) {
    this(byName(stages), Map.copyOf(stageIds), lastStage(stages));
  }

  /** The last stage before the sink: where a published record was last. */
  private static String lastStage(List<StageDescriptor> stages) {
    for (int i = stages.size() - 1; i >= 0; i--) {
      if (!isSink(stages.get(i).name())) {
        return stages.get(i).name();
      }
    }
    return "";
  }

  /**
   * Whether {@code stage} names the sink or a route branch's sink ({@code <route>/<branch>/sink},
   * registered after the sink): a step that hands records out, not a stage. Only those names hold a
   * '/', which stage names cannot.
   */
  static boolean isSink(String stage) {
    return stage.equals(SINK) || stage.indexOf('/') >= 0;
  }

  private static Map<String, StageDescriptor> byName(List<StageDescriptor> stages) {
    Map<String, StageDescriptor> map = new HashMap<>();
    for (StageDescriptor s : stages) {
      map.put(s.name(), s);
    }
    return Map.copyOf(map);
  }

  boolean knows(String stage) {
    return byName.containsKey(stage);
  }

  @Nullable PayloadCodec<?> codec(String stage) {
    StageDescriptor s = byName.get(stage);
    return s == null ? null : s.inputCodec();
  }

  @Nullable Long stageId(String stage) {
    return stageIds.get(stage);
  }
}
