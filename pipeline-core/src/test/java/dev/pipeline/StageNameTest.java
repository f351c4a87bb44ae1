package dev.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StageNameTest {

  @Test
  void canonicalNamesResolveToTheCanonicalStagesInOrder() {
    assertThat(StageName.of("cleaning")).isSameAs(StageName.CLEANING);
    assertThat(StageName.canonical())
        .extracting(StageName::canonicalOrder)
        .containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
    assertThat(StageName.canonical()).allMatch(StageName::isCanonical);
  }

  @Test
  void userNamesAreNotCanonicalAndCompareByValue() {
    StageName dedupe = StageName.of("dedupe");

    assertThat(dedupe.isCanonical()).isFalse();
    assertThat(dedupe.canonicalOrder()).isZero();
    assertThat(dedupe).isEqualTo(StageName.of("dedupe")).hasSameHashCodeAs(StageName.of("dedupe"));
    assertThat(dedupe.value()).isEqualTo("dedupe").isEqualTo(dedupe.toString());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "a",
        "geo-code",
        "step_2",
        "x123456789012345678901234567890123456789012345678901234567890ab"
      })
  void wellFormedUserNamesAreAccepted(String name) {
    assertThat(StageName.of(name).value()).isEqualTo(name);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        " ",
        "Dedupe",
        "1st",
        "-dash",
        "with space",
        "dé",
        "dot.ted",
        "x1234567890123456789012345678901234567890123456789012345678901ab"
      })
  void malformedUserNamesAreRejectedWithTheRule(String name) {
    assertThatThrownBy(() -> StageName.of(name))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("invalid stage name '" + name + "'")
        .hasMessageContaining("lower case letters, digits, '-' and '_'");
  }

  @Test
  void nullNameIsRejected() {
    assertThatThrownBy(() -> StageName.of(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("stage name cannot be null");
  }
}
