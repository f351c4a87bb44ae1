package dev.pipeline.dashboard;

import dev.pipeline.Pipeline;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.metrics.PipelineMetrics;
import dev.pipeline.metrics.StageMetrics;
import dev.pipeline.store.spi.HeldLeases;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The overview: every pipeline with its state, throughput and error rate, each stage (the sink,
 * each route branch's sink and the store among them) green, amber or red, the bottleneck, and what
 * needs attention.
 */
final class OverviewPage {
  private static final Logger log = LoggerFactory.getLogger(OverviewPage.class);

  private OverviewPage() {}

  static View render(Board board) {
    View view = new View();
    Html h = view.html();
    h.raw("<h1>Pipelines</h1>");
    List<View.Item> attention = new ArrayList<>();
    StringBuilder cards = new StringBuilder();
    for (Pipeline<?, ?> pipeline : board.pipelines()) {
      View card = new View();
      card(board, pipeline, card, attention);
      cards.append(card.html());
      view.absorb(card);
    }
    h.raw("<section class=\"attention\"><h2>Needs attention</h2>");
    view.liveList("attention", attention, "nothing needs attention");
    h.raw("</section>");
    h.raw(cards.toString());
    return view;
  }

  private static void card(
      Board board, Pipeline<?, ?> pipeline, View view, List<View.Item> attention) {
    String name = pipeline.name();
    PipelineMetrics metrics = pipeline.metrics();
    List<MetricsSampler.Totals> totals = board.sampler().totals(name);
    String state = Health.state(metrics.inFlight(), totals, Board.STALL_AFTER);
    long growth = Health.deadLetterGrowth(totals, Board.GROWTH_WINDOW);
    Instant now = board.now();
    List<HeldLeases> leases = List.of();
    @Nullable Instant retryDue = null;
    try {
      leases = Board.leases(pipeline);
      retryDue = Board.retryDue(pipeline).orElse(null);
    } catch (RuntimeException e) {
      // the in-memory numbers are still worth showing; the store's own words may hold details
      // not meant for a page, so only the kind of failure is shown
      log.debug(
          "dashboard: the store of pipeline '{}' did not answer: {}",
          name,
          ErrorText.defaults().stackTrace(e));
      attention.add(
          new View.Item(
              "the store of "
                  + name
                  + " did not answer ("
                  + e.getClass().getSimpleName()
                  + "): leases and retries unknown; the numbers shown are this process's own",
              "red",
              ""));
    }
    List<Health.Attention> found =
        new ArrayList<>(
            Health.attention(
                metrics, state, growth, Board.GROWTH_WINDOW, leases, retryDue, now, ""));
    QualitySource quality = board.quality();
    if (quality != null) {
      try {
        found.addAll(Health.quality(name, QualityPage.read(quality, name), ""));
      } catch (BadRequestException e) {
        found.add(new Health.Attention(Health.Level.RED, e.getMessage(), ""));
      }
      found.sort((a, b) -> b.level().compareTo(a.level()));
    }
    for (Health.Attention a : found) {
      attention.add(new View.Item(a.text(), a.level().css(), a.href()));
    }
    String p = "p." + name;
    Html h = view.html();
    h.raw("<section class=\"pipeline\"><h2>").text(name).raw(" ");
    view.live(p + ".state", state, stateLevel(state));
    h.raw("</h2><dl class=\"figures\">");
    double[] window = window(totals);
    view.figure("throughput", p + ".rate", Format.rate(window[0]));
    view.figure("error rate", p + ".errors", Format.percent(window[1]));
    view.figure("in flight", p + ".inflight", Format.count(metrics.inFlight()));
    view.figure("published", p + ".published", Format.count(metrics.published()));
    h.raw("<div><dt>dead letters</dt><dd><a href=\"");
    h.text("/dead-letters?pipeline=" + Paths.encode(name)).raw("\">");
    view.live(p + ".dead", Format.count(metrics.deadLettered()));
    h.raw("</a></dd></div>");
    Optional<StageMetrics> bottleneck = metrics.bottleneck();
    view.figure(
        "bottleneck",
        p + ".bottleneck",
        bottleneck
            .map(s -> s.stage() + " (" + Format.percent(s.utilization()) + " busy)")
            .orElse("—"));
    h.raw("</dl>");
    h.raw("<table class=\"stages\"><thead><tr><th>stage</th><th>health</th><th>records/s</th>");
    h.raw("<th>p95</th><th>failed</th><th>queue</th><th>busy</th><th>circuit</th></tr></thead>");
    h.raw("<tbody>");
    // the sink, route branches' sinks and the store are stages of the report too
    for (StageMetrics stage : metrics.all()) {
      String s = p + ".s." + stage.stage();
      StagePoint last = board.lastPoint(name, stage.stage());
      Health.Verdict verdict = Health.stage(stage, last);
      h.raw("<tr><td>").link(Paths.stage("", name, stage.stage()), stage.stage());
      if (bottleneck.isPresent() && bottleneck.get().stage().equals(stage.stage())) {
        h.raw(" <span class=\"tag\">bottleneck</span>");
      }
      h.raw("</td><td>");
      view.live(s + ".health", verdict.why(), verdict.level().css());
      h.raw("</td><td>");
      view.live(
          s + ".rate",
          Format.rate(last == null ? stage.recordsPerSecond() : last.recordsPerSecond()));
      h.raw("</td><td>");
      view.live(s + ".p95", Format.duration(stage.p95()));
      h.raw("</td><td>");
      view.live(s + ".failed", Format.count(stage.failed()));
      h.raw("</td><td>");
      view.live(s + ".queue", Format.count(stage.queueDepth()));
      h.raw("</td><td>");
      view.live(s + ".busy", Format.percent(stage.utilization()));
      h.raw("</td><td>");
      view.live(s + ".circuit", StagePage.circuit(stage));
      h.raw("</td></tr>");
    }
    h.raw("</tbody></table></section>");
  }

  /** Records published per second and the share dead-lettered, over the last window sampled. */
  static double[] window(List<MetricsSampler.Totals> totals) {
    if (totals.size() < 2) {
      return new double[] {0, 0};
    }
    MetricsSampler.Totals last = totals.get(totals.size() - 1);
    Instant from = last.at().minus(Board.GROWTH_WINDOW);
    MetricsSampler.Totals first = totals.get(totals.size() - 2);
    for (int i = totals.size() - 2; i >= 0 && !totals.get(i).at().isBefore(from); i--) {
      first = totals.get(i);
    }
    double seconds = java.time.Duration.between(first.at(), last.at()).toNanos() / 1e9;
    long published = Math.max(0, last.published() - first.published());
    long dead = Math.max(0, last.deadLettered() - first.deadLettered());
    long done = Math.max(0, last.done() - first.done());
    return new double[] {
      seconds <= 0 ? 0 : published / seconds, done == 0 ? 0 : (double) dead / done
    };
  }

  private static String stateLevel(String state) {
    return switch (state) {
      case "stalled" -> "red";
      case "running" -> "green";
      default -> "";
    };
  }
}
