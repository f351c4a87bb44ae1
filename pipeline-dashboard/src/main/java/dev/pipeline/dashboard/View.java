package dev.pipeline.dashboard;

import dev.pipeline.store.AuditEntry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One rendering of a page: its HTML, and the values that change while it is open ("live" values,
 * each under a key). The page's script polls the same page as JSON ({@code /api/live/...}), which
 * renders it again and sends only the live values, so the HTML and its updates come from one code
 * path.
 */
final class View {
  private final Html html = new Html();
  private final Map<String, Object> values = new LinkedHashMap<>();
  private final Map<String, Object> lists = new LinkedHashMap<>();
  private final Map<String, Object> tables = new LinkedHashMap<>();

  Html html() {
    return html;
  }

  /** Writes a live value: a span whose text and level the script updates. */
  View live(String key, Object text, String level) {
    String css = level.isEmpty() ? "live" : "live lvl-" + level;
    html.raw("<span class=\"" + css + "\" data-live=\"").text(key).raw("\">").text(text);
    html.raw("</span>");
    values.put(key, Map.of("t", String.valueOf(text), "l", level));
    return this;
  }

  /** Writes a live value without a level. */
  View live(String key, Object text) {
    return live(key, text, "");
  }

  /** Writes a labelled live value, one figure of a {@code <dl class="figures">}. */
  View figure(String label, String key, Object value) {
    html.raw("<div><dt>").text(label).raw("</dt><dd>");
    live(key, value);
    html.raw("</dd></div>");
    return this;
  }

  /** An item of a live list: text, level, and a link ("" for none). */
  record Item(String text, String level, String href) {}

  /** Writes a live list: a {@code <ul>} whose items the script replaces. */
  View liveList(String key, List<Item> items, String empty) {
    html.raw("<ul class=\"live-list\" data-live-list=\"").text(key);
    html.raw("\" data-empty=\"").text(empty).raw("\">");
    if (items.isEmpty()) {
      html.raw("<li class=\"empty\">").text(empty).raw("</li>");
    }
    List<Object> json = new ArrayList<>();
    for (Item item : items) {
      html.raw("<li class=\"lvl-").text(item.level()).raw("\">");
      if (item.href().isEmpty()) {
        html.text(item.text());
      } else {
        html.link(item.href(), item.text());
      }
      html.raw("</li>");
      json.add(Map.of("t", item.text(), "l", item.level(), "h", item.href()));
    }
    html.raw("</ul>");
    lists.put(key, json);
    return this;
  }

  /**
   * A cell of a live table: text, a link ("" for none), a CSS class of the module's own ("" for
   * none) and key-value details shown under the text (empty for none).
   */
  record Cell(String text, String href, String css, Map<String, String> details) {
    Cell(String text) {
      this(text, "", "", Map.of());
    }
  }

  /** A row of a live table: its CSS class of the module's own ("" for none) and its cells. */
  record Row(String css, List<Cell> cells) {}

  /**
   * Writes the body of a live table: a {@code <tbody>} whose rows the script replaces, with one row
   * saying {@code empty} when there are none.
   */
  View liveRows(String key, List<Row> rows, int columns, String empty) {
    html.raw("<tbody data-live-rows=\"").text(key).raw("\" data-empty=\"").text(empty);
    html.raw("\" data-columns=\"").text(columns).raw("\">");
    if (rows.isEmpty()) {
      html.raw("<tr><td colspan=\"").text(columns).raw("\" class=\"empty\">").text(empty);
      html.raw("</td></tr>");
    }
    List<Object> json = new ArrayList<>(rows.size());
    for (Row row : rows) {
      html.raw(row.css().isEmpty() ? "<tr>" : "<tr class=\"" + row.css() + "\">");
      List<Object> cells = new ArrayList<>(row.cells().size());
      for (Cell cell : row.cells()) {
        html.raw(cell.css().isEmpty() ? "<td>" : "<td class=\"" + cell.css() + "\">");
        if (cell.href().isEmpty()) {
          html.text(cell.text(), AuditEntry.MAX_MESSAGE_CHARS);
        } else {
          html.link(cell.href(), cell.text());
        }
        if (!cell.details().isEmpty()) {
          html.raw("<dl class=\"meta\">");
          for (Map.Entry<String, String> e : cell.details().entrySet()) {
            html.raw("<div><dt>").text(e.getKey(), AuditEntry.MAX_METADATA_CHARS).raw("</dt><dd>");
            html.text(e.getValue(), AuditEntry.MAX_METADATA_CHARS).raw("</dd></div>");
          }
          html.raw("</dl>");
        }
        html.raw("</td>");
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("t", cell.text());
        if (!cell.href().isEmpty()) {
          c.put("h", cell.href());
        }
        if (!cell.css().isEmpty()) {
          c.put("c", cell.css());
        }
        if (!cell.details().isEmpty()) {
          List<Object> pairs = new ArrayList<>();
          cell.details().forEach((k, v) -> pairs.add(List.of(k, v)));
          c.put("d", pairs);
        }
        cells.add(c);
      }
      html.raw("</tr>");
      json.add(Map.of("c", row.css(), "cells", cells));
    }
    html.raw("</tbody>");
    tables.put(key, json);
    return this;
  }

  /** Takes the live values and lists of a part rendered on its own (its HTML is the caller's). */
  void absorb(View part) {
    values.putAll(part.values);
    lists.putAll(part.lists);
    tables.putAll(part.tables);
  }

  /** The live values as JSON. */
  String liveJson() {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("values", values);
    out.put("lists", lists);
    out.put("tables", tables);
    return Json.write(out);
  }
}
