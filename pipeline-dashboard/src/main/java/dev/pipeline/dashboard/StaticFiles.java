package dev.pipeline.dashboard;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** The dashboard's script, style sheet and icon, read from the module once. */
final class StaticFiles {
  record File(String contentType, byte[] bytes) {}

  private final Map<String, File> files =
      Map.of(
          "dashboard.js", load("dashboard.js", "text/javascript; charset=utf-8"),
          "dashboard.css", load("dashboard.css", "text/css; charset=utf-8"),
          "favicon.svg", load("favicon.svg", "image/svg+xml"));

  @Nullable File get(String name) {
    return files.get(name);
  }

  private static File load(String name, String type) {
    try (InputStream in = StaticFiles.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("the dashboard's " + name + " is missing from its jar");
      }
      return new File(type, in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException("could not read the dashboard's " + name, e);
    }
  }
}
