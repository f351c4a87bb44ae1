package dev.pipeline.quality;

import dev.pipeline.PipelineClock;
import java.util.Objects;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * What the builders of this module's tables share: the database, the schema and table prefix the
 * store was given, and the clock of the times written.
 *
 * @param <B> the builder
 */
abstract class TableBuilder<B extends TableBuilder<B>> {
  final DataSource dataSource;
  @Nullable String schema;
  String prefix = "";
  PipelineClock clock = PipelineClock.system();

  TableBuilder(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  @SuppressWarnings("unchecked")
  private B self() {
    return (B) this;
  }

  /**
   * The schema of the tables, as given to the store; the connection's own unless set.
   *
   * @param schema the schema
   * @return this builder
   * @throws IllegalArgumentException unless it is [a-z_][a-z0-9_]{0,30}
   */
  public B schema(String schema) {
    this.schema = TableNames.identifier("schema", schema);
    return self();
  }

  /**
   * The prefix of the table names, as given to the store.
   *
   * @param prefix the prefix, or empty for none
   * @return this builder
   * @throws IllegalArgumentException unless it is empty or [a-z_][a-z0-9_]{0,30}
   */
  public B tablePrefix(String prefix) {
    this.prefix = prefix.isEmpty() ? "" : TableNames.identifier("tablePrefix", prefix);
    return self();
  }

  /**
   * The clock of the times written (changed_at, pinned_at); the system clock unless set.
   *
   * @param clock the clock
   * @return this builder
   */
  public B clock(PipelineClock clock) {
    this.clock = Objects.requireNonNull(clock, "clock cannot be null");
    return self();
  }
}
