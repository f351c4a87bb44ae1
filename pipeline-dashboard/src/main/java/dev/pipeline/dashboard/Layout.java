package dev.pipeline.dashboard;

import dev.pipeline.Pipeline;

/** The frame of every page: head, navigation, then the page's body. */
final class Layout {
  private Layout() {}

  /**
   * The whole page around {@code body}; {@code pipeline} is the one the navigation links to, which
   * shows the quality page if the dashboard has a quality source.
   */
  static String page(
      String title,
      String active,
      Pipeline<?, ?> pipeline,
      Request request,
      View body,
      boolean quality) {
    String p = Paths.encode(pipeline.name());
    Html out = new Html();
    out.raw("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    out.raw("<title>").text(title).raw(" · pipeline dashboard</title>");
    out.raw(
        "<link rel=\"stylesheet\" href=\"/static/dashboard.css\">"
            + "<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">");
    out.raw("<script src=\"/static/dashboard.js\" defer></script></head><body>");
    out.raw("<header><nav><span class=\"brand\">pipeline dashboard</span>");
    nav(out, active, "overview", "/", "Overview");
    nav(out, active, "dead-letters", "/dead-letters?pipeline=" + p, "Dead letters");
    nav(out, active, "retries", "/retries?pipeline=" + p, "Retry queue");
    nav(out, active, "workers", "/workers?pipeline=" + p, "Workers");
    if (quality) {
      nav(out, active, "quality", "/quality?pipeline=" + p, "Quality");
    }
    nav(out, active, "audit", "/audit?pipeline=" + p, "Audit trail");
    out.raw("<form class=\"lookup\" method=\"get\" action=\"/record\">");
    out.raw("<input type=\"hidden\" name=\"pipeline\" value=\"").text(pipeline.name()).raw("\">");
    out.raw(
        "<input name=\"id\" placeholder=\"record id\" maxlength=\"1000\" aria-label=\"record id\">");
    out.raw("<button type=\"submit\">Trace</button></form>");
    out.raw("<span class=\"who\">").text(request.role().name().toLowerCase(java.util.Locale.ROOT));
    out.raw("</span></nav></header><main>");
    String flash = request.session().takeFlash();
    if (flash != null) {
      out.raw("<p class=\"flash\" id=\"flash\">").text(flash).raw("</p>");
    }
    out.raw(body.html().toString());
    out.raw("</main></body></html>");
    return out.toString();
  }

  private static void nav(Html out, String active, String key, String href, String label) {
    out.raw(active.equals(key) ? "<a class=\"active\" href=\"" : "<a href=\"");
    out.raw(Html.escape(href)).raw("\">").text(label).raw("</a>");
  }

  /** A hidden CSRF field for a form that POSTs. */
  static void csrf(Html out, Request request) {
    out.raw("<input type=\"hidden\" name=\"csrf\" value=\"").text(request.session().csrf());
    out.raw("\">");
  }
}
