package dev.pipeline.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.store.spi.RecordLedger;
import java.lang.reflect.Method;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class PipelineStoreTest {

  /** What users and operators call; the engine's methods belong to {@link RecordLedger}. */
  @Test
  void theUserViewHoldsOnlyWhatUsersCallAndNamesNoEngineType() {
    TreeSet<String> names = new TreeSet<>();
    List<String> engineTypes = new ArrayList<>();
    for (Method m : PipelineStore.class.getMethods()) {
      names.add(m.getName());
      List<Type> signature = new ArrayList<>(Arrays.asList(m.getGenericParameterTypes()));
      signature.add(m.getGenericReturnType());
      for (Type t : signature) {
        if (t.getTypeName().contains(".spi.")) {
          engineTypes.add(m.getName() + ": " + t.getTypeName());
        }
      }
    }

    assertThat(names)
        .as("the methods of the user view")
        .containsExactly(
            "auditTrail",
            "close",
            "count",
            "counts",
            "deadLetters",
            "discard",
            "find",
            "hasUnfinished",
            "isDurable",
            "keepSourcePosition",
            "lineage",
            "metricsHistory",
            "reprocess",
            "reprocessWithPayload",
            "sourcePosition");
    assertThat(engineTypes).as("engine types in the user view's signatures").isEmpty();
  }
}
