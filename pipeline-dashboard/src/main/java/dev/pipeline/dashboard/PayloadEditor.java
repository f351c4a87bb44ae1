package dev.pipeline.dashboard;

import dev.pipeline.Pipeline;
import dev.pipeline.StageName;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.RecordState;
import dev.pipeline.store.RecordStatus;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Edits a dead letter's payload before it is sent back. A text payload is edited as it is; another
 * type through the codec of the input it is (the codec of the stage before, of the last stage for
 * the sink, or a route branch sink's own) when that codec writes text (JSON, say). A payload of the
 * pipeline's first stage of another type than text has no codec the pipeline shows, so it cannot be
 * edited here.
 */
final class PayloadEditor {
  private PayloadEditor() {}

  /** How a payload is turned into text and back: a codec, or none for text itself. */
  private record Editable(String text, @Nullable PayloadCodec<?> codec) {}

  /** Writes the edit form for an operator, or says why the payload cannot be edited. */
  static void form(Pipeline<?, ?> pipeline, DeadLetter letter, Request request, Html h) {
    Editable editable = editable(pipeline, letter);
    h.raw("<h2>Edit and reprocess</h2>");
    if (editable == null) {
      h.raw("<p class=\"empty\">This payload cannot be edited here: it is not text, and the input");
      h.raw(" of its stage has no codec that writes text; or its text holds control characters");
      h.raw(" (other than tab and line feed) that a form would not send back as they are.</p>");
      return;
    }
    h.raw("<form method=\"post\" action=\"/dead-letters/edit\" class=\"edit\">");
    Layout.csrf(h, request);
    h.raw("<input type=\"hidden\" name=\"pipeline\" value=\"").text(pipeline.name());
    h.raw("\"><input type=\"hidden\" name=\"id\" value=\"");
    h.text(Paths.formId(letter.recordId()), Paths.MAX_FORM_ID);
    h.raw("\"><textarea name=\"payload\" rows=\"8\" aria-label=\"payload\">");
    h.text(editable.text(), RecordPage.MAX_PAYLOAD).raw("</textarea>");
    h.raw("<button type=\"submit\" id=\"reprocess-edited\">Reprocess with this payload</button>");
    h.raw("</form>");
  }

  /** Sends the dead letter a POST names back with the payload it carries. */
  static String reprocess(Pipeline<?, ?> pipeline, Request request) {
    request.requireOperator();
    String id = Paths.idFromForm(request.form().require("id"));
    String posted = request.form().raw("payload");
    if (posted == null) {
      throw new BadRequestException("parameter 'payload' is required");
    }
    // a browser sends a textarea's line breaks as CR LF; an editable payload held none
    String text = posted.replace("\r\n", "\n");
    String back = Paths.record("", pipeline.name(), id);
    RecordState state = pipeline.store().find(pipeline.name(), id).orElse(null);
    DeadLetter letter =
        state == null || state.status() != RecordStatus.DEAD_LETTER
            ? null
            : RecordPage.find(pipeline, state);
    if (letter == null) {
      request
          .session()
          .flash("record " + id + " is no longer a dead letter: nothing was sent back");
      return back;
    }
    Editable editable = editable(pipeline, letter);
    if (editable == null) {
      throw new BadRequestException("this dead letter's payload cannot be edited here");
    }
    Object payload = text;
    PayloadCodec<?> codec = editable.codec();
    if (codec != null) {
      try {
        payload = codec.decode(text.getBytes(StandardCharsets.UTF_8));
      } catch (RuntimeException e) {
        throw new BadRequestException(
            "the codec "
                + codec.name()
                + " could not read the edited payload ("
                + e.getClass().getSimpleName()
                + "): correct it and send it again");
      }
    }
    boolean sent;
    try {
      sent = pipeline.deadLetters().reprocessEdited(id, payload, request.by());
    } catch (IllegalArgumentException | UnsupportedOperationException e) {
      throw new BadRequestException(
          "the store did not take the edited payload: " + ErrorText.defaults().message(e));
    }
    request
        .session()
        .flash(
            sent
                ? "record "
                    + id
                    + " sent back with the edited payload; the pipeline's next run, or resume(),"
                    + " processes it"
                : "record " + id + " is no longer a dead letter: nothing was sent back");
    return back;
  }

  private static @Nullable Editable editable(Pipeline<?, ?> pipeline, DeadLetter letter) {
    Object payload = letter.record().payload();
    if (payload instanceof String s) {
      return s.length() <= RecordPage.MAX_PAYLOAD && Html.writesAsIs(s)
          ? new Editable(s, null)
          : null;
    }
    PayloadCodec<?> codec = inputCodec(pipeline, letter.payloadStage());
    if (codec == null || payload == null) {
      return null;
    }
    try {
      @SuppressWarnings("unchecked")
      byte[] bytes = ((PayloadCodec<Object>) codec).encode(payload);
      String text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
      return text.length() <= RecordPage.MAX_PAYLOAD && Html.writesAsIs(text)
          ? new Editable(text, codec)
          : null;
    } catch (CharacterCodingException | RuntimeException e) {
      return null; // binary, or a payload its codec will not write
    }
  }

  /**
   * The codec of a stage's input as the pipeline shows it: the stage before's, a route branch
   * sink's own (what that sink is given), or null.
   */
  private static @Nullable PayloadCodec<?> inputCodec(Pipeline<?, ?> pipeline, String stage) {
    for (StageName branchSink : pipeline.branchSinks()) {
      if (branchSink.value().equals(stage)) {
        return pipeline.options(branchSink).codec();
      }
    }
    List<StageName> stages = pipeline.stages();
    if (stage.equals("sink")) {
      return stages.isEmpty() ? null : pipeline.options(stages.get(stages.size() - 1)).codec();
    }
    for (int i = 1; i < stages.size(); i++) {
      if (stages.get(i).value().equals(stage)) {
        return pipeline.options(stages.get(i - 1)).codec();
      }
    }
    return null;
  }
}
