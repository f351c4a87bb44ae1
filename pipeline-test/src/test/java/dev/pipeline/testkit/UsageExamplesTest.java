package dev.pipeline.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.RecordFilteredException;
import dev.pipeline.Stage;
import dev.pipeline.StageContext;
import dev.pipeline.StageName;
import dev.pipeline.resilience.RetryPolicy;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The examples of the test kit's javadoc, kept here so that they compile and pass. */
class UsageExamplesTest {

  @Test
  void manualClockExample() {
    Stage<String, String> flakyStage = new PriceLookup(new FlakyService(3));
    // from ManualClock's javadoc
    ManualClock clock = ManualClock.create();
    StageTester.of(flakyStage)
        .retry(RetryPolicy.exponential(Duration.ofSeconds(1), Duration.ofMinutes(1)))
        .clock(clock)
        .run("excavator");
    assertThat(clock.sleeps())
        .containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(4));
  }

  @Test
  void stageTesterExample() {
    FlakyService flakyService = new FlakyService(2);
    // from StageTester's javadoc
    StageResult<String> cleaned = StageTester.of(Cleaner::clean).run("  Excavator ");
    assertThat(cleaned.output()).isEqualTo("excavator");

    ManualClock clock = ManualClock.create();
    StageResult<String> priced =
        StageTester.of(new PriceLookup(flakyService))
            .retry(RetryPolicy.exponential(Duration.ofSeconds(1), Duration.ofMinutes(1)))
            .clock(clock)
            .run("excavator");
    assertThat(priced.attempts()).isEqualTo(3);
    assertThat(clock.sleeps()).containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2));
  }

  @Test
  void pipelineTesterExample() {
    // from PipelineTester's javadoc
    PipelineTester<String, String> tester =
        PipelineTester.forPipeline(
            "listings",
            String.class,
            pipeline ->
                pipeline
                    .stage(StageName.CLEANING, Cleaner::clean)
                    .stage(StageName.VALIDATION, Validator::validate));
    PipelineTestResult<String> result = tester.run(List.of("  Excavator ", "", "crane"));
    assertThat(result.published()).containsEntry("record-1", "excavator");
    assertThat(result.filtered()).containsEntry("record-2", "empty listing");
  }

  static final class Cleaner {
    static String clean(String listing) {
      String cleaned = listing.strip().toLowerCase(Locale.ROOT);
      if (cleaned.isEmpty()) {
        throw RecordFilteredException.because("empty listing");
      }
      return cleaned;
    }
  }

  static final class Validator {
    static String validate(String listing) {
      if (listing.length() > 200) {
        throw RecordFilteredException.because("too long");
      }
      return listing;
    }
  }

  /** A remote service that times out a given number of times, then answers. */
  static final class FlakyService {
    private final AtomicInteger failuresLeft;

    FlakyService(int failures) {
      this.failuresLeft = new AtomicInteger(failures);
    }

    String price(String item) throws IOException {
      if (failuresLeft.getAndDecrement() > 0) {
        throw new IOException("price service timed out");
      }
      return item + ": 12000 EUR";
    }
  }

  record PriceLookup(FlakyService service) implements Stage<String, String> {
    @Override
    public String process(String input, StageContext context) throws IOException {
      return service.price(input);
    }
  }
}
