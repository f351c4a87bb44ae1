package dev.pipeline.jdbc;

import static dev.pipeline.jdbc.Checks.cut;
import static dev.pipeline.jdbc.Checks.uncut;

import dev.pipeline.Envelope;
import dev.pipeline.PipelineException;
import dev.pipeline.internal.ErrorText;
import dev.pipeline.store.PayloadCodec;
import dev.pipeline.store.StorableText;
import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.IntFunction;
import org.jspecify.annotations.Nullable;

/**
 * Payloads as a {@link JdbcPipelineStore} stores them: a record encoded with its stage's codec and
 * checksummed ({@link Stored}), and a stored row read back, checked and decoded ({@link Row}).
 */
final class Payloads {
  private Payloads() {}

  /** A record's payload and metadata as stored. */
  record Stored(
      String id,
      byte[] payload,
      String format,
      long checksum,
      @Nullable String metadata,
      long token) {
    Stored withToken(long newToken) {
      return new Stored(id, payload, format, checksum, metadata, newToken);
    }
  }

  @SuppressWarnings("unchecked")
  static Stored encode(
      String pipeline, String stage, PayloadCodec<?> codec, Envelope<?> record, String what) {
    byte[] bytes;
    try {
      bytes = ((PayloadCodec<Object>) codec).encode(record.payload());
    } catch (RuntimeException e) {
      throw new PipelineException(
          "cannot encode record '"
              + record.id()
              + "' of pipeline '"
              + pipeline
              + "' for "
              + what
              + " at stage '"
              + stage
              + "' with codec "
              + codec.name()
              + " (payload "
              + record.payload().getClass().getName()
              + "): "
              + ErrorText.defaults().message(e),
          e);
    }
    String metadata = MetadataText.encode(record.metadata());
    long checksum =
        Checksums.payload(
            bytes, metadata == null ? new byte[0] : metadata.getBytes(StandardCharsets.UTF_8));
    return new Stored(record.id(), bytes, cut(codec.name(), 300), checksum, metadata, 0);
  }

  /** A stored record as read back by a claim or a dead letter listing. */
  record Row(
      String id,
      String stage,
      int attempts,
      byte @Nullable [] payload,
      @Nullable String format,
      @Nullable Long checksum,
      @Nullable String metadata,
      @Nullable String failedStage) {

    static Row read(ResultSet rs) throws SQLException {
      long checksum = rs.getLong("payload_checksum");
      Long sum = rs.wasNull() ? null : checksum;
      String failed = null;
      for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
        if (rs.getMetaData().getColumnLabel(i).equalsIgnoreCase("failed_stage")) {
          failed = uncut(rs.getString(i));
        }
      }
      return new Row(
          rs.getString("record_id"),
          StorableText.unescape(rs.getString("current_stage")),
          rs.getInt("attempt_count"),
          rs.getBytes("payload"),
          rs.getString("payload_format"),
          sum,
          rs.getString("metadata"),
          failed);
    }
  }

  static Object decode(PipelineDef def, Row row) {
    byte[] payload = row.payload();
    if (payload == null) {
      throw new PayloadIntegrityException(
          row.id(),
          row.stage(),
          "record '" + row.id() + "' has no stored payload at stage '" + row.stage() + "'");
    }
    String metadata = row.metadata();
    long actual =
        Checksums.payload(
            payload, metadata == null ? new byte[0] : metadata.getBytes(StandardCharsets.UTF_8));
    if (row.checksum() == null || row.checksum() != actual) {
      throw new PayloadIntegrityException(
          row.id(),
          row.stage(),
          "checksum mismatch on the stored payload of record '"
              + row.id()
              + "' at stage '"
              + row.stage()
              + "': stored "
              + row.checksum()
              + ", computed "
              + actual
              + " over "
              + payload.length
              + " bytes; the row was changed outside the store or damaged");
    }
    if (!def.knows(row.stage())) {
      // the engine reports a stage that no longer exists, with the record's id
      return payload;
    }
    PayloadCodec<?> codec = def.codec(row.stage());
    if (codec == null) {
      throw new PayloadIntegrityException(
          row.id(),
          row.stage(),
          "record '"
              + row.id()
              + "' is stored at stage '"
              + row.stage()
              + "', which now has no input codec to read it (stored as "
              + row.format()
              + ")");
    }
    try {
      MetadataText.decode(metadata);
      return codec.decode(payload);
    } catch (RuntimeException e) {
      throw new PayloadIntegrityException(
          row.id(),
          row.stage(),
          "cannot decode the stored payload of record '"
              + row.id()
              + "' at stage '"
              + row.stage()
              + "' (stored as "
              + row.format()
              + ") with codec "
              + codec.name()
              + ": "
              + ErrorText.defaults().message(e));
    }
  }

  static Object raw(Row row) {
    byte[] payload = row.payload();
    return payload == null ? new byte[0] : payload;
  }

  static Envelope<Object> envelope(Row row, Object payload) {
    Envelope<Object> envelope = Envelope.of(row.id(), payload);
    Map<String, String> metadata;
    try {
      metadata = MetadataText.decode(row.metadata());
    } catch (IllegalArgumentException e) {
      metadata = Map.of();
    }
    for (Map.Entry<String, String> e : metadata.entrySet()) {
      envelope = envelope.withMetadata(e.getKey(), e.getValue());
    }
    return envelope;
  }

  /** The rows' payloads, typed as byte[][] so that the driver sends them as bytea. */
  static byte[][] payloads(List<Stored> rows) {
    byte[][] out = new byte[rows.size()][];
    for (int i = 0; i < out.length; i++) {
      out[i] = rows.get(i).payload();
    }
    return out;
  }

  /** One column of rows, as a typed array for {@link Args#array}. */
  static <R, V> V[] column(List<R> rows, Function<R, V> value, IntFunction<V[]> array) {
    V[] out = array.apply(rows.size());
    for (int i = 0; i < out.length; i++) {
      out[i] = value.apply(rows.get(i));
    }
    return out;
  }
}
