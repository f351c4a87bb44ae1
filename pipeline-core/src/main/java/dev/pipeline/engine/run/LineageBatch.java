package dev.pipeline.engine.run;

import dev.pipeline.store.LineageEvent;
import java.util.List;

/**
 * The lineage events of one batch a worker handed on, for the telemetry writer: the first {@code
 * goingOn} are of records that go on to another event (see {@link LineageHold}), the rest of
 * records that end at the stage.
 */
record LineageBatch(List<LineageEvent> events, int goingOn) {}
