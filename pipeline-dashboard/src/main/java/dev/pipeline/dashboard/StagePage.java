package dev.pipeline.dashboard;

import dev.pipeline.Pipeline;
import dev.pipeline.SafeText;
import dev.pipeline.StageName;
import dev.pipeline.StageOptions;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.metrics.PipelineMetrics;
import dev.pipeline.metrics.ResilienceMetrics;
import dev.pipeline.metrics.StageMetrics;
import dev.pipeline.metrics.StageWindow;
import dev.pipeline.resilience.CircuitBreaker;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A stage: charts over time (throughput, p50/p95/p99, errors, queue; CPU in cores and allocated
 * bytes when the pipeline samples resources), its numbers and its policies' live state (circuit,
 * rate, batch size).
 */
final class StagePage {
  private static final Logger log = LoggerFactory.getLogger(StagePage.class);

  /** How far back the charts reach. */
  static final Duration CHART_SPAN = Duration.ofMinutes(30);

  private StagePage() {}

  /**
   * The stage named by the request, checked against the pipeline: a stage, the sink, a route
   * branch's sink or the store.
   */
  static StageMetrics stage(Pipeline<?, ?> pipeline, Params query) {
    String name = query.require("stage");
    PipelineMetrics metrics = pipeline.metrics();
    for (StageMetrics stage : metrics.all()) {
      if (stage.stage().equals(name)) {
        return stage;
      }
    }
    throw new BadRequestException(404, "the pipeline has no stage of that name, or it has not run");
  }

  static View render(Board board, Pipeline<?, ?> pipeline, StageMetrics stage) {
    View view = new View();
    Html h = view.html();
    String name = pipeline.name();
    String k = "st.";
    h.raw("<h1>").text(name).raw(" · stage ").text(stage.stage()).raw(" ");
    Health.Verdict verdict = Health.stage(stage, board.lastPoint(name, stage.stage()));
    view.live(k + "health", verdict.why(), verdict.level().css());
    h.raw("</h1>");
    String series =
        "/api/series?pipeline=" + Paths.encode(name) + "&stage=" + Paths.encode(stage.stage());
    boolean sampled = resourcesSampled(board, pipeline, stage.stage());
    h.raw("<div class=\"charts\">");
    chart(h, series, "rate", "throughput (records/s)");
    chart(h, series, "latency", "call time p50 / p95 / p99 (ms)");
    chart(h, series, "errors", "errors (per s)");
    chart(h, series, "queue", "queue depth");
    if (sampled) {
      chart(h, series, "cpu", "CPU (cores)");
      chart(h, series, "alloc", "allocated (MB/s)");
    }
    h.raw("</div>");
    if (!sampled) {
      h.raw("<p class=\"empty\" id=\"resources-not-sampled\">CPU and memory: not sampled. Build");
      h.raw(" the pipeline with <code>resourceSampling(true)</code> to chart this stage's CPU");
      h.raw(" (cores) and allocated bytes from its metrics history.</p>");
    }
    h.raw("<div class=\"columns\"><section><h2>Numbers</h2><dl class=\"figures\">");
    view.figure("in", k + "in", Format.count(stage.recordsIn()));
    view.figure("passed", k + "passed", Format.count(stage.passed()));
    view.figure("filtered", k + "filtered", Format.count(stage.filtered()));
    view.figure("failed", k + "failed", Format.count(stage.failed()));
    view.figure("retries", k + "retries", Format.count(stage.retries()));
    view.figure("records/s", k + "rate", Format.rate(stage.recordsPerSecond()));
    view.figure("p50", k + "p50", Format.duration(stage.p50()));
    view.figure("p95", k + "p95", Format.duration(stage.p95()));
    view.figure("p99", k + "p99", Format.duration(stage.p99()));
    view.figure("max", k + "max", Format.duration(stage.max()));
    view.figure("queue", k + "queue", Format.count(stage.queueDepth()));
    view.figure("busy", k + "busy", Format.percent(stage.utilization()));
    view.figure("workers", k + "workers", Integer.toString(stage.concurrency()));
    h.raw("</dl></section><section><h2>Policies</h2><dl class=\"figures\">");
    ResilienceMetrics r = stage.resilience();
    view.figure("circuit", k + "circuit", circuit(stage));
    view.figure(
        "rate limit",
        k + "ratelimit",
        Double.isInfinite(r.ratePerSecond()) ? "none" : Format.rate(r.ratePerSecond()));
    view.figure("batch size", k + "batch", Integer.toString(r.batchSize()));
    view.figure("batch splits", k + "splits", Format.count(r.batchSplits()));
    view.figure("parked", k + "parked", Format.count(r.parked()));
    view.figure("held", k + "held", Format.count(r.held()));
    view.figure("degraded", k + "degraded", Format.count(r.degraded()));
    view.figure("retry success", k + "retryok", Format.percent(r.retrySuccessRate()));
    options(h, pipeline, stage.stage());
    h.raw("</dl></section></div>");
    h.raw("<section><h2>Errors by type</h2>");
    List<View.Item> errors = new ArrayList<>();
    new TreeMap<>(stage.errorsByType())
        .forEach(
            (type, count) ->
                errors.add(
                    new View.Item(
                        type + ": " + Format.count(count),
                        "",
                        "/dead-letters?pipeline="
                            + Paths.encode(name)
                            + "&stage="
                            + Paths.encode(stage.stage())
                            + "&type="
                            + Paths.encode(type))));
    view.liveList(k + "errors", errors, "no errors");
    h.raw("</section><section><h2>Circuit transitions</h2>");
    List<View.Item> transitions = new ArrayList<>();
    List<CircuitBreaker.Transition> all = transitions(pipeline, stage.stage());
    for (int i = all.size() - 1; i >= 0 && transitions.size() < 20; i--) {
      CircuitBreaker.Transition t = all.get(i);
      transitions.add(
          new View.Item(
              t.at() + "  " + t.from() + " → " + t.to() + ": " + t.reason(),
              t.to() == CircuitBreaker.State.OPEN ? "red" : "",
              ""));
    }
    view.liveList(k + "transitions", transitions, "no transitions");
    h.raw("</section>");
    return view;
  }

  /** Whether any stored window of the chart span has CPU and allocation sampled. */
  private static boolean resourcesSampled(Board board, Pipeline<?, ?> pipeline, String stage) {
    return storedWindows(board, pipeline, stage).stream().anyMatch(StagePage::sampled);
  }

  private static List<CircuitBreaker.Transition> transitions(
      Pipeline<?, ?> pipeline, String stage) {
    try {
      return pipeline.circuitTransitions(StageName.of(stage));
    } catch (IllegalArgumentException e) {
      return List.of();
    }
  }

  private static void options(Html h, Pipeline<?, ?> pipeline, String stage) {
    StageOptions options;
    try {
      options = pipeline.options(StageName.of(stage));
    } catch (IllegalArgumentException e) {
      return;
    }
    h.raw("<div><dt>timeout</dt><dd>");
    h.text(options.timeout() == null ? "none" : Format.duration(options.timeout()));
    h.raw("</dd></div><div><dt>retry policy</dt><dd>").text(options.retryPolicy(), 200);
    h.raw("</dd></div>");
  }

  private static void chart(Html h, String series, String metric, String title) {
    h.raw("<figure class=\"chart\"><figcaption>").text(title).raw("</figcaption>");
    h.raw("<svg class=\"chart\" viewBox=\"0 0 480 170\" role=\"img\" aria-label=\"").text(title);
    h.raw("\" data-series=\"").text(series).raw("\" data-metric=\"").text(metric);
    h.raw("\"></svg></figure>");
  }

  /** A stage's circuit as shown: its state, or "none". */
  static String circuit(StageMetrics stage) {
    CircuitBreaker.State state = stage.resilience().circuit();
    return state == null ? "none" : state.name().toLowerCase(java.util.Locale.ROOT);
  }

  /**
   * The chart data of a stage: times and one array per metric; the CPU and allocation charts have
   * times of their own ({@code t.cpu}), those of the stored windows, which alone carry them.
   */
  static String series(Board board, Pipeline<?, ?> pipeline, String stage) {
    Instant since = board.now().minus(CHART_SPAN);
    List<StagePoint> points = board.history().stageHistory(pipeline.name(), stage, since);
    int n = points.size();
    List<Object> t = new ArrayList<>(n);
    List<Object> rate = new ArrayList<>(n);
    List<Object> errors = new ArrayList<>(n);
    List<Object> p50 = new ArrayList<>(n);
    List<Object> p95 = new ArrayList<>(n);
    List<Object> p99 = new ArrayList<>(n);
    List<Object> queue = new ArrayList<>(n);
    for (StagePoint point : points) {
      t.add(point.at().toEpochMilli());
      rate.add(point.recordsPerSecond());
      errors.add(point.errorsPerSecond());
      p50.add(point.p50().toNanos() / 1e6);
      p95.add(point.p95().toNanos() / 1e6);
      p99.add(point.p99().toNanos() / 1e6);
      queue.add(point.queueDepth());
    }
    List<StageWindow> windows = storedWindows(board, pipeline, stage);
    List<Object> resourceTimes = new ArrayList<>(windows.size());
    List<Object> cpu = new ArrayList<>(windows.size());
    List<Object> alloc = new ArrayList<>(windows.size());
    for (StageWindow w : windows) {
      resourceTimes.add(w.end().toEpochMilli());
      // a window not sampled is a gap in the line, not a zero
      boolean sampled = sampled(w);
      cpu.add(sampled ? w.cpuUsage() : null);
      alloc.add(sampled ? w.allocatedBytes() / 1e6 / (w.length().toNanos() / 1e9) : null);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("t", t);
    out.put("rate", List.of(rate));
    out.put("latency", List.of(p50, p95, p99));
    out.put("errors", List.of(errors));
    out.put("queue", List.of(queue));
    out.put("t.cpu", resourceTimes);
    out.put("cpu", List.of(cpu));
    out.put("t.alloc", resourceTimes);
    out.put("alloc", List.of(alloc));
    return Json.write(out);
  }

  /** Whether a stored window has CPU time and allocation (the pipeline samples resources). */
  private static boolean sampled(StageWindow w) {
    return w.cpuUsage() >= 0 && w.allocatedBytes() >= 0;
  }

  /** The stage's stored windows of the chart span; none if the store keeps none or fails. */
  private static List<StageWindow> storedWindows(
      Board board, Pipeline<?, ?> pipeline, String stage) {
    try {
      Instant now = board.now();
      return pipeline.metricsHistory(
          StageName.of(stage), now.minus(CHART_SPAN), now.plusSeconds(1));
    } catch (RuntimeException e) {
      // no history kept, or the store did not answer: nothing to chart
      log.debug(
          "stored windows of {} / {} unreadable: {}",
          SafeText.loggable(pipeline.name()),
          SafeText.loggable(stage),
          ErrorText.defaults().stackTrace(e));
      return List.of();
    }
  }
}
