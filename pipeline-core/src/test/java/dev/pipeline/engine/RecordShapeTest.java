package dev.pipeline.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.util.List;
import org.junit.jupiter.api.Test;

class RecordShapeTest {
  /** A declaration annotation of another name: not a mark of a nullable component. */
  @Retention(RetentionPolicy.RUNTIME)
  @interface Nullable2 {}

  /** Another library's declaration annotation of the same simple name. */
  @Retention(RetentionPolicy.RUNTIME)
  @interface Nullable {}

  record Listing(
      String id,
      long price,
      java.lang.@org.jspecify.annotations.Nullable String note,
      @Nullable String other,
      @Nullable2 String tagged,
      List<String> tags) {}

  private record Hidden(String secret) {}

  @Test
  void everyComponentNotPrimitiveNorNullableIsRequired() {
    RecordShape shape = RecordShape.of(Listing.class);

    assertThat(shape.required()).containsExactly("id", "tagged", "tags");
    assertThat(shape.unreadable()).isNull();
    assertThat(shape.nulls(new Listing("a", 1, null, null, "t", List.of()))).isNull();
    assertThat(shape.nulls(new Listing(null, 1, null, null, null, List.of())))
        .containsExactly("id", "tagged");
  }

  @Test
  void aPrivateRecordIsReadThroughItsPackagesOpening() {
    RecordShape shape = RecordShape.of(Hidden.class);

    assertThat(shape.unreadable()).isNull();
    assertThat(shape.nulls(new Hidden(null))).containsExactly("secret");
  }

  @Test
  void aShapeIsFoundOncePerClass() {
    assertThat(RecordShape.of(Listing.class)).isSameAs(RecordShape.of(Listing.class));
  }
}
