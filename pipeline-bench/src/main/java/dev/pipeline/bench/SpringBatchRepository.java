package dev.pipeline.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import javax.sql.DataSource;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.configuration.support.MapJobRegistry;
import org.springframework.batch.core.job.Job;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.job.parameters.JobParameters;
import org.springframework.batch.core.launch.support.TaskExecutorJobOperator;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.batch.core.repository.support.JdbcJobRepositoryFactoryBean;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.core.io.ClassPathResource;
import org.springframework.jdbc.datasource.init.ScriptUtils;
import org.springframework.jdbc.support.JdbcTransactionManager;

/**
 * Spring Batch 6's JDBC job repository on a fresh bench database, as both Spring Batch baselines
 * use it ({@link SpringBatchWork}, {@link SpringBatchIoWork}): its tables made from the script in
 * Spring Batch's jar ({@code schema-h2.sql}, {@code schema-postgresql.sql}), a {@link
 * JdbcTransactionManager} on the database's counted pool, and an operator that runs a job on the
 * calling thread. Plain Java: builders, no application context, no Spring Boot.
 *
 * <p>Not thread-safe.
 */
final class SpringBatchRepository {
  static {
    // Spring logs each job and step at INFO: four lines a run, in the middle of the progress log
    if (System.getProperty("org.slf4j.simpleLogger.log.org.springframework") == null) {
      System.setProperty("org.slf4j.simpleLogger.log.org.springframework", "warn");
    }
  }

  /** The transactions of the job's chunks and of the repository, on the database's pool. */
  final JdbcTransactionManager transactions;

  /** The repository, for building steps and jobs. */
  final JobRepository repository;

  private final TaskExecutorJobOperator operator;

  private SpringBatchRepository(
      JdbcTransactionManager transactions,
      JobRepository repository,
      TaskExecutorJobOperator operator) {
    this.transactions = transactions;
    this.repository = repository;
    this.operator = operator;
  }

  /** Creates the repository's tables on {@code db} (in its schema on PostgreSQL) and opens it. */
  static SpringBatchRepository on(BenchDatabase db) throws Exception {
    createTables(db);
    DataSource dataSource = db.dataSource();
    JdbcTransactionManager transactions = new JdbcTransactionManager(dataSource);
    JdbcJobRepositoryFactoryBean factory = new JdbcJobRepositoryFactoryBean();
    factory.setDataSource(dataSource);
    factory.setTransactionManager(transactions);
    factory.setDatabaseType(db.kind == BenchDatabase.Kind.H2 ? "H2" : "POSTGRES");
    String schema = db.schema();
    if (schema != null) {
      factory.setTablePrefix(schema + ".BATCH_");
    }
    factory.afterPropertiesSet();
    JobRepository repository = factory.getObject();
    TaskExecutorJobOperator operator = new TaskExecutorJobOperator();
    operator.setJobRepository(repository);
    operator.setJobRegistry(new MapJobRegistry());
    operator.afterPropertiesSet();
    return new SpringBatchRepository(transactions, repository, operator);
  }

  /** Runs the job to its end on the calling thread (the operator's default task executor). */
  JobExecution run(Job job) throws Exception {
    return operator.start(job, new JobParameters());
  }

  /**
   * Creates Spring Batch's tables from the script in its jar, on a connection of its own: in the
   * run's schema on PostgreSQL (the script's names are unqualified), which is made first.
   */
  private static void createTables(BenchDatabase db) throws Exception {
    String schema = db.schema();
    try (Connection c = DriverManager.getConnection(db.url())) {
      if (schema != null) {
        try (Statement s = c.createStatement()) {
          s.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
          s.execute("SET search_path TO " + schema);
        }
      }
      String script = db.kind == BenchDatabase.Kind.H2 ? "h2" : "postgresql";
      ScriptUtils.executeSqlScript(
          c, new ClassPathResource("org/springframework/batch/core/schema-" + script + ".sql"));
    }
  }

  /**
   * Checks that the job completed in one step that read {@code read} items, wrote {@code written}
   * and filtered {@code filtered}, as the job's own code counted them ({@code counted}, shown if
   * not).
   *
   * @throws IllegalStateException if not: a crash, not a missed target
   */
  static void requireComplete(
      JobExecution execution, long read, long written, long filtered, Object counted) {
    List<StepExecution> steps = List.copyOf(execution.getStepExecutions());
    StepExecution step = steps.size() == 1 ? steps.get(0) : null;
    if (execution.getStatus() != BatchStatus.COMPLETED
        || step == null
        || step.getReadCount() != read
        || step.getWriteCount() != written
        || step.getFilterCount() != filtered) {
      IllegalStateException failure =
          new IllegalStateException(
              "Spring Batch job did not complete cleanly: expected "
                  + read
                  + " items read, "
                  + written
                  + " written and "
                  + filtered
                  + " filtered; "
                  + execution
                  + ", steps "
                  + steps
                  + ", counted "
                  + counted);
      execution.getAllFailureExceptions().forEach(failure::addSuppressed);
      throw failure;
    }
  }
}
