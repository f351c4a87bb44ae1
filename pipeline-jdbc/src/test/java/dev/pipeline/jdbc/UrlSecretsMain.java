package dev.pipeline.jdbc;

/**
 * Builds a store on the URL given as the first argument and closes it, in a child JVM whose logging
 * is at DEBUG (see {@link JdbcUrlTest}); prints the store.
 */
public final class UrlSecretsMain {
  private UrlSecretsMain() {}

  public static void main(String[] args) {
    for (int i = 1; i < args.length; i++) {
      try (JdbcPipelineStore store =
          JdbcPipelineStore.builder().jdbcUrl(args[i], null, null).schema(args[0]).build()) {
        System.out.println("built " + store);
      }
    }
  }
}
