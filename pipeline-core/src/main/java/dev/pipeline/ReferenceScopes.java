package dev.pipeline;

import dev.pipeline.engine.run.StageDefinition;
import dev.pipeline.internal.ReferenceTables;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Works out which stages may look up each reference data a pipeline declares (on its builder for
 * every stage, or on stages' options for those), and what is wrong with the declarations.
 */
final class ReferenceScopes {
  private ReferenceScopes() {}

  /**
   * The declarations with their stages, in the order first declared; adds a problem for each
   * declaration made twice and each name two declarations share.
   */
  static List<ReferenceTables.Declared> declared(
      List<ReferenceData<?, ?>> forEveryStage,
      List<StageDefinition> stages,
      List<String> problems) {
    List<StageName> all = stages.stream().map(StageDefinition::name).toList();
    // by identity (ReferenceData keeps Object's equals), in the order declared
    Map<ReferenceData<?, ?>, List<StageName>> scopes = new LinkedHashMap<>();
    Map<ReferenceData<?, ?>, String> where = new IdentityHashMap<>();
    Map<String, ReferenceData<?, ?>> byName = new HashMap<>();
    for (ReferenceData<?, ?> data : forEveryStage) {
      if (scopes.containsKey(data)) {
        problems.add(
            "reference data '"
                + data.name()
                + "' is declared twice on the pipeline; declare it once");
        continue;
      }
      if (nameFree(data, "the pipeline", byName, where, problems)) {
        scopes.put(data, all);
      }
    }
    for (StageDefinition stage : stages) {
      String here = "stage '" + stage.name() + "'";
      for (ReferenceData<?, ?> data : stage.options().referenceData()) {
        List<StageName> scope = scopes.get(data);
        if (scope == all) {
          problems.add(
              "reference data '"
                  + data.name()
                  + "' is declared on the pipeline, which reaches every stage, and again on "
                  + here
                  + "; remove one of the two");
        } else if (scope != null) {
          scope.add(stage.name()); // the stages that declare one object share its cache
        } else if (nameFree(data, here, byName, where, problems)) {
          scopes.put(data, new ArrayList<>(List.of(stage.name())));
        }
      }
    }
    List<ReferenceTables.Declared> declared = new ArrayList<>(scopes.size());
    scopes.forEach((data, scope) -> declared.add(new ReferenceTables.Declared(data, scope)));
    return declared;
  }

  private static boolean nameFree(
      ReferenceData<?, ?> data,
      String here,
      Map<String, ReferenceData<?, ?>> byName,
      Map<ReferenceData<?, ?>, String> where,
      List<String> problems) {
    ReferenceData<?, ?> other = byName.putIfAbsent(data.name(), data);
    if (other != null) {
      problems.add(
          "reference data name '"
              + data.name()
              + "' is declared twice, by two different declarations ("
              + where.get(other)
              + " and "
              + here
              + "); give each its own name, or declare the same ReferenceData object");
      return false;
    }
    where.put(data, here);
    return true;
  }
}
