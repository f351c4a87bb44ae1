package dev.pipeline.jdbc;

import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The schema and table prefix of a store, validated, and the qualified names of its tables.
 *
 * <p>Identifiers cannot be bound as JDBC parameters, so they are the only text the store puts into
 * SQL: they must match {@link #RULE} and must not be an SQL keyword of H2 or PostgreSQL. They are
 * left unquoted, so H2 folds them to upper case and PostgreSQL keeps them lower case, as a DBA
 * typing them by hand would expect.
 */
final class Names {
  /** What a schema name or table prefix may look like. */
  static final String RULE =
      "lower-case ASCII letters, digits and '_', starting with a letter or '_', at most 31"
          + " characters ([a-z_][a-z0-9_]{0,30})";

  private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]{0,30}");

  /** Reserved words of H2 2.x and PostgreSQL: an unquoted schema cannot be named so. */
  private static final Set<String> RESERVED =
      Set.of(
          "all",
          "analyse",
          "analyze",
          "and",
          "any",
          "array",
          "as",
          "asc",
          "asymmetric",
          "authorization",
          "between",
          "binary",
          "both",
          "case",
          "cast",
          "check",
          "collate",
          "collation",
          "column",
          "concurrently",
          "constraint",
          "create",
          "cross",
          "current_catalog",
          "current_date",
          "current_path",
          "current_role",
          "current_schema",
          "current_time",
          "current_timestamp",
          "current_user",
          "day",
          "default",
          "deferrable",
          "desc",
          "distinct",
          "do",
          "else",
          "end",
          "except",
          "exists",
          "false",
          "fetch",
          "for",
          "foreign",
          "freeze",
          "from",
          "full",
          "grant",
          "group",
          "groups",
          "having",
          "hour",
          "if",
          "ilike",
          "in",
          "initially",
          "inner",
          "intersect",
          "intersects",
          "interval",
          "into",
          "is",
          "isnull",
          "join",
          "key",
          "lateral",
          "leading",
          "left",
          "like",
          "limit",
          "localtime",
          "localtimestamp",
          "minus",
          "minute",
          "month",
          "natural",
          "not",
          "notnull",
          "null",
          "offset",
          "on",
          "only",
          "or",
          "order",
          "outer",
          "over",
          "overlaps",
          "partition",
          "placing",
          "primary",
          "qualify",
          "range",
          "references",
          "regexp",
          "returning",
          "right",
          "row",
          "rownum",
          "rows",
          "second",
          "select",
          "session_user",
          "set",
          "similar",
          "some",
          "symmetric",
          "system_user",
          "table",
          "tablesample",
          "then",
          "to",
          "top",
          "trailing",
          "true",
          "uescape",
          "union",
          "unique",
          "unknown",
          "user",
          "using",
          "value",
          "values",
          "variadic",
          "verbose",
          "when",
          "where",
          "window",
          "with",
          "year",
          "_rowid_");

  private final @Nullable String schema;
  private final String prefix;

  Names(@Nullable String schema, String prefix) {
    this.schema = schema;
    this.prefix = prefix;
  }

  /**
   * Checks a schema name.
   *
   * @throws IllegalArgumentException naming the value and the rule it breaks
   */
  static String checkSchema(String schema) {
    Objects.requireNonNull(schema, "schema cannot be null");
    check("schema", schema);
    if (schema.startsWith("pg_") || schema.equals("information_schema")) {
      throw new IllegalArgumentException(
          "schema "
              + quote(schema)
              + " is reserved for the database's own catalogs; choose another name");
    }
    return schema;
  }

  /**
   * Checks a table prefix; the empty prefix is allowed.
   *
   * @throws IllegalArgumentException naming the value and the rule it breaks
   */
  static String checkPrefix(String prefix) {
    Objects.requireNonNull(prefix, "tablePrefix cannot be null");
    if (!prefix.isEmpty()) {
      check("tablePrefix", prefix);
    }
    return prefix;
  }

  private static void check(String what, String value) {
    if (!IDENTIFIER.matcher(value).matches()) {
      throw new IllegalArgumentException(
          what + " " + quote(value) + " is not a valid identifier: use " + RULE);
    }
    if (what.equals("schema") && RESERVED.contains(value)) {
      throw new IllegalArgumentException(
          what
              + " "
              + quote(value)
              + " is an SQL reserved word in H2 or PostgreSQL; choose another name (e.g. '"
              + value
              + "_data')");
    }
  }

  /** A value shown safely in a message: quoted, control and non-ASCII characters escaped, cut. */
  static String quote(String value) {
    StringBuilder out = new StringBuilder("'");
    int max = Math.min(value.length(), 80);
    for (int i = 0; i < max; i++) {
      char c = value.charAt(i);
      if (c >= 0x20 && c < 0x7f && c != '\\') {
        out.append(c);
      } else {
        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
      }
    }
    if (value.length() > max) {
      out.append("...(").append(value.length()).append(" characters)");
    }
    return out.append('\'').toString();
  }

  @Nullable String schema() {
    return schema;
  }

  String prefix() {
    return prefix;
  }

  /** A table's name, qualified by the schema if one is set. */
  String table(String base) {
    return (schema == null ? "" : schema + ".") + prefix + base;
  }

  /** Fills the placeholders of a migration script: {@code ${schema}.} and {@code ${prefix}}. */
  String fill(String script) {
    return script
        .replace("${schema}.", schema == null ? "" : schema + ".")
        .replace("${prefix}", prefix);
  }

  /**
   * The full rows of records: every record with rows from ingest, every ended one with the full
   * ledger, else those off the happy path.
   */
  String status() {
    return table("pipeline_records");
  }

  /** The view answering, for every record, where it stands. */
  String statusView() {
    return table("pipeline_status");
  }

  /** The batch ledger: one row per ingested batch. */
  String batches() {
    return table("pipeline_batches");
  }

  /** The records of the batch ledger: one narrow row per record. */
  String batchRecords() {
    return table("pipeline_batch_records");
  }

  /** Where runs stopped reading seekable sources. */
  String sourcePositions() {
    return table("pipeline_source_positions");
  }

  /** What happened to a batch's records, appended per batch. */
  String batchEvents() {
    return table("pipeline_batch_events");
  }

  String stages() {
    return table("pipeline_stages");
  }

  String errors() {
    return table("pipeline_errors");
  }

  String metrics() {
    return table("pipeline_metrics");
  }

  String retryQueue() {
    return table("retry_queue");
  }

  String validationRules() {
    return table("validation_rules");
  }

  String logs() {
    return table("processing_logs");
  }

  /** Lineage events written before schema version 12, one row each. */
  String lineage() {
    return table("record_lineage");
  }

  /** Lineage events, one row per record per append with the events packed (version 12). */
  String traces() {
    return table("record_traces");
  }

  /** One row per merge group: its size and the parts counted. */
  String mergeGroups() {
    return table("pipeline_merge_groups");
  }

  /** One row per part of a merge group: an arrived child's payload, or an absent mark. */
  String mergeParts() {
    return table("pipeline_merge_parts");
  }

  /** The keys a uniqueness rule of pipeline-quality has seen (version 10). */
  String seenKeys() {
    return table("quality_seen_keys");
  }

  String schemaVersion() {
    return table("pipeline_schema_version");
  }

  /** H2 only: how many statements of a migration under way are done (see {@code Migrator}). */
  String schemaProgress() {
    return table("pipeline_schema_progress");
  }

  @Override
  public String toString() {
    return (schema == null ? "" : schema + ".") + prefix + "*";
  }
}
