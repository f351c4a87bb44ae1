package dev.pipeline.source;

import static dev.pipeline.StageName.CLEANING;
import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.Envelope;
import dev.pipeline.Pipeline;
import dev.pipeline.RunResult;
import dev.pipeline.RunStatus;
import dev.pipeline.StageContext;
import dev.pipeline.store.DeadLetter;
import dev.pipeline.store.DeadLetterQuery;
import dev.pipeline.store.InMemoryPipelineStore;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileSourcePipelineTest {
  record Order(String id, int cents) {
    static Order of(Map<String, String> row) {
      return new Order(row.get("id"), Integer.parseInt(row.get("cents")));
    }

    static Order unreadable(Map<String, String> row) {
      return new Order(String.valueOf(row.get("id")), -1);
    }
  }

  @Test
  void aPipelineOverADirectoryOfCsvFilesDeadLettersTheBadRowsAndPublishesTheRest(
      @TempDir Path inbox) throws Exception {
    ByteArrayOutputStream january = new ByteArrayOutputStream();
    january.writeBytes("id,cents\nA,100\n\"B\n\",x\nC,300\n".getBytes(StandardCharsets.UTF_8));
    january.writeBytes("D,\"4".getBytes(StandardCharsets.UTF_8));
    january.write(0xFF);
    january.writeBytes("\"\nE,500,extra\nF,600\n".getBytes(StandardCharsets.UTF_8));
    Files.write(inbox.resolve("2026-01.csv"), january.toByteArray());
    Files.writeString(inbox.resolve("2026-02.csv"), "id,cents\nG,seven\nH,800\n");
    Queue<Envelope<Order>> published = new ConcurrentLinkedQueue<>();
    Pipeline<Order, Order> pipeline =
        Pipeline.builder("orders", Order.class)
            .store(InMemoryPipelineStore.create())
            .stage(CLEANING, (Order o, StageContext context) -> o, o -> o.batchSize(8))
            .sink(published::addAll)
            .alerts(alert -> {})
            .build();
    FileFormat<Order> orders =
        FileFormat.csvWithHeader(CsvOptions.defaults()).map(Order::of, Order::unreadable);

    RunResult result = pipeline.run(FileSources.directory("inbox", inbox, "*.csv", orders));

    assertThat(result.status()).isEqualTo(RunStatus.COMPLETED);
    assertThat(result.read()).isEqualTo(8);
    assertThat(published)
        .extracting(Envelope::payload)
        .containsExactlyInAnyOrder(
            new Order("A", 100), new Order("C", 300), new Order("F", 600), new Order("H", 800));
    assertThat(result.deadLettered()).isEqualTo(4);
    List<DeadLetter> dead = pipeline.deadLetters().find(DeadLetterQuery.all()).items();
    Map<String, DeadLetter> byId =
        dead.stream().collect(Collectors.toMap(DeadLetter::recordId, Function.identity()));
    assertThat(byId)
        .containsOnlyKeys(
            "inbox/2026-01.csv-3",
            "inbox/2026-01.csv-6",
            "inbox/2026-01.csv-7",
            "inbox/2026-02.csv-2");
    assertThat(byId.get("inbox/2026-01.csv-3").lastError().message())
        .contains("row at line 3 of source 'inbox/2026-01.csv' was rejected by its mapper")
        .contains("NumberFormatException")
        .contains("it starts at byte 15");
    assertThat(byId.get("inbox/2026-01.csv-6").lastError().message())
        .contains("row at line 6 of source 'inbox/2026-01.csv' has field 2 not valid UTF-8")
        .contains("it starts at byte 28");
    assertThat(byId.get("inbox/2026-01.csv-7").lastError().message())
        .contains("has 3 fields where the header (line 1) has 2");
    assertThat(byId.get("inbox/2026-02.csv-2").payload(Order.class)).isEqualTo(new Order("G", -1));
    assertThat(dead).allSatisfy(d -> assertThat(d.stage()).isEqualTo(CLEANING.value()));
  }
}
