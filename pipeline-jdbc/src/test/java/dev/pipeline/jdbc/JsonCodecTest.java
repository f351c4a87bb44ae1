package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.jsontype.BasicPolymorphicTypeValidator;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonCodecTest {
  record Listing(
      String id, String title, double price, List<String> tags, Map<String, Object> extra) {}

  @Test
  void recordsRoundTrip() {
    JsonCodec<Listing> codec = JsonCodec.of(Listing.class);
    Listing listing =
        new Listing("l-1", "Excavator", 12_500.5, List.of("used"), Map.of("hours", 120));

    assertThat(codec.decode(codec.encode(listing))).isEqualTo(listing);
    assertThat(codec.name()).isEqualTo("json:" + Listing.class.getName());
    assertThat(codec.type()).isEqualTo(Listing.class);
  }

  @Test
  void unknownPropertiesAreIgnoredSoOlderPayloadsStillRead() {
    JsonCodec<Listing> codec = JsonCodec.of(Listing.class);
    byte[] older =
        "{\"id\":\"l-1\",\"title\":\"x\",\"price\":1,\"tags\":[],\"extra\":{},\"removed\":true}"
            .getBytes(StandardCharsets.UTF_8);
    assertThat(codec.decode(older).id()).isEqualTo("l-1");
  }

  @Test
  void classNamesInTheDataAreNeverFollowed() {
    JsonCodec<Object> codec = JsonCodec.of(Object.class);
    byte[] hostile = "[\"java.net.URL\",\"http://attacker\"]".getBytes(StandardCharsets.UTF_8);
    assertThat(codec.decode(hostile)).isInstanceOf(List.class);
  }

  @Test
  void aMapperWithDefaultTypingIsRefused() {
    ObjectMapper unsafe =
        JsonMapper.builder()
            .activateDefaultTyping(
                BasicPolymorphicTypeValidator.builder().allowIfBaseType(Object.class).build(),
                ObjectMapper.DefaultTyping.NON_FINAL)
            .build();
    assertThatThrownBy(() -> JsonCodec.of(Listing.class, unsafe))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("default typing");
  }

  @JsonTypeInfo(use = JsonTypeInfo.Id.CLASS)
  public static class ByClassName {
    public String value = "";
  }

  @JsonTypeInfo(use = JsonTypeInfo.Id.MINIMAL_CLASS)
  public static class ByMinimalClassName {
    public String value = "";
  }

  public record Holder(String id, ByClassName inner) {}

  public record Deep(String id, List<Map<String, Holder>> holders) {}

  public record MinimalInList(List<ByMinimalClassName> items) {}

  public record AnnotatedProperty(@JsonTypeInfo(use = JsonTypeInfo.Id.CLASS) Object any) {}

  public record Narrowed(@JsonDeserialize(as = ByClassName.class) Object any) {}

  @JsonTypeInfo(use = JsonTypeInfo.Id.NAME)
  @JsonSubTypes({
    @JsonSubTypes.Type(value = Dog.class, name = "dog"),
    @JsonSubTypes.Type(value = Cat.class, name = "cat")
  })
  public interface Animal {}

  public record Dog(String name) implements Animal {}

  public record Cat(String name, ByClassName toy) implements Animal {}

  @JsonTypeInfo(use = JsonTypeInfo.Id.NAME)
  @JsonSubTypes(@JsonSubTypes.Type(value = Puppy.class, name = "puppy"))
  public interface Pet {}

  public record Puppy(String name) implements Pet {}

  public record Owner(String name, Pet pet) {}

  public static class Plain {
    public String value = "";
  }

  @Test
  void aPayloadTypeReadByClassNameIsRefusedNamingItAndTheFix() {
    assertThatThrownBy(() -> JsonCodec.of(ByClassName.class))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(ByClassName.class.getName())
        .hasMessageContaining("the payload type itself")
        .hasMessageContaining("JsonTypeInfo.Id.CLASS")
        .hasMessageContaining("JsonTypeInfo.Id.NAME");
  }

  @Test
  void aPropertyOfATypeReadByClassNameIsRefusedNamingTheProperty() {
    assertThatThrownBy(() -> JsonCodec.of(Holder.class))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("payload type " + Holder.class.getName())
        .hasMessageContaining("property 'inner' of " + Holder.class.getName())
        .hasMessageContaining("JsonTypeInfo.Id.NAME");
    assertThatThrownBy(() -> JsonCodec.of(Deep.class))
        .as("inside a list of maps")
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("property 'inner' of " + Holder.class.getName());
    assertThatThrownBy(() -> JsonCodec.of(MinimalInList.class))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("property 'items'")
        .hasMessageContaining("MINIMAL_CLASS");
    assertThatThrownBy(() -> JsonCodec.of(AnnotatedProperty.class))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("property 'any'");
    assertThatThrownBy(() -> JsonCodec.of(Narrowed.class, new ObjectMapper()))
        .as("declared Object, read as a type taken by class name")
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("property 'any' of " + Narrowed.class.getName());
  }

  @Test
  void aRegisteredSubtypeWithAPropertyReadByClassNameIsRefused() {
    assertThatThrownBy(() -> JsonCodec.of(Animal.class))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("property 'toy' of " + Cat.class.getName());
  }

  @Test
  void typesReadByRegisteredNamesAreAccepted() {
    JsonCodec<Owner> codec = JsonCodec.of(Owner.class);
    Owner owner = new Owner("ann", new Puppy("rex"));
    assertThat(codec.decode(codec.encode(owner))).isEqualTo(owner);
  }

  @Test
  void aCallersMapperIsCheckedTooMixInsIncluded() {
    ObjectMapper withMixIn = JsonMapper.builder().addMixIn(Plain.class, ByClassName.class).build();
    assertThatThrownBy(() -> JsonCodec.of(Plain.class, withMixIn))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(Plain.class.getName());
    assertThatThrownBy(() -> JsonCodec.of(Holder.class, new ObjectMapper()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("property 'inner'");
  }

  @Test
  void badBytesAreAnIllegalArgument() {
    JsonCodec<Listing> codec = JsonCodec.of(Listing.class);
    assertThatThrownBy(() -> codec.decode("{not json".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(Listing.class.getName());
    assertThatThrownBy(() -> codec.decode("null".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
