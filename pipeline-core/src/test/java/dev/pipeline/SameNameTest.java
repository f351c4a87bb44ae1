package dev.pipeline;

import static dev.pipeline.StageName.ANALYSIS;
import static dev.pipeline.StageName.CLEANING;
import static dev.pipeline.StageName.INGESTION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pipeline.store.InMemoryPipelineStore;
import dev.pipeline.store.PayloadCodec;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;

/**
 * A pipeline's name is its identity in the store: a second live pipeline of the name with other
 * stages is refused at build, and the first is left as it was.
 */
class SameNameTest {
  private final InMemoryPipelineStore store = InMemoryPipelineStore.create();
  private final Queue<Envelope<String>> sink = new ConcurrentLinkedQueue<>();

  private Pipeline<String, String> cleaning() {
    return Pipeline.builder("orders", String.class)
        .store(store)
        .stage(INGESTION, (String s) -> s, o -> o.codec(PayloadCodec.string()))
        .stage(CLEANING, (String s) -> s.trim())
        .sink(sink::addAll)
        .build();
  }

  private Pipeline<String, String> analysis() {
    return Pipeline.builder("orders", String.class)
        .store(store)
        .stage(INGESTION, (String s) -> s)
        .stage(ANALYSIS, (String s) -> s)
        .build();
  }

  @Test
  void secondLivePipelineOfTheNameWithOtherStagesIsRefusedAtBuildNamingBoth() {
    Pipeline<String, String> first = cleaning();

    assertThatThrownBy(this::analysis)
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessage(
            "pipeline 'orders' is not valid (1 problem):\n"
                + "  - pipeline 'orders' is already built on InMemoryPipelineStore"
                + "[retainCompleted="
                + InMemoryPipelineStore.DEFAULT_RETAIN_COMPLETED
                + "] with stages [ingestion (input codec string), cleaning"
                + " (input codec string)]; this one has [ingestion (input codec string), analysis"
                + " (input codec none)] (stage #2 is 'cleaning' there, 'analysis' here)"
                + ". Records of one would be read with the other's codecs: give this pipeline"
                + " another name, or close the other one first (Pipeline.close() gives its name"
                + " back)");
    RunResult result = first.run(Source.of("src", List.of(" a ", "b").iterator(), s -> s));
    assertThat(result.published()).isEqualTo(2);
    assertThat(sink).extracting(Envelope::payload).containsExactlyInAnyOrder("a", "b");
  }

  @Test
  void aCodecThatDiffersIsADifferentDefinition() {
    cleaning();

    assertThatThrownBy(
            () ->
                Pipeline.builder("orders", String.class)
                    .store(store)
                    .stage(INGESTION, (String s) -> s, o -> o.codec(PayloadCodec.bytes()))
                    .stage(CLEANING, (String s) -> s)
                    .build())
        .isInstanceOf(PipelineConfigurationException.class)
        .hasMessageContaining(
            "stage 'cleaning' reads its input with codec string there, bytes here");
  }

  @Test
  void pipelinesWithTheSameStagesShareTheNameUntilEachIsClosed() {
    Pipeline<String, String> first = cleaning();
    Pipeline<String, String> rerun = cleaning();
    first.close();
    assertThatThrownBy(this::analysis).isInstanceOf(PipelineConfigurationException.class);

    rerun.close();

    assertThat(analysis().stages()).containsExactly(INGESTION, ANALYSIS);
    assertThat(store.stages("orders"))
        .extracting(s -> s.name())
        .containsExactly("ingestion", "analysis");
  }

  @Test
  void pipelinesOnTheirOwnDefaultStoresNeverClash() {
    Pipeline.builder("orders", String.class).stage(CLEANING, (String s) -> s).build();

    assertThat(
            Pipeline.builder("orders", String.class)
                .stage(ANALYSIS, (String s) -> s)
                .build()
                .stages())
        .containsExactly(ANALYSIS);
  }
}
