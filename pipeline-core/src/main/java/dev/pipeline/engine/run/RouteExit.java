package dev.pipeline.engine.run;

import dev.pipeline.Route;

/**
 * What a {@link Route} returns for a record whose branch ends at a sink: the engine takes it out of
 * the route stage's outputs and hands {@code value} to that branch's sink. {@code input} is the
 * record's payload as it entered the route, which a dead letter of the branch's sink keeps.
 *
 * @param arm the branch, by its place in the route
 * @param value what the branch made of the record, for its sink
 * @param input the record's payload as it entered the route stage
 */
public record RouteExit(int arm, Object value, Object input) {}
