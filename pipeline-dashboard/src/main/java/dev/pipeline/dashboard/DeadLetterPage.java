package dev.pipeline.dashboard;

import dev.pipeline.Pipeline;
import dev.pipeline.store.DeadLetter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Dead letters: search by stage, error type, time and text; reprocess or discard the ones ticked,
 * or every one matching the search.
 */
final class DeadLetterPage {
  /** Dead letters sent back or discarded per call to the store. */
  private static final int CHUNK = 500;

  private DeadLetterPage() {}

  static View render(Pipeline<?, ?> pipeline, Request request) {
    DeadLetterSearch search = DeadLetterSearch.of(request.query(), request.role() != Role.OPERATOR);
    DeadLetterSearch.Result result = search.find(pipeline);
    View view = new View();
    Html h = view.html();
    String name = pipeline.name();
    h.raw("<h1>").text(name).raw(" · dead letters</h1>");
    filterForm(h, pipeline, search);
    h.raw("<p class=\"summary\" id=\"result-summary\">").text(result.items().size());
    h.raw(" shown")
        .text(
            result.cut()
                ? " (stopped after reading "
                    + result.scanned()
                    + " dead letters: narrow the search, or go on)"
                : "");
    h.raw("</p>");
    boolean operator = request.role() == Role.OPERATOR;
    if (operator) {
      h.raw("<form method=\"post\" action=\"/dead-letters/reprocess\" id=\"selected\">");
      Layout.csrf(h, request);
      hidden(h, "pipeline", name);
      filterFields(h, search);
    }
    h.raw("<table class=\"dead-letters\"><thead><tr>");
    if (operator) {
      h.raw("<th><span class=\"sr\">select</span></th>");
    }
    h.raw("<th>record</th><th>stage</th><th>error</th><th>message</th><th>attempts</th>");
    h.raw("<th>dead-lettered</th></tr></thead><tbody>");
    for (DeadLetter letter : result.items()) {
      h.raw("<tr>");
      if (operator) {
        h.raw("<td><input type=\"checkbox\" name=\"id\" value=\"");
        h.text(Paths.formId(letter.recordId()), Paths.MAX_FORM_ID);
        h.raw("\" aria-label=\"select\"></td>");
      }
      h.raw("<td class=\"id\">").link(Paths.record("", name, letter.recordId()), letter.recordId());
      h.raw("</td><td>").text(letter.stage()).raw("</td><td>");
      h.text(letter.lastError().errorType(), 200).raw("</td><td class=\"message\">");
      h.text(letter.lastError().message(), 300).raw("</td><td>").text(letter.attempts());
      h.raw("</td><td>").text(letter.deadLetteredAt()).raw("</td></tr>");
    }
    if (result.items().isEmpty()) {
      h.raw("<tr><td colspan=\"7\" class=\"empty\">no dead letters match</td></tr>");
    }
    h.raw("</tbody></table>");
    if (operator) {
      h.raw("<div class=\"actions\"><button type=\"submit\" name=\"scope\" value=\"selected\">");
      h.raw("Reprocess selected</button>");
      h.raw(
          "<button type=\"submit\" name=\"scope\" value=\"filter\">Reprocess all matching</button>");
      h.raw("<input name=\"reason\" maxlength=\"500\" placeholder=\"reason to discard\"");
      h.raw(" aria-label=\"reason to discard\">");
      h.raw("<button type=\"submit\" formaction=\"/dead-letters/discard\" name=\"scope\"");
      h.raw(" value=\"selected\" class=\"danger\">Discard selected</button>");
      h.raw("<button type=\"submit\" formaction=\"/dead-letters/discard\" name=\"scope\"");
      h.raw(" value=\"filter\" class=\"danger\">Discard all matching</button></div></form>");
    }
    if (result.next() != null) {
      StringBuilder next = new StringBuilder("/dead-letters?pipeline=" + Paths.encode(name));
      query(next, search);
      next.append("&after=").append(Paths.encode(result.next()));
      h.raw("<p>").link(next.toString(), "next page →").raw("</p>");
    }
    return view;
  }

  /**
   * What a record can be kept at, for a filter: the stages, the sink and each route branch's sink
   * (a dead letter that came back from the retry queue there, its audit lines).
   */
  static List<String> steps(Pipeline<?, ?> pipeline) {
    List<String> steps = new ArrayList<>();
    pipeline.stages().forEach(s -> steps.add(s.value()));
    steps.add("sink");
    pipeline.branchSinks().forEach(s -> steps.add(s.value()));
    return steps;
  }

  private static void filterForm(Html h, Pipeline<?, ?> pipeline, DeadLetterSearch search) {
    h.raw("<form method=\"get\" action=\"/dead-letters\" class=\"filters\">");
    hidden(h, "pipeline", pipeline.name());
    h.raw("<label>stage <select name=\"stage\"><option value=\"\">any</option>");
    for (String stage : steps(pipeline)) {
      h.raw("<option value=\"")
          .text(stage)
          .raw(stage.equals(search.stage()) ? "\" selected>" : "\">");
      h.text(stage).raw("</option>");
    }
    h.raw("</select></label>");
    input(h, "error type", "type", search.errorType(), "e.g. TimeoutException");
    input(h, "since", "since", search.since(), "2026-12-06T07:00:00Z");
    input(h, "until", "until", search.until(), "2026-12-06T08:00:00Z");
    input(h, "text", "text", search.text(), "in id, payload or message");
    h.raw("<button type=\"submit\">Search</button></form>");
  }

  private static void input(Html h, String label, String name, Object value, String hint) {
    h.raw("<label>").text(label).raw(" <input name=\"").raw(name).raw("\" value=\"");
    h.text(value == null ? "" : value).raw("\" placeholder=\"").text(hint);
    h.raw("\" maxlength=\"200\"></label>");
  }

  private static void hidden(Html h, String name, Object value) {
    h.raw("<input type=\"hidden\" name=\"").raw(name).raw("\" value=\"").text(value, 1_000);
    h.raw("\">");
  }

  private static void filterFields(Html h, DeadLetterSearch search) {
    if (search.stage() != null) {
      hidden(h, "stage", search.stage());
    }
    if (search.errorType() != null) {
      hidden(h, "type", search.errorType());
    }
    if (search.since() != null) {
      hidden(h, "since", search.since());
    }
    if (search.until() != null) {
      hidden(h, "until", search.until());
    }
    if (search.text() != null) {
      hidden(h, "text", search.text());
    }
  }

  private static void query(StringBuilder out, DeadLetterSearch search) {
    if (search.stage() != null) {
      out.append("&stage=").append(Paths.encode(search.stage()));
    }
    if (search.errorType() != null) {
      out.append("&type=").append(Paths.encode(search.errorType()));
    }
    if (search.since() != null) {
      out.append("&since=").append(search.since());
    }
    if (search.until() != null) {
      out.append("&until=").append(search.until());
    }
    if (search.text() != null) {
      out.append("&text=").append(Paths.encode(search.text()));
    }
  }

  /**
   * Reprocesses or discards the dead letters a POST names: the ticked ids ({@code scope=selected})
   * or every match of the search ({@code scope=filter}, at most {@link
   * DeadLetterSearch#MAX_ACTION}). Says what it did in the session's message and returns where to
   * go next.
   */
  static String act(Pipeline<?, ?> pipeline, Request request, boolean discard) {
    request.requireOperator();
    Params form = request.form();
    String reason = form.get("reason");
    if (discard && reason == null) {
      throw new BadRequestException("give a reason to discard dead letters; it is kept with each");
    }
    if (reason != null && reason.length() > 500) {
      throw new BadRequestException("the reason is longer than 500 characters");
    }
    DeadLetterSearch search = DeadLetterSearch.of(form, false);
    List<String> ids;
    boolean cut = false;
    String scope = form.require("scope");
    if (scope.equals("selected")) {
      ids = form.all("id").stream().map(Paths::idFromForm).toList();
      if (ids.isEmpty()) {
        throw new BadRequestException("tick at least one dead letter, or act on all matching");
      }
    } else if (scope.equals("filter")) {
      DeadLetterSearch.Result result = search.ids(pipeline, DeadLetterSearch.MAX_ACTION);
      ids = new ArrayList<>(result.items().size());
      for (DeadLetter letter : result.items()) {
        if (ids.size() < DeadLetterSearch.MAX_ACTION) {
          ids.add(letter.recordId());
        }
      }
      cut = result.next() != null;
    } else {
      throw new BadRequestException("scope must be 'selected' or 'filter'");
    }
    Set<String> done = new LinkedHashSet<>();
    for (int i = 0; i < ids.size(); i += CHUNK) {
      List<String> chunk = ids.subList(i, Math.min(ids.size(), i + CHUNK));
      if (discard) {
        done.addAll(pipeline.deadLetters().discard(chunk, reason, request.by()));
      } else {
        done.addAll(pipeline.deadLetters().reprocess(chunk, request.by()));
      }
    }
    String verb = discard ? "discarded" : "sent back to be processed again";
    request
        .session()
        .flash(
            done.size()
                + " dead letters "
                + verb
                + (cut
                    ? " (the first "
                        + DeadLetterSearch.MAX_ACTION
                        + " matching; act again for more)"
                    : "")
                + (done.size() < ids.size()
                    ? "; " + (ids.size() - done.size()) + " were no longer dead letters"
                    : "")
                + (discard || done.isEmpty()
                    ? ""
                    : "; the pipeline's next run, or resume(), processes them"));
    StringBuilder next =
        new StringBuilder("/dead-letters?pipeline=" + Paths.encode(pipeline.name()));
    query(next, search);
    return next.toString();
  }
}
