package dev.pipeline.dashboard;

import dev.pipeline.Pipeline;
import dev.pipeline.SafeText;
import dev.pipeline.dashboard.QualitySource.Finding;
import dev.pipeline.dashboard.QualitySource.Gate;
import dev.pipeline.dashboard.QualitySource.GateState;
import dev.pipeline.dashboard.QualitySource.Score;
import dev.pipeline.dashboard.QualitySource.Snapshot;
import dev.pipeline.store.AuditEntry;
import dev.pipeline.store.spi.RecordLedger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * The quality page: each gate's state and rule failures, the latest quality scores per stage, and
 * the drift and anomaly alerts, from the host's {@link QualitySource}; an operator reopens a closed
 * gate here. Every name and text came from the host or its records and is escaped.
 */
final class QualityPage {
  private static final Logger log = LoggerFactory.getLogger(QualityPage.class);

  /** The longest stage name a form may send (a stage's name has at most 63). */
  private static final int MAX_STAGE = 63;

  private QualityPage() {}

  static View render(Board board, Pipeline<?, ?> pipeline, Request request) {
    View view = new View();
    Html h = view.html();
    String name = pipeline.name();
    h.raw("<h1>").text(name).raw(" · quality</h1>");
    QualitySource source = board.quality();
    if (source == null) {
      h.raw("<p class=\"empty\">No quality source is configured: give the dashboard one with");
      h.raw(" <code>Dashboard.builder().quality(...)</code>.</p>");
      return view;
    }
    Snapshot snapshot = read(source, name);
    gates(view, name, snapshot.gates(), request);
    scores(view, snapshot.scores());
    h.raw("<h2>Drift and anomalies</h2>");
    List<View.Item> items = new ArrayList<>();
    for (Finding f : newest(snapshot.findings())) {
      items.add(
          new View.Item(
              f.at() + " · " + f.stage() + " · " + f.text(),
              f.severity() == QualitySource.Severity.ALERT ? "red" : "amber",
              ""));
    }
    view.liveList("q.findings", items, "no drift or anomaly found");
    return view;
  }

  /** The pipeline's quality, or an error safe to show if the source failed. */
  static Snapshot read(QualitySource source, String pipeline) {
    try {
      Snapshot snapshot = source.quality(pipeline);
      if (snapshot == null) {
        throw new NullPointerException("the quality source returned null");
      }
      return snapshot;
    } catch (RuntimeException e) {
      // the source's own words may hold details not meant for a page; every poll would repeat
      // them, so they are logged at debug
      log.debug(
          "dashboard: the quality source failed for pipeline '{}': {}",
          SafeText.loggable(pipeline),
          SafeText.stackTrace(e));
      throw new BadRequestException(
          503,
          "the quality source did not answer ("
              + e.getClass().getSimpleName()
              + "); the logger dev.pipeline.dashboard at DEBUG says why");
    }
  }

  private static void gates(View view, String pipeline, List<Gate> gates, Request request) {
    Html h = view.html();
    h.raw("<h2>Gates</h2>");
    if (gates.isEmpty()) {
      h.raw("<p class=\"empty\">This pipeline has no quality gate.</p>");
      return;
    }
    h.raw("<table class=\"gates\"><thead><tr><th>stage</th><th>state</th><th>checked</th>");
    h.raw("<th>tagged</th><th>filtered</th><th>dead-lettered</th><th></th></tr></thead><tbody>");
    for (Gate gate : gates) {
      String k = "q.g." + gate.stage();
      h.raw("<tr><td>").text(gate.stage(), MAX_STAGE + 1).raw("</td><td>");
      view.live(k + ".state", state(gate.state()), level(gate.state()));
      h.raw("</td><td>");
      view.live(k + ".records", Format.count(gate.records()));
      h.raw("</td><td>");
      view.live(k + ".tagged", Format.count(gate.tagged()));
      h.raw("</td><td>");
      view.live(k + ".filtered", Format.count(gate.filtered()));
      h.raw("</td><td>");
      view.live(k + ".dead", Format.count(gate.deadLettered()));
      h.raw("</td><td>");
      if (gate.reopenable() && gate.state() != GateState.OPEN && request.role() == Role.OPERATOR) {
        h.raw("<form method=\"post\" action=\"/quality/reopen\" class=\"inline\">");
        Layout.csrf(h, request);
        h.raw("<input type=\"hidden\" name=\"pipeline\" value=\"").text(pipeline).raw("\">");
        h.raw("<input type=\"hidden\" name=\"stage\" value=\"").text(gate.stage());
        h.raw("\"><button type=\"submit\">Reopen gate</button></form>");
      }
      h.raw("</td></tr>");
    }
    h.raw("</tbody></table><h2>Rule failures</h2>");
    h.raw("<table class=\"rules\"><thead><tr><th>stage</th><th>rule</th><th>records failing</th>");
    h.raw("<th>share of checked</th></tr></thead><tbody>");
    boolean any = false;
    for (Gate gate : gates) {
      for (Map.Entry<String, Long> rule : gate.failuresByRule().entrySet()) {
        any = true;
        String k = "q.g." + gate.stage() + ".r." + rule.getKey();
        h.raw("<tr><td>").text(gate.stage(), MAX_STAGE + 1).raw("</td><td>");
        h.text(rule.getKey(), 200).raw("</td><td>");
        view.live(k, Format.count(rule.getValue()));
        h.raw("</td><td>");
        double share = gate.records() == 0 ? 0 : (double) rule.getValue() / gate.records();
        view.live(k + ".share", Format.percent(share));
        h.raw("</td></tr>");
      }
    }
    if (!any) {
      h.raw("<tr><td colspan=\"4\" class=\"empty\">no record failed a rule</td></tr>");
    }
    h.raw("</tbody></table>");
  }

  /** The newest score of each stage, with a column per dimension any of them measured. */
  private static void scores(View view, List<Score> scores) {
    Html h = view.html();
    h.raw("<h2>Scores (latest window per stage, 0–100)</h2>");
    Map<String, Score> latest = new LinkedHashMap<>();
    for (Score score : scores) {
      latest.put(score.stage(), score);
    }
    if (latest.isEmpty()) {
      h.raw("<p class=\"empty\">No window has been scored yet.</p>");
      return;
    }
    Set<String> dimensions = new LinkedHashSet<>();
    latest.values().forEach(s -> dimensions.addAll(s.byDimension().keySet()));
    h.raw("<table class=\"scores\"><thead><tr><th>stage</th><th>window end</th>");
    for (String d : dimensions) {
      h.raw("<th>").text(d.toLowerCase(Locale.ROOT), 100).raw("</th>");
    }
    h.raw("<th>overall</th></tr></thead><tbody>");
    for (Score score : latest.values()) {
      String k = "q.s." + score.stage();
      h.raw("<tr><td>").text(score.stage(), MAX_STAGE + 1).raw("</td><td>");
      view.live(k + ".end", score.end());
      for (String d : dimensions) {
        h.raw("</td><td>");
        Double value = score.byDimension().get(d);
        view.live(k + "." + d, value == null ? "—" : score(value), scoreLevel(value));
      }
      h.raw("</td><td>");
      view.live(
          k + ".overall",
          score.overall() == null ? "—" : score(score.overall()),
          scoreLevel(score.overall()));
      h.raw("</td></tr>");
    }
    h.raw("</tbody></table>");
  }

  /** Reopens the gate a POST names, keeps the decision in the audit trail, says what it did. */
  static String reopen(Board board, Pipeline<?, ?> pipeline, Request request) {
    request.requireOperator();
    String stage = request.form().require("stage");
    if (stage.length() > MAX_STAGE) {
      throw new BadRequestException("no stage has a name that long");
    }
    QualitySource source = board.quality();
    if (source == null) {
      throw new BadRequestException(404, "this dashboard has no quality source");
    }
    String name = pipeline.name();
    Gate gate = null;
    for (Gate g : read(source, name).gates()) {
      if (g.stage().equals(stage)) {
        gate = g;
      }
    }
    if (gate == null) {
      throw new BadRequestException(404, "this pipeline has no quality gate at that stage");
    }
    if (!gate.reopenable()) {
      throw new BadRequestException(409, "the quality source cannot reopen this gate");
    }
    String next = "/quality?pipeline=" + Paths.encode(name);
    if (gate.state() == GateState.OPEN) {
      request.session().flash("the quality gate at stage " + stage + " is open already");
      return next;
    }
    if (!source.reopen(name, stage, request.by())) {
      throw new BadRequestException(409, "the quality source did not reopen this gate");
    }
    audit(board, pipeline, stage, gate.state(), request.by());
    request
        .session()
        .flash(
            "the quality gate at stage "
                + stage
                + " was reopened; the records it held come back as their retries fall due");
    return next;
  }

  /** One line in the pipeline's audit trail (written at once: an operator's rare decision). */
  private static void audit(
      Board board, Pipeline<?, ?> pipeline, String stage, GateState was, String by) {
    log.info(
        "dashboard: {} reopened the quality gate of pipeline '{}' at stage '{}'",
        SafeText.loggable(by),
        SafeText.loggable(pipeline.name()),
        SafeText.loggable(stage));
    if (pipeline.store() instanceof RecordLedger ledger) {
      ledger.appendAudit(
          List.of(
              new AuditEntry(
                  0,
                  board.now(),
                  pipeline.name(),
                  stage,
                  null,
                  Level.WARN,
                  "gate-reopened",
                  "quality gate reopened by "
                      + by
                      + " from the dashboard (it was "
                      + state(was)
                      + ")",
                  Map.of("by", by, "was", was.name()))));
    }
  }

  /** The newest {@link QualitySource#MAX_SHOWN} findings, newest first. */
  private static List<Finding> newest(List<Finding> findings) {
    List<Finding> out =
        new ArrayList<>(
            findings.subList(
                Math.max(0, findings.size() - QualitySource.MAX_SHOWN), findings.size()));
    Collections.reverse(out);
    return out;
  }

  static String state(GateState state) {
    return switch (state) {
      case OPEN -> "open";
      case CLOSED -> "closed: holding records";
      case TRIAL -> "on trial";
    };
  }

  static String level(GateState state) {
    return switch (state) {
      case OPEN -> "green";
      case CLOSED -> "red";
      case TRIAL -> "amber";
    };
  }

  private static String score(double value) {
    return String.format(Locale.ROOT, "%.1f", value);
  }

  private static String scoreLevel(Double value) {
    if (value == null) {
      return "";
    }
    return value < 80 ? "red" : value < 95 ? "amber" : "green";
  }
}
