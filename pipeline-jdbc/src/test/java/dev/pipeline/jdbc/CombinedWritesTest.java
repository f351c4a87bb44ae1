package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class CombinedWritesTest {
  private final List<List<String>> calls = new CopyOnWriteArrayList<>();
  private final CountDownLatch firstCallEntered = new CountDownLatch(1);
  private final CountDownLatch firstCallMayEnd = new CountDownLatch(1);

  /** A writer whose first call waits until the test lets it end; each call returns its writes. */
  private Function<List<String>, List<String>> writer(boolean failSecondCall) {
    return writes -> {
      calls.add(List.copyOf(writes));
      if (calls.size() == 1) {
        firstCallEntered.countDown();
        await(firstCallMayEnd);
      } else if (failSecondCall && calls.size() == 2) {
        throw new IllegalStateException("write refused: " + writes);
      }
      return List.copyOf(writes);
    };
  }

  @Test
  void aCallerAloneWritesAtOnce() {
    CombinedWrites<String, List<String>> combined = new CombinedWrites<>(List::copyOf);

    assertThat(combined.write("a")).containsExactly("a");
    assertThat(combined.write("b")).containsExactly("b");
  }

  @Test
  void writesQueuedWhileOneIsUnderWayAreWrittenTogetherInOneCall() throws Exception {
    CombinedWrites<String, List<String>> combined = new CombinedWrites<>(writer(false));

    List<CompletableFuture<List<String>>> queued = writeBAndCWhileAIsUnderWay(combined);

    CompletableFuture<List<String>> b = queued.get(0);
    CompletableFuture<List<String>> c = queued.get(1);
    assertThat(b.get(30, TimeUnit.SECONDS)).containsExactlyInAnyOrder("b", "c");
    assertThat(c.get(30, TimeUnit.SECONDS)).containsExactlyInAnyOrder("b", "c");
    assertThat(calls).hasSize(2);
    assertThat(calls.get(1)).containsExactlyInAnyOrder("b", "c");
    assertThat(combined.queued()).isZero();
  }

  @Test
  void everyCallerOfAFailedCallGetsItsFailure() throws Exception {
    CombinedWrites<String, List<String>> combined = new CombinedWrites<>(writer(true));

    List<CompletableFuture<List<String>>> queued = writeBAndCWhileAIsUnderWay(combined);

    for (CompletableFuture<List<String>> f : queued) {
      assertThatThrownBy(() -> f.get(30, TimeUnit.SECONDS))
          .hasCauseInstanceOf(IllegalStateException.class)
          .hasMessageContaining("write refused");
    }
    assertThat(combined.write("d")).as("the next write is not affected").containsExactly("d");
  }

  /**
   * Writes "a", then "b" and "c" while the call writing "a" is under way (both queued), then lets
   * that call end; checks that "a" was written alone and returns the futures of "b" and "c".
   */
  private List<CompletableFuture<List<String>>> writeBAndCWhileAIsUnderWay(
      CombinedWrites<String, List<String>> combined) throws Exception {
    CompletableFuture<List<String>> a = async(() -> combined.write("a"));
    await(firstCallEntered);
    CompletableFuture<List<String>> b = async(() -> combined.write("b"));
    CompletableFuture<List<String>> c = async(() -> combined.write("c"));
    awaitQueued(combined, 2);
    firstCallMayEnd.countDown();
    assertThat(a.get(30, TimeUnit.SECONDS)).containsExactly("a");
    return List.of(b, c);
  }

  private static <T> CompletableFuture<T> async(java.util.function.Supplier<T> call) {
    CompletableFuture<T> f = new CompletableFuture<>();
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                f.complete(call.get());
              } catch (RuntimeException e) {
                f.completeExceptionally(e);
              }
            });
    return f;
  }

  private static void awaitQueued(CombinedWrites<?, ?> combined, int n) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (combined.queued() < n) {
      assertThat(System.nanoTime() - deadline).as("writes queued in time").isNegative();
      Thread.onSpinWait();
    }
  }

  private static void await(CountDownLatch latch) {
    try {
      assertThat(latch.await(30, TimeUnit.SECONDS)).as("latch released in time").isTrue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
