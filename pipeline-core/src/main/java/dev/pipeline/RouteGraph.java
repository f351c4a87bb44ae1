package dev.pipeline;

import dev.pipeline.engine.run.StageDefinition;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * The checks of routes (routing by data) that {@link PipelineBuilder#build()} makes as part of the
 * pipeline's graph. A route's graph has no cycles to look for: routes and branches are immutable,
 * each made from parts that exist before it.
 */
final class RouteGraph {
  private RouteGraph() {}

  /** Adds what is wrong with one route's branches to {@code all}. */
  static void check(Class<?> output, List<Route.Arm> arms, List<String> all) {
    if (arms.isEmpty()) {
      all.add("the route has no branches; add them with when(...) and otherwise(...)");
    }
    if (arms.size() > Route.MAX_BRANCHES) {
      all.add("the route has " + arms.size() + " branches; it may have 1 to " + Route.MAX_BRANCHES);
    }
    List<StageName> names = new ArrayList<>();
    for (Route.Arm arm : arms) {
      RouteBranch<?, ?> b = arm.branch();
      if (b.joinsAs() == null && !b.endsAtSink()) {
        all.add(
            "branch '"
                + b.name()
                + "' has no end; end it with join(Type.class) (the record goes on after the"
                + " route) or to(sink) (the record is delivered there)");
      } else if (b.joinsAs() != null && !output.isAssignableFrom(b.joinsAs())) {
        all.add(
            "branch '"
                + b.name()
                + "' joins as "
                + b.joinsAs().getName()
                + ", which is not the route's output type "
                + output.getName()
                + "; end the branch with a stage whose output is a "
                + output.getSimpleName()
                + ", or make it end at a sink");
      }
      names.add(b.name());
      for (RouteBranch.Step step : b.steps()) {
        names.add(step.name());
        if (step.stage() instanceof Route<?, ?> inner && inner.hasSinks()) {
          all.add(
              "stage '"
                  + step.name()
                  + "' of branch '"
                  + b.name()
                  + "' is a route with branches that end at sinks, which only a route that is"
                  + " a stage of the pipeline may have; make it a stage of the pipeline, or"
                  + " make its branches join");
        }
      }
    }
    List<StageName> seen = new ArrayList<>();
    for (StageName name : names) {
      if (name.isBranchSink()) {
        all.add(
            "the name '"
                + name
                + "' has the form of a route branch's sink's name; give the branch or stage"
                + " another name");
      }
      if (seen.contains(name)) {
        all.add(
            "the name '"
                + name
                + "' is given twice in the route (branches and their stages share one set of"
                + " names); give each its own");
      }
      seen.add(name);
    }
  }

  /**
   * Adds what is wrong with the routes among {@code stages} to {@code problems}: each route's own
   * graph, and names its branches and their stages share with the pipeline's stages or with another
   * route's.
   */
  static void check(List<StageDefinition> stages, List<String> problems) {
    Map<StageName, String> owners = new HashMap<>();
    for (StageDefinition stage : stages) {
      owners.putIfAbsent(stage.name(), "the pipeline's stage '" + stage.name() + "'");
    }
    for (StageDefinition stage : stages) {
      if (!(stage.single() instanceof Route<?, ?> route)) {
        continue;
      }
      for (String problem : route.problems()) {
        problems.add("route '" + stage.name() + "': " + problem);
      }
      for (StageName name : new LinkedHashSet<>(route.names())) {
        String owner =
            owners.putIfAbsent(name, "a branch or branch stage of route '" + stage.name() + "'");
        if (owner != null) {
          problems.add(
              "route '"
                  + stage.name()
                  + "': the name '"
                  + name
                  + "' of a branch or branch stage is also "
                  + owner
                  + "; names are unique across the pipeline's graph (they name the steps in"
                  + " metadata, errors and metrics), give it its own");
        }
      }
    }
  }
}
