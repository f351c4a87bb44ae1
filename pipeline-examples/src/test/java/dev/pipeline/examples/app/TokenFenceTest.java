package dev.pipeline.examples.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Envelope;
import org.junit.jupiter.api.Test;

class TokenFenceTest {

  private static Envelope<String> record(String id, long token) {
    return Envelope.of(id, "x").withMetadata(Envelope.FENCING_TOKEN, Long.toString(token));
  }

  @Test
  void aWriteWithALowerTokenThanOneWrittenIsRefused() {
    TokenFence fence = new TokenFence();

    assertThat(fence.admit(record("a", 2))).as("the new holder's write").isTrue();
    assertThat(fence.admit(record("a", 1))).as("a stale worker's late write").isFalse();
    assertThat(fence.admit(record("a", 2))).as("the same holder again").isTrue();
    assertThat(fence.admit(record("a", 3))).isTrue();
    assertThat(fence.admit(record("b", 1))).as("another id").isTrue();
    assertThat(fence.admit(Envelope.of("a", "x"))).as("no token: not fenced").isTrue();
    assertThat(fence.refused()).isOne();
  }
}
