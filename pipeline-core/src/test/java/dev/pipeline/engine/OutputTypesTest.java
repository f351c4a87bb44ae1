package dev.pipeline.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pipeline.SplitStage;
import dev.pipeline.Stage;
import dev.pipeline.StageContext;
import dev.pipeline.StageFunction;
import java.util.List;
import org.junit.jupiter.api.Test;

class OutputTypesTest {
  record Item(String name) {}

  static class Naming implements Stage<String, Item> {
    @Override
    public Item process(String input, StageContext context) {
      return new Item(input);
    }
  }

  static final class Subclass extends Naming {}

  static final class Passing<T> implements StageFunction<T, T> {
    @Override
    public T apply(T input) {
      return input;
    }
  }

  static final class Listing implements StageFunction<String, List<Item>> {
    @Override
    public List<Item> apply(String input) {
      return List.of();
    }
  }

  interface Named extends Stage<String, Item> {}

  static final class ThroughAnInterface implements Named {
    @Override
    public Item process(String input, StageContext context) {
      return new Item(input);
    }
  }

  static final class Splitter implements SplitStage<String, Item> {
    @Override
    public List<Item> split(String input, StageContext context) {
      return List.of(new Item(input));
    }
  }

  @Test
  void aClassDeclaresItsOutputTypeOnItselfASuperclassOrAnInterface() {
    assertThat(OutputTypes.declaredBy(new Naming())).isEqualTo(Item.class);
    assertThat(OutputTypes.declaredBy(new Subclass())).isEqualTo(Item.class);
    assertThat(OutputTypes.declaredBy(new ThroughAnInterface())).isEqualTo(Item.class);
    assertThat(OutputTypes.declaredBy(new Listing())).isEqualTo(List.class);
    assertThat(OutputTypes.declaredBy(new Splitter())).as("a child's type").isEqualTo(Item.class);
  }

  @Test
  void aLambdaOrATypeVariableDeclaresNothing() {
    StageFunction<String, Item> lambda = Item::new;
    Stage<String, Item> stage = (input, context) -> new Item(input);

    assertThat(OutputTypes.declaredBy(lambda)).isNull();
    assertThat(OutputTypes.declaredBy(stage)).isNull();
    assertThat(OutputTypes.declaredBy(new Passing<String>())).isNull();
  }
}
