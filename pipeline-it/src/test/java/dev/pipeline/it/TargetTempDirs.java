package dev.pipeline.it;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.AnnotatedElementContext;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.io.TempDirFactory;

/**
 * Puts the tests' {@code @TempDir}s (the child workers' logs, sinks and journals) under {@code
 * target/it-files}, next to the surefire reports, so a failed run's files are found with the build
 * and cleaned with it. Set as the default factory in {@code junit-platform.properties}.
 */
public final class TargetTempDirs implements TempDirFactory {
  @Override
  public Path createTempDirectory(
      AnnotatedElementContext elementContext, ExtensionContext extensionContext) throws Exception {
    Path parent = Path.of(System.getProperty("basedir", "."), "target", "it-files");
    Files.createDirectories(parent);
    return Files.createTempDirectory(
        parent, extensionContext.getRequiredTestClass().getSimpleName() + "-");
  }
}
