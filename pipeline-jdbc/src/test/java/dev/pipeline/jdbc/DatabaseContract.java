package dev.pipeline.jdbc;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;

/**
 * What the contracts run against H2 and PostgreSQL by their subclasses share: one database (a
 * schema of its own) per class, made by the subclass and dropped after the class; a pipeline named
 * after the test method, since the class's tests share its instance and its schema; and the stores
 * a test opens, closed after it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class DatabaseContract {
  private final List<JdbcPipelineStore> stores = new ArrayList<>();
  TestDatabase database;
  String pipeline;

  /** The database the class's tests run against. */
  abstract TestDatabase createDatabase();

  @BeforeAll
  void createSchema() {
    database = createDatabase();
  }

  @AfterAll
  void dropSchema() {
    if (database != null) {
      database.drop();
    }
  }

  @BeforeEach
  void name(TestInfo info) {
    pipeline = info.getTestMethod().orElseThrow().getName();
  }

  @AfterEach
  void closeStores() {
    stores.forEach(JdbcPipelineStore::close);
    stores.clear();
  }

  /** The store {@code builder} builds, closed after the test. */
  JdbcPipelineStore build(JdbcPipelineStoreBuilder builder) {
    JdbcPipelineStore store = builder.build();
    stores.add(store);
    return store;
  }
}
