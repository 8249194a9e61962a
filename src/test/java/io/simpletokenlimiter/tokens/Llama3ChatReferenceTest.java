package io.simpletokenlimiter.tokens;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Every line of {@code chat-reference.jsonl}: the prompt tokens of the Llama 3.2 Instruct template
 * rendered and tokenized by Hugging Face.
 */
class Llama3ChatReferenceTest {

  static Stream<Arguments> conversations() {
    var lines = Llama3Fixture.lines("chat-reference.jsonl");
    return IntStream.range(0, lines.size()).mapToObj(i -> Arguments.of(i + 1, lines.get(i)));
  }

  @Test
  void hasAllFortyConversations() {
    assertThat(Llama3Fixture.lines("chat-reference.jsonl")).hasSize(40);
  }

  @ParameterizedTest(name = "line {0}")
  @MethodSource("conversations")
  void countsWhatVllmReports(int line, JsonNode reference) {
    PromptCount count = Llama3Fixture.counter().countChat(request(reference));

    assertThat(count).isEqualTo(PromptCount.single(reference.get("prompt_tokens").asLong()));
  }

  @ParameterizedTest(name = "line {0}")
  @MethodSource("conversations")
  void tokenizeGivesAsManyIdsAsTheCount(int line, JsonNode reference) {
    var outcome = PromptTokenizer.of(Llama3Fixture.tokenizer()).tokenize(request(reference));

    assertThat(outcome).isInstanceOf(TokenizeOutcome.Tokenized.class);
    var tokens = ((TokenizeOutcome.Tokenized) outcome).tokens();
    assertThat(tokens).hasSize(reference.get("prompt_tokens").asInt());
    assertThat(tokens.get(0)).isEqualTo(128_000);
    assertThat(tokens.subList(tokens.size() - 4, tokens.size()))
        .containsExactly(128_006, 78_191, 128_007, 271);
  }

  @ParameterizedTest(name = "line {0}")
  @MethodSource("conversations")
  void renderedIdsEqualEncodingTheWholeRenderedPrompt(int line, JsonNode reference) {
    var tokenizer = Llama3Fixture.tokenizer();
    var tokens =
        ((TokenizeOutcome.Tokenized) PromptTokenizer.of(tokenizer).tokenize(request(reference)))
            .tokens();
    int[] ids = tokens.stream().mapToInt(Integer::intValue).toArray();

    // Decoding writes the special tokens out; encoding that text in one piece must give the same
    // ids, which shows the template's split points do not change the BPE.
    assertThat(tokenizer.encode(tokenizer.decode(ids))).containsExactly(ids);
  }

  @ParameterizedTest(name = "line {0}")
  @MethodSource("conversations")
  void theByteBoundIsNeverBelowTheExactCount(int line, JsonNode reference) {
    PromptCount bound = new Utf8BoundTokenCounter().countChat(request(reference));

    assertThat(bound.totalTokens()).isGreaterThanOrEqualTo(reference.get("prompt_tokens").asLong());
  }

  private static JsonNode request(JsonNode reference) {
    ObjectNode request = Llama3Fixture.JSON.createObjectNode();
    request.put("model", "llama3.2-1b");
    request.set("messages", reference.get("messages"));
    return request;
  }
}
