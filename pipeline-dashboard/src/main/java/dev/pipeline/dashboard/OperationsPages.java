package dev.pipeline.dashboard;

import dev.pipeline.Pipeline;
import dev.pipeline.metrics.PipelineMetrics;
import dev.pipeline.metrics.RetryStats;
import dev.pipeline.metrics.StageMetrics;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.spi.HeldLeases;
import dev.pipeline.store.spi.RecordLedger;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** The retry queue and the workers with their leases, from what the store and metrics report. */
final class OperationsPages {
  /**
   * The most records waiting to retry the page counts: a bounded read of the store's index, never a
   * count of every record (what {@code PipelineStore.counts} may do on a big store).
   */
  static final long MAX_COUNTED = 100_000;

  private OperationsPages() {}

  static View retries(Board board, Pipeline<?, ?> pipeline) {
    View view = new View();
    Html h = view.html();
    h.raw("<h1>").text(pipeline.name()).raw(" · retry queue</h1><dl class=\"figures\">");
    long waiting = pipeline.store().count(pipeline.name(), RecordStatus.RETRY_WAIT, MAX_COUNTED);
    view.figure(
        "waiting to retry",
        "r.wait",
        waiting < MAX_COUNTED ? Format.count(waiting) : "at least " + Format.count(MAX_COUNTED));
    Optional<Instant> due = Board.retryDue(pipeline);
    boolean queue = pipeline.store() instanceof RecordLedger l && l.hasRetryQueue();
    String next =
        !queue ? "the store keeps no retry queue" : due.map(Instant::toString).orElse("none due");
    String level =
        due.isPresent() && due.get().isBefore(board.now().minusSeconds(60)) ? "amber" : "";
    h.raw("<div><dt>next due</dt><dd>");
    view.live("r.due", next, level);
    h.raw("</dd></div></dl>");
    PipelineMetrics metrics = pipeline.metrics();
    h.raw("<h2>By stage</h2><table><thead><tr><th>stage</th><th>retries</th><th>parked</th>");
    h.raw("<th>held (circuit)</th><th>retry success</th></tr></thead><tbody>");
    for (StageMetrics stage : metrics.stages()) {
      String k = "r.s." + stage.stage();
      h.raw("<tr><td>").link(Paths.stage("", pipeline.name(), stage.stage()), stage.stage());
      h.raw("</td><td>");
      view.live(k + ".retries", Format.count(stage.retries()));
      h.raw("</td><td>");
      view.live(k + ".parked", Format.count(stage.resilience().parked()));
      h.raw("</td><td>");
      view.live(k + ".held", Format.count(stage.resilience().held()));
      h.raw("</td><td>");
      view.live(k + ".ok", Format.percent(stage.resilience().retrySuccessRate()));
      h.raw("</td></tr>");
    }
    h.raw("</tbody></table><h2>By error type</h2>");
    List<View.Item> items = new ArrayList<>();
    for (StageMetrics stage : metrics.stages()) {
      Map<String, RetryStats> byType = new TreeMap<>(stage.resilience().retriesByErrorType());
      byType.forEach(
          (type, stats) ->
              items.add(
                  new View.Item(
                      stage.stage()
                          + " · "
                          + type
                          + ": "
                          + stats.recovered()
                          + " recovered, "
                          + stats.exhausted()
                          + " exhausted",
                      stats.exhausted() > stats.recovered() ? "amber" : "",
                      "")));
    }
    view.liveList("r.types", items, "no retries in this run");
    return view;
  }

  static View workers(Board board, Pipeline<?, ?> pipeline) {
    View view = new View();
    Html h = view.html();
    h.raw("<h1>").text(pipeline.name()).raw(" · workers and leases</h1>");
    h.raw("<h2>This process</h2><table><thead><tr><th>stage</th><th>workers</th><th>busy</th>");
    h.raw("<th>queue</th></tr></thead><tbody>");
    for (StageMetrics stage : pipeline.metrics().stages()) {
      String k = "w.s." + stage.stage();
      h.raw("<tr><td>").text(stage.stage()).raw("</td><td>").text(stage.concurrency());
      h.raw("</td><td>");
      view.live(k + ".busy", Format.percent(stage.utilization()));
      h.raw("</td><td>");
      view.live(k + ".queue", Format.count(stage.queueDepth()));
      h.raw("</td></tr>");
    }
    h.raw("</tbody></table><h2>Other workers' leases</h2>");
    if (!(pipeline.store() instanceof RecordLedger)) {
      h.raw("<p class=\"empty\">This store does not report leases.</p>");
      return view;
    }
    List<View.Item> items = new ArrayList<>();
    for (HeldLeases lease : Board.leases(pipeline)) {
      boolean expired = lease.expiresWithin().isZero();
      items.add(
          new View.Item(
              lease.worker()
                  + ": "
                  + Format.count(lease.records())
                  + " records, "
                  + (expired
                      ? "leases expired (stopped heartbeating)"
                      : "leases expire within " + Format.duration(lease.expiresWithin())),
              expired ? "red" : "green",
              ""));
    }
    view.liveList(
        "w.leases",
        items,
        "no other worker holds records of this pipeline (a single-process store)");
    return view;
  }
}
