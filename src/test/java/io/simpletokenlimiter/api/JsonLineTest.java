package io.simpletokenlimiter.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class JsonLineTest {

  private static final JsonMapper JSON = JsonMapper.builder().build();

  @Test
  void anyTextComesBackAsWritten() {
    String awkward = "quote \" backslash \\ newline \n tab \t nul \u0000 é 日本 😀 </script>";
    String line =
        new JsonLine()
            .text("awkward", awkward)
            .text("absent", null)
            .number("big", Long.MAX_VALUE)
            .number("negative", -1)
            .bool("yes", true)
            .end();

    JsonNode event = JSON.readTree(line);
    assertThat(event.get("awkward").asString()).isEqualTo(awkward);
    assertThat(event.get("absent").isNull()).isTrue();
    assertThat(event.get("big").asLong()).isEqualTo(Long.MAX_VALUE);
    assertThat(event.get("negative").asLong()).isEqualTo(-1);
    assertThat(event.get("yes").asBoolean()).isTrue();
    assertThat(event.propertyNames())
        .containsExactly("awkward", "absent", "big", "negative", "yes");
    assertThat(line).doesNotContain("\n");
  }

  @Test
  void anEmptyObjectIsValid() {
    assertThat(JSON.readTree(new JsonLine().end()).isEmpty()).isTrue();
  }
}
