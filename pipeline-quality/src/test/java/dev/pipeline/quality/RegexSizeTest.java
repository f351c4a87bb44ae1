package dev.pipeline.quality;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RegexSizeTest {
  @Test
  void multipliesCountsAlongANestingOnly() {
    assertThat(RegexSize.problem("a{1000}b{1000}(c{1000})")).isNull();
    assertThat(RegexSize.problem("(a{10}b){100}")).isNull();
    assertThat(RegexSize.problem("(a{10}b){101}")).contains("1010 copies");
    assertThat(RegexSize.problem("((a{2,}){2,40}){13}")).contains("1040 copies");
    assertThat(RegexSize.problem("x{999999999}")).contains("999999999 copies");
    assertThat(RegexSize.problem("(?:x{1000}){999999999}")).contains("more than 2147483647");
  }

  @Test
  void escapesClassesAndLiteralBracesAreNotCounts() {
    assertThat(RegexSize.problem("(\\{1000}){1000}")).isNull();
    assertThat(RegexSize.problem("([)]{1000}){1}")).isNull();
    assertThat(RegexSize.problem("(\\Q(a{50})\\E){500}")).isNull();
    assertThat(RegexSize.problem("(\\p{Greek}{10}){100}")).isNull();
    assertThat(RegexSize.problem("([[:alpha:]]{10}){101}")).contains("1010 copies");
    assertThat(RegexSize.problem("(a{x}){1000}{")).isNull();
    assertThat(RegexSize.problem("a)){5000}")).isNull(); // unbalanced: RE2/J's to say
  }
}
