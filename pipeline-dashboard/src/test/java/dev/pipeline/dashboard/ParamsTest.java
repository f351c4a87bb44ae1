package dev.pipeline.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ParamsTest {
  @Test
  void decodesRepeatedAndBlankValues() {
    Params p = Params.parse("id=a&id=b+c&id=&x=%3Cb%3E&empty");
    assertThat(p.all("id")).containsExactly("a", "b c");
    assertThat(p.get("x")).isEqualTo("<b>");
    assertThat(p.get("empty")).isNull();
    assertThat(p.get("missing")).isNull();
  }

  @Test
  void refusesWhatIsNotBoundedOrNotWellFormed() {
    assertThatThrownBy(() -> Params.parse("text=%zz"))
        .isInstanceOf(BadRequestException.class)
        .hasMessageContaining("URL-encoded");
    assertThatThrownBy(() -> Params.parse("x=" + "a".repeat(Params.MAX_VALUE + 1)))
        .hasMessageContaining("longer than " + Params.MAX_VALUE);
    assertThatThrownBy(() -> Params.parse("a=1&".repeat(Params.MAX_PARAMS + 1)))
        .hasMessageContaining("too many parameters");
    assertThatThrownBy(() -> Params.parse("n=99").integer("n", 1, 10, 5))
        .hasMessageContaining("from 1 to 10");
    assertThatThrownBy(() -> Params.parse("t=yesterday").instant("t"))
        .hasMessageContaining("2026-12-06T07:00:00Z");
  }
}
