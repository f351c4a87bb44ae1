package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.pipeline.store.PayloadCodec;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * {@link JsonCodec} in an application without Jackson: pipeline-jdbc, pipeline-core and a caller
 * compiled against them, loaded by a class loader that sees nothing else (not the test class path,
 * where Jackson is).
 */
class JsonCodecWithoutJacksonTest {

  /** An application's call, compiled as such (reflection would load every method's types). */
  public static final class Caller implements Supplier<Object> {
    @Override
    public Object get() {
      return JsonCodec.of(String.class);
    }
  }

  @Test
  void ofWithoutJacksonThrowsIllegalStateNamingTheDependency() throws Exception {
    URL tests = Caller.class.getProtectionDomain().getCodeSource().getLocation();
    URL jdbc = JsonCodec.class.getProtectionDomain().getCodeSource().getLocation();
    URL core = PayloadCodec.class.getProtectionDomain().getCodeSource().getLocation();
    try (URLClassLoader isolated =
        new URLClassLoader(new URL[] {tests, jdbc, core}, ClassLoader.getPlatformClassLoader())) {
      assertThat(catchThrowable(() -> isolated.loadClass(JsonCodec.JACKSON_CLASS)))
          .as("the isolated loader must not see Jackson")
          .isInstanceOf(ClassNotFoundException.class);
      @SuppressWarnings("unchecked")
      Supplier<Object> caller =
          (Supplier<Object>)
              isolated.loadClass(Caller.class.getName()).getConstructor().newInstance();

      Throwable thrown = catchThrowable(caller::get);

      assertThat(thrown)
          .as("what JsonCodec.of throws without Jackson")
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("com.fasterxml.jackson.core:jackson-databind")
          .hasMessageContaining("requires com.fasterxml.jackson.databind");
    }
  }
}
