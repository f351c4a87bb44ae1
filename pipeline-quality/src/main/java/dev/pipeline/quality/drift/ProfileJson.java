package dev.pipeline.quality.drift;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A {@link WindowProfile} as JSON text and back, to keep a baseline outside the JVM (the store's
 * {@code drift_baselines} table, a file). The text holds counts only (bins, top values, lengths),
 * never Java objects; it is read back with every number and list checked, so a text edited by hand
 * or cut short is refused with the reason, never half read.
 *
 * <p>A text is at most {@value #MAX_CHARS} characters: a profile of many category fields with large
 * {@code topValues(k)} can exceed it, and is refused when written.
 */
public final class ProfileJson {

  /** The longest text written or read. */
  public static final int MAX_CHARS = 4_000_000;

  /** The longest field name read. */
  static final int MAX_NAME_CHARS = FieldProfiler.MAX_VALUE_CHARS;

  /** The version of the format, written as {@code "format"}. */
  static final int FORMAT = 1;

  private static final JsonFactory FACTORY =
      JsonFactory.builder()
          .streamReadConstraints(
              StreamReadConstraints.builder()
                  .maxNestingDepth(8)
                  .maxStringLength(MAX_CHARS)
                  .maxNumberLength(40)
                  .build())
          .build();
  private static final ObjectMapper MAPPER = new ObjectMapper(FACTORY);

  private ProfileJson() {}

  /**
   * The profile as JSON text.
   *
   * @throws IllegalArgumentException if the text would be longer than {@value #MAX_CHARS}
   *     characters, naming the stage and what to change
   */
  public static String write(WindowProfile profile) {
    Objects.requireNonNull(profile, "profile cannot be null");
    StringWriter out = new StringWriter();
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      g.writeStartObject();
      g.writeNumberField("format", FORMAT);
      g.writeStringField("stage", profile.stage());
      g.writeStringField("start", profile.start().toString());
      g.writeStringField("end", profile.end().toString());
      g.writeNumberField("records", profile.records());
      g.writeArrayFieldStart("fields");
      for (FieldProfile f : profile.fields().values()) {
        writeField(g, f);
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a StringWriter does not fail
    }
    if (out.getBuffer().length() > MAX_CHARS) {
      throw new IllegalArgumentException(
          "the profile of stage '"
              + profile.stage()
              + "' is "
              + out.getBuffer().length()
              + " characters as JSON, over the "
              + MAX_CHARS
              + " a baseline may hold; profile fewer category fields or keep fewer top values"
              + " (FieldProfiler.Builder.topValues)");
    }
    return out.toString();
  }

  private static void writeField(JsonGenerator g, FieldProfile f) throws IOException {
    g.writeStartObject();
    g.writeStringField("name", f.name());
    g.writeStringField("kind", f.kind().name());
    g.writeNumberField("records", f.records());
    g.writeNumberField("nulls", f.nulls());
    g.writeNumberField("invalid", f.invalid());
    g.writeFieldName("bins");
    g.writeArray(f.bins(), 0, f.bins().length);
    g.writeFieldName("counts");
    g.writeArray(f.binCounts(), 0, f.binCounts().length);
    writeDouble(g, "min", f.min());
    writeDouble(g, "max", f.max());
    writeDouble(g, "sum", f.sum());
    g.writeNumberField("capacity", f.capacity());
    g.writeArrayFieldStart("top");
    for (ValueCount v : f.topValues()) {
      g.writeStartObject();
      g.writeStringField("value", v.value());
      g.writeNumberField("count", v.count());
      g.writeNumberField("error", v.error());
      g.writeEndObject();
    }
    g.writeEndArray();
    g.writeFieldName("lengths");
    g.writeArray(f.lengths(), 0, f.lengths().length);
    g.writeNumberField("lengthSum", f.lengthSum());
    g.writeEndObject();
  }

  /** JSON has no NaN nor infinities: those are written as null and read back as NaN. */
  private static void writeDouble(JsonGenerator g, String name, double value) throws IOException {
    if (Double.isFinite(value)) {
      g.writeNumberField(name, value);
    } else {
      g.writeNullField(name);
    }
  }

  /**
   * The profile a text written by {@link #write} holds.
   *
   * @throws IllegalArgumentException if the text is not such a profile (malformed JSON, another
   *     format, a count out of range, a list too long), with the reason
   */
  public static WindowProfile read(String json) {
    Objects.requireNonNull(json, "json cannot be null");
    if (json.length() > MAX_CHARS) {
      throw invalid("it is " + json.length() + " characters, over " + MAX_CHARS);
    }
    JsonNode root;
    try {
      root = MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw invalid("it is not JSON: " + e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) {
      throw invalid("it is not a JSON object");
    }
    int format = (int) count(root, "format");
    if (format != FORMAT) {
      throw invalid("its format is " + format + "; this library reads format " + FORMAT);
    }
    JsonNode fields = root.get("fields");
    if (fields == null || !fields.isArray() || fields.size() > FieldProfiler.MAX_FIELDS) {
      throw invalid("'fields' must be a list of at most " + FieldProfiler.MAX_FIELDS + " fields");
    }
    Map<String, FieldProfile> profiles = new LinkedHashMap<>();
    for (JsonNode field : fields) {
      FieldProfile f = readField(field);
      if (profiles.put(f.name(), f) != null) {
        throw invalid("field '" + f.name() + "' appears twice");
      }
    }
    Instant start = instant(root, "start");
    Instant end = instant(root, "end");
    if (end.isBefore(start)) {
      throw invalid("its end " + end + " is before its start " + start);
    }
    return new WindowProfile(text(root, "stage"), start, end, count(root, "records"), profiles);
  }

  private static FieldProfile readField(JsonNode n) {
    if (!n.isObject()) {
      throw invalid("a field is not a JSON object");
    }
    String name = text(n, "name");
    if (name.length() > MAX_NAME_CHARS) {
      throw invalid("a field's name is over " + MAX_NAME_CHARS + " characters");
    }
    FieldProfile.Kind kind;
    try {
      kind = FieldProfile.Kind.valueOf(text(n, "kind"));
    } catch (IllegalArgumentException e) {
      throw invalid("field '" + name + "' has an unknown kind; use NUMBER or CATEGORY");
    }
    long records = count(n, "records");
    long nulls = count(n, "nulls");
    long invalid = count(n, "invalid");
    if (nulls + invalid > records) {
      throw invalid("field '" + name + "' has more nulls and invalid values than records");
    }
    long[] binLongs = counts(n, "bins", NumberBins.COUNT, name);
    long[] binCounts = counts(n, "counts", NumberBins.COUNT, name);
    int[] bins = new int[binLongs.length];
    for (int i = 0; i < bins.length; i++) {
      if (binLongs[i] >= NumberBins.COUNT || (i > 0 && binLongs[i] <= binLongs[i - 1])) {
        throw invalid("field '" + name + "' has bins out of order or out of range");
      }
      bins[i] = (int) binLongs[i];
    }
    if (binCounts.length != bins.length) {
      throw invalid("field '" + name + "' has " + bins.length + " bins but " + binCounts.length);
    }
    int capacity = (int) count(n, "capacity");
    if (capacity > FieldProfiler.MAX_TOP_VALUES) {
      throw invalid("field '" + name + "' keeps over " + FieldProfiler.MAX_TOP_VALUES + " values");
    }
    List<ValueCount> top = top(n, capacity, name);
    long[] lengths = counts(n, "lengths", FieldProfile.LENGTH_BINS, name);
    if (lengths.length != FieldProfile.LENGTH_BINS) {
      throw invalid("field '" + name + "' needs " + FieldProfile.LENGTH_BINS + " length bins");
    }
    return new FieldProfile(
        name,
        kind,
        records,
        nulls,
        invalid,
        bins,
        binCounts,
        number(n, "min"),
        number(n, "max"),
        number(n, "sum"),
        top,
        capacity,
        lengths,
        count(n, "lengthSum"));
  }

  private static List<ValueCount> top(JsonNode n, int capacity, String field) {
    JsonNode top = n.get("top");
    if (top == null || !top.isArray() || top.size() > capacity) {
      throw invalid("field '" + field + "' needs 'top', a list of at most " + capacity + " values");
    }
    List<ValueCount> values = new ArrayList<>(top.size());
    for (JsonNode v : top) {
      String value = v.isObject() ? text(v, "value") : "";
      if (!v.isObject() || value.length() > FieldProfiler.MAX_VALUE_CHARS) {
        throw invalid("field '" + field + "' has a top value that is not a short text");
      }
      try {
        values.add(new ValueCount(value, count(v, "count"), count(v, "error")));
      } catch (IllegalArgumentException e) {
        throw invalid("field '" + field + "': " + e.getMessage());
      }
    }
    return values;
  }

  private static long[] counts(JsonNode n, String name, int max, String field) {
    JsonNode list = n.get(name);
    if (list == null || !list.isArray() || list.size() > max) {
      throw invalid("field '" + field + "' needs '" + name + "', a list of at most " + max);
    }
    long[] values = new long[list.size()];
    for (int i = 0; i < values.length; i++) {
      JsonNode v = list.get(i);
      if (!v.canConvertToExactIntegral() || !v.canConvertToLong() || v.asLong() < 0) {
        throw invalid("field '" + field + "' has a value of '" + name + "' that is not a count");
      }
      values[i] = v.asLong();
    }
    return values;
  }

  private static long count(JsonNode n, String name) {
    JsonNode v = n.get(name);
    if (v == null
        || !v.isIntegralNumber()
        || !v.canConvertToLong()
        || v.asLong() < 0
        || v.asLong() > Integer.MAX_VALUE && name.equals("capacity")) {
      throw invalid("'" + name + "' must be a count (a whole number, 0 or more)");
    }
    return v.asLong();
  }

  private static double number(JsonNode n, String name) {
    JsonNode v = n.get(name);
    if (v == null || v.isNull()) {
      return Double.NaN;
    }
    if (!v.isNumber()) {
      throw invalid("'" + name + "' must be a number or null");
    }
    return v.asDouble();
  }

  private static String text(JsonNode n, String name) {
    JsonNode v = n.get(name);
    if (v == null || !v.isTextual()) {
      throw invalid("'" + name + "' must be a text");
    }
    return v.asText();
  }

  private static Instant instant(JsonNode n, String name) {
    try {
      return Instant.parse(text(n, name));
    } catch (DateTimeParseException e) {
      throw invalid("'" + name + "' must be an ISO-8601 instant");
    }
  }

  private static IllegalArgumentException invalid(String why) {
    return new IllegalArgumentException("not a stored profile: " + why);
  }
}
