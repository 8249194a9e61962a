package io.simpletokenlimiter.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.simpletokenlimiter.limit.TokenUsage;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.json.JsonMapper;

/** The usage read straight from the parser is the usage read from the tree, whatever vLLM sent. */
class ReportedUsageTest {

  private static final JsonMapper JSON = JsonMapper.builder().build();

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{\"prompt_tokens\":25,\"total_tokens\":125,\"completion_tokens\":100}",
        "{\"prompt_tokens\":25}",
        "{\"completion_tokens\":100}",
        "{}",
        "{\"prompt_tokens\":-1,\"completion_tokens\":3}",
        "{\"prompt_tokens\":2.0,\"completion_tokens\":3}",
        "{\"prompt_tokens\":\"25\",\"completion_tokens\":3}",
        "{\"prompt_tokens\":null,\"completion_tokens\":3}",
        "{\"prompt_tokens\":99999999999999999999,\"completion_tokens\":3}",
        "{\"prompt_tokens\":-9223372036854775808}",
        "{\"prompt_tokens\":9223372036854775807,\"completion_tokens\":9223372036854775807}",
        "{\"prompt_tokens\":5,\"completion_tokens\":-7}",
        "{\"prompt_tokens\":5,\"completion_tokens\":1.5}",
        "{\"prompt_tokens\":5,\"completion_tokens\":[1,2]}",
        "{\"prompt_tokens\":{\"a\":1},\"completion_tokens\":2}",
        "{\"prompt_tokens\":5,\"prompt_tokens\":6,\"completion_tokens\":1,\"completion_tokens\":2}",
        "{\"prompt_tokens\":5,\"prompt_tokens\":\"x\"}",
        "{\"prompt_tokens\":40,\"prompt_tokens_details\":{\"cached_tokens\":32}}",
        "{\"prompt_tokens\":40,\"prompt_tokens_details\":{\"cached_tokens\":320}}",
        "{\"prompt_tokens\":40,\"prompt_tokens_details\":{\"cached_tokens\":-3}}",
        "{\"prompt_tokens\":40,\"prompt_tokens_details\":{\"cached_tokens\":3.5}}",
        "{\"prompt_tokens\":40,\"prompt_tokens_details\":null}",
        "{\"prompt_tokens\":40,\"prompt_tokens_details\":[{\"cached_tokens\":3}]}",
        "{\"prompt_tokens\":40,\"prompt_tokens_details\":{\"cached_tokens\":8},"
            + "\"prompt_tokens_details\":7}",
        "{\"prompt_tokens\":40,\"prompt_tokens_details\":{\"audio\":{\"cached_tokens\":9},"
            + "\"cached_tokens\":4,\"cached_tokens\":6}}",
        "{\"extra\":{\"prompt_tokens\":1,\"nested\":[{}]},\"prompt_tokens\":7,\"completion_tokens\":1}"
      })
  void readsAsTheTreeDoes(String usage) {
    Optional<TokenUsage> fromTree = ReportedUsage.from(JSON.readTree(usage));

    try (JsonParser parser = JSON.createParser(usage + " {\"after\":1}")) {
      assertThat(parser.nextToken()).isEqualTo(JsonToken.START_OBJECT);

      assertThat(ReportedUsage.read(parser)).isEqualTo(fromTree);
      // left at the object's end: what follows is read as before
      assertThat(parser.currentToken()).isEqualTo(JsonToken.END_OBJECT);
      assertThat(parser.nextToken()).isEqualTo(JsonToken.START_OBJECT);
      assertThat(parser.nextName()).isEqualTo("after");
    }
  }

  @Test
  void cachedTokensAreCappedAtThePrompt() {
    try (JsonParser parser =
        JSON.createParser(
            "{\"prompt_tokens\":40,\"completion_tokens\":2,"
                + "\"prompt_tokens_details\":{\"cached_tokens\":320}}")) {
      parser.nextToken();

      assertThat(ReportedUsage.read(parser)).contains(new TokenUsage(40, 2, 40));
    }
  }
}
