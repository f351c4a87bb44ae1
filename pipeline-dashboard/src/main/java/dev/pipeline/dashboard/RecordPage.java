package dev.pipeline.dashboard;

import dev.pipeline.Pipeline;
import dev.pipeline.SafeText;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.ErrorInfo;
import dev.pipeline.store.Page;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import dev.pipeline.store.StorableText;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * A record's trace by id: what the store knows of it (status, stage, attempts, deliveries, every
 * error), for a dead letter its payload and metadata, with reprocess and discard, and its lines of
 * the audit trail.
 */
final class RecordPage {
  /** The most payload characters shown. */
  static final int MAX_PAYLOAD = 65_536;

  /** The most characters of a metadata value shown. */
  private static final int MAX_METADATA = 4_096;

  /** The most dead letters read to find one record's payload. */
  private static final int MAX_SCANNED = 10_000;

  private RecordPage() {}

  static View render(Pipeline<?, ?> pipeline, Request request) {
    String typed = request.query().require("id");
    if (typed.length() > 1_000) {
      throw new BadRequestException("a record id is at most 1,000 characters");
    }
    // a link's id as sent, spaces at its ends included (an id may have them); else as typed
    String sent = request.query().raw("id");
    String id =
        sent != null
                && !sent.equals(typed)
                && sent.length() <= 1_000
                && StorableText.idProblem(sent) == null
                && pipeline.store().find(pipeline.name(), sent).isPresent()
            ? sent
            : typed;
    View view = new View();
    Html h = view.html();
    String name = pipeline.name();
    h.raw("<h1>").text(name).raw(" · record <span class=\"id\">").text(id).raw("</span></h1>");
    Optional<RecordState> found = pipeline.store().find(name, id);
    if (found.isEmpty()) {
      h.raw("<p class=\"empty\">The store knows no record of that id in this pipeline.</p>");
      AuditPage.forRecord(pipeline, id, view);
      return view;
    }
    RecordState state = found.get();
    h.raw("<dl class=\"figures\">");
    figure(h, "status", state.status().name().toLowerCase(java.util.Locale.ROOT));
    figure(h, "stage", state.stage());
    figure(h, "attempts", state.attempts());
    figure(h, "deliveries", state.deliveries());
    figure(h, "ingested", state.startedAt());
    figure(h, "last change", state.updatedAt());
    if (state.reason() != null) {
      // a discard reason stored before reasons were masked may still hold a secret
      figure(h, "reason", SafeText.masked(state.reason(), MAX_METADATA));
    }
    h.raw("</dl><h2>Errors</h2><table class=\"errors\"><thead><tr><th>at</th><th>stage</th>");
    h.raw("<th>attempt</th><th>type</th><th>message</th></tr></thead><tbody>");
    for (ErrorInfo error : state.errors()) {
      h.raw("<tr><td>").text(error.occurredAt()).raw("</td><td>").text(error.stage());
      h.raw("</td><td>").text(error.attempt()).raw("</td><td>").text(error.errorType(), 200);
      h.raw("</td><td class=\"message\">").text(error.message(), 4_096);
      if (!error.stackTrace().isEmpty()) {
        h.raw("<details><summary>stack trace</summary><pre>").text(error.stackTrace(), 16_384);
        h.raw("</pre></details>");
      }
      h.raw("</td></tr>");
    }
    if (state.errors().isEmpty()) {
      h.raw("<tr><td colspan=\"5\" class=\"empty\">no errors</td></tr>");
    }
    h.raw("</tbody></table>");
    if (state.status() == RecordStatus.DEAD_LETTER) {
      deadLetter(pipeline, state, request, h);
    }
    AuditPage.forRecord(pipeline, id, view);
    return view;
  }

  private static void deadLetter(
      Pipeline<?, ?> pipeline, RecordState state, Request request, Html h) {
    DeadLetter letter = find(pipeline, state);
    h.raw("<h2>Payload</h2>");
    if (letter == null) {
      h.raw("<p class=\"empty\">Not found among the stage's dead letters of that time.</p>");
    } else {
      h.raw("<p>as it entered stage ").text(letter.payloadStage()).raw("</p>");
      // shown with its secrets masked to every role; an operator edits the stored text below
      h.raw("<pre class=\"payload\">");
      h.text(SafeText.masked(payload(letter.record().payload()), MAX_PAYLOAD), MAX_PAYLOAD);
      h.raw("</pre><p class=\"note\">Secrets (passwords, tokens, keys) are shown as ");
      h.text(SafeText.MASK).raw(".");
      if (request.role() == Role.OPERATOR) {
        h.raw(" The editor below holds the payload as stored.");
      }
      h.raw("</p><h2>Metadata</h2><dl class=\"figures\">");
      for (Map.Entry<String, String> e : new TreeMap<>(letter.record().metadata()).entrySet()) {
        figure(h, e.getKey(), SafeText.masked(e.getValue(), MAX_METADATA));
      }
      h.raw("</dl>");
    }
    if (request.role() == Role.OPERATOR && letter != null) {
      PayloadEditor.form(pipeline, letter, request, h);
    }
    if (request.role() == Role.OPERATOR) {
      for (boolean discard : new boolean[] {false, true}) {
        h.raw("<form method=\"post\" class=\"inline\" action=\"/dead-letters/");
        h.raw(discard ? "discard" : "reprocess").raw("\">");
        Layout.csrf(h, request);
        h.raw("<input type=\"hidden\" name=\"pipeline\" value=\"").text(pipeline.name());
        h.raw("\"><input type=\"hidden\" name=\"scope\" value=\"selected\">");
        h.raw("<input type=\"hidden\" name=\"id\" value=\"");
        h.text(Paths.formId(state.recordId()), Paths.MAX_FORM_ID);
        h.raw("\">");
        if (discard) {
          h.raw("<input name=\"reason\" maxlength=\"500\" placeholder=\"reason\" required");
          h.raw(" aria-label=\"reason to discard\">");
          h.raw("<button type=\"submit\" class=\"danger\">Discard</button>");
        } else {
          h.raw("<button type=\"submit\" id=\"reprocess\">Reprocess</button>");
        }
        h.raw("</form>");
      }
    }
  }

  /** The record's dead letter: looked for among its stage's, from just before its last change. */
  static @Nullable DeadLetter find(Pipeline<?, ?> pipeline, RecordState state) {
    DeadLetterQuery query =
        DeadLetterQuery.stage(state.stage())
            .since(state.updatedAt().minus(Duration.ofSeconds(5)))
            .limit(1_000);
    int scanned = 0;
    while (scanned < MAX_SCANNED) {
      Page<DeadLetter> page = pipeline.deadLetters().find(query);
      for (DeadLetter letter : page.items()) {
        if (letter.recordId().equals(state.recordId())) {
          return letter;
        }
      }
      scanned += page.items().size();
      if (page.nextCursor() == null) {
        return null;
      }
      query = query.after(page.nextCursor());
    }
    return null;
  }

  /** A payload as text: bytes in Base64, anything else by its {@code toString()}. */
  static String payload(@Nullable Object payload) {
    if (payload instanceof byte[] bytes) {
      return bytes.length + " bytes, Base64: " + Base64.getEncoder().encodeToString(bytes);
    }
    try {
      return String.valueOf(payload);
    } catch (RuntimeException e) {
      return "(its toString() failed: " + e.getClass().getSimpleName() + ")";
    }
  }

  private static void figure(Html h, String label, Object value) {
    h.raw("<div><dt>").text(label, 200).raw("</dt><dd>").text(value).raw("</dd></div>");
  }
}
