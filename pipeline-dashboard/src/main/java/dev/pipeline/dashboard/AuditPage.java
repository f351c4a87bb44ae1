package dev.pipeline.dashboard;

import dev.pipeline.Pipeline;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.store.AuditEntry;
import dev.pipeline.store.AuditQuery;
import dev.pipeline.store.Page;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.event.Level;

/**
 * The audit trail: what stages logged and what the engine and operators decided, searchable by
 * record id, stage, least level, time range and text, a page at a time (the store's cursor). Every
 * text in it came from a stage, a record or an operator and is escaped.
 */
final class AuditPage {
  /** Lines per page unless the request says ({@code limit}, 1 to 500). */
  static final int PAGE = 100;

  /** The lines about one record shown on its trace page. */
  static final int RECORD_LINES = 50;

  /** The end of a time range given only its start. */
  private static final Instant NO_END = Instant.parse("9999-12-31T00:00:00Z");

  private static final String[] LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"};

  private AuditPage() {}

  /** The search a request asks for: its filters, and the query for the store. */
  private record Search(
      @Nullable String id,
      @Nullable String stage,
      Level level,
      @Nullable Instant since,
      @Nullable Instant until,
      @Nullable String text,
      int limit,
      AuditQuery query) {

    static Search of(Params params) {
      String id = params.get("id");
      if (id != null && id.length() > 1_000) {
        throw new BadRequestException("a record id is at most 1,000 characters");
      }
      String stage = params.get("stage");
      if (stage != null && stage.length() > 63) {
        throw new BadRequestException("no stage has a name that long");
      }
      String text = params.get("text");
      if (text != null && text.length() > AuditQuery.MAX_TEXT_CHARS) {
        throw new BadRequestException(
            "the search text is longer than " + AuditQuery.MAX_TEXT_CHARS + " characters");
      }
      Level level = parseLevel(params.get("level"));
      Instant since = params.instant("since");
      Instant until = params.instant("until");
      int limit = params.integer("limit", 1, 500, PAGE);
      AuditQuery query = AuditQuery.all().limit(limit).atLeast(level);
      if (id != null) {
        query = query.recordId(id);
      }
      if (stage != null) {
        query = query.stage(stage);
      }
      if (text != null) {
        query = query.containing(text);
      }
      if (since != null || until != null) {
        Instant from = since == null ? Instant.EPOCH : since;
        Instant to = until == null ? NO_END : until;
        if (to.isBefore(from)) {
          throw new BadRequestException("'until' is before 'since'");
        }
        query = query.between(from, to);
      }
      String after = params.get("after");
      if (after != null) {
        try {
          query = query.after(after);
        } catch (IllegalArgumentException e) {
          throw new BadRequestException("that is not a page of the audit trail: start again");
        }
      }
      return new Search(id, stage, level, since, until, text, limit, query);
    }

    /** The query string of the filters (no cursor), starting with '&amp;'. */
    String filters() {
      StringBuilder out = new StringBuilder();
      append(out, "id", id);
      append(out, "stage", stage);
      append(out, "level", level == Level.TRACE ? null : level.name());
      append(out, "since", since);
      append(out, "until", until);
      append(out, "text", text);
      append(out, "limit", limit == PAGE ? null : limit);
      return out.toString();
    }

    private static void append(StringBuilder out, String name, @Nullable Object value) {
      if (value != null) {
        out.append('&').append(name).append('=').append(Paths.encode(value.toString()));
      }
    }
  }

  private static Level parseLevel(@Nullable String name) {
    if (name == null) {
      return Level.TRACE;
    }
    for (String level : LEVELS) {
      if (level.equals(name.toUpperCase(Locale.ROOT))) {
        return Level.valueOf(level);
      }
    }
    throw new BadRequestException("level must be one of TRACE, DEBUG, INFO, WARN or ERROR");
  }

  static View render(Pipeline<?, ?> pipeline, Request request) {
    Search search = Search.of(request.query());
    Page<AuditEntry> page = read(pipeline, search.query());
    View view = new View();
    Html h = view.html();
    String name = pipeline.name();
    h.raw("<h1>").text(name).raw(" · audit trail</h1>");
    form(h, pipeline, search);
    table(view, "audit", name, page.items(), true);
    List<View.Item> next = new ArrayList<>(1);
    if (page.nextCursor() != null) {
      String href =
          "/audit?pipeline="
              + Paths.encode(name)
              + search.filters()
              + "&after="
              + Paths.encode(page.nextCursor());
      next.add(new View.Item("next page →", "", href));
    }
    // the page is read again on every poll: lines matching the search appear as they come
    view.liveList("audit.next", next, "the newest lines: new ones matching appear as they come");
    return view;
  }

  /**
   * The lines about one record, for its trace page: the first {@value #RECORD_LINES}, with a link
   * to the rest.
   */
  static void forRecord(Pipeline<?, ?> pipeline, String id, View view) {
    String all = "/audit?pipeline=" + Paths.encode(pipeline.name()) + "&id=" + Paths.encode(id);
    Html h = view.html();
    h.raw("<h2>Audit trail</h2>");
    Page<AuditEntry> page = read(pipeline, AuditQuery.all().recordId(id).limit(RECORD_LINES));
    table(view, "record.audit", pipeline.name(), page.items(), false);
    h.raw("<p>").link(all, page.hasNext() ? "every line about this record →" : "search the audit");
    h.raw("</p>");
  }

  private static Page<AuditEntry> read(Pipeline<?, ?> pipeline, AuditQuery query) {
    try {
      return pipeline.auditTrail(query);
    } catch (IllegalArgumentException e) {
      throw new BadRequestException(
          "the store did not take this search: " + ErrorText.defaults().message(e));
    }
  }

  private static void table(
      View view, String key, String pipeline, List<AuditEntry> lines, boolean recordColumn) {
    Html h = view.html();
    h.raw("<table class=\"audit\"><thead><tr><th>at</th><th>level</th><th>stage</th>");
    if (recordColumn) {
      h.raw("<th>record</th>");
    }
    h.raw("<th>event</th><th>message</th></tr></thead>");
    List<View.Row> rows = new ArrayList<>(lines.size());
    for (AuditEntry line : lines) {
      List<View.Cell> cells = new ArrayList<>(6);
      cells.add(new View.Cell(line.at().toString()));
      cells.add(new View.Cell(line.level().name()));
      cells.add(new View.Cell(line.stage() == null ? "" : line.stage()));
      if (recordColumn) {
        String id = line.recordId();
        cells.add(
            new View.Cell(
                id == null ? "" : id,
                id == null ? "" : Paths.record("", pipeline, id),
                "id",
                Map.of()));
      }
      cells.add(new View.Cell(line.event()));
      cells.add(new View.Cell(line.message(), "", "message", line.metadata()));
      rows.add(new View.Row(css(line.level()), cells));
    }
    view.liveRows(key, rows, recordColumn ? 6 : 5, "no lines match");
    h.raw("</table>");
  }

  private static String css(Level level) {
    return switch (level) {
      case ERROR -> "red";
      case WARN -> "amber";
      default -> "";
    };
  }

  private static void form(Html h, Pipeline<?, ?> pipeline, Search search) {
    h.raw("<form method=\"get\" action=\"/audit\" class=\"filters\">");
    h.raw("<input type=\"hidden\" name=\"pipeline\" value=\"").text(pipeline.name()).raw("\">");
    input(h, "record", "id", search.id(), "record id", 1_000);
    h.raw("<label>stage <select name=\"stage\"><option value=\"\">any</option>");
    for (String stage : DeadLetterPage.steps(pipeline)) {
      h.raw("<option value=\"").text(stage);
      h.raw(stage.equals(search.stage()) ? "\" selected>" : "\">").text(stage).raw("</option>");
    }
    h.raw("</select></label><label>level at least <select name=\"level\">");
    for (String level : LEVELS) {
      h.raw("<option").raw(level.equals(search.level().name()) ? " selected>" : ">");
      h.text(level).raw("</option>");
    }
    h.raw("</select></label>");
    input(h, "since", "since", search.since(), "2026-12-06T07:00:00Z", 40);
    input(h, "until", "until", search.until(), "2026-12-06T08:00:00Z", 40);
    input(h, "text", "text", search.text(), "in the message", AuditQuery.MAX_TEXT_CHARS);
    h.raw("<button type=\"submit\">Search</button></form>");
  }

  private static void input(
      Html h, String label, String name, @Nullable Object value, String hint, int max) {
    h.raw("<label>").text(label).raw(" <input name=\"").raw(name).raw("\" value=\"");
    h.text(value == null ? "" : value, 1_000).raw("\" placeholder=\"").text(hint);
    h.raw("\" maxlength=\"").text(max).raw("\"></label>");
  }
}
