package dev.pipeline.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
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
