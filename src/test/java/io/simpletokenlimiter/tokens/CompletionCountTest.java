package io.simpletokenlimiter.tokens;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** {@code countCompletion} on every {@code prompt} form vLLM accepts. */
class CompletionCountTest {

  // "Hello world" is [9906, 1917] and "The quick brown fox jumps over the lazy dog." is 10 ids in
  // reference.jsonl; vLLM puts <|begin_of_text|> before each text prompt.
  private static final String HELLO = "\"Hello world\"";
  private static final String FOX = "\"The quick brown fox jumps over the lazy dog.\"";

  @Test
  void countsAStringPromptWithItsBeginOfText() {
    assertThat(exact("{\"prompt\":" + HELLO + "}")).isEqualTo(PromptCount.single(3));
  }

  @Test
  void leavesOutTheBeginOfTextWhenSpecialTokensAreOff() {
    assertThat(exact("{\"prompt\":" + HELLO + ",\"add_special_tokens\":false}"))
        .isEqualTo(PromptCount.single(2));
  }

  @Test
  void countsAListOfStringsEach() {
    assertThat(exact("{\"prompt\":[" + HELLO + "," + FOX + ",\"\"]}"))
        .isEqualTo(new PromptCount(3 + 11 + 1, 11, 3));
  }

  @Test
  void takesTokenIdsAsTheyAre() {
    assertThat(exact("{\"prompt\":[9906,1917,0]}")).isEqualTo(PromptCount.single(3));
    assertThat(exact("{\"prompt\":[[9906,1917],[1],[128000,2,3,4]]}"))
        .isEqualTo(new PromptCount(7, 4, 3));
  }

  @Test
  void countsSpecialTokenTextInAPromptAsOneToken() {
    assertThat(exact("{\"prompt\":\"<|begin_of_text|>Hello world\"}"))
        .isEqualTo(PromptCount.single(4));
  }

  @Test
  void countsNothingWithoutAPrompt() {
    assertThat(exact("{}")).isEqualTo(new PromptCount(0, 0, 0));
    assertThat(exact("{\"prompt\":null}")).isEqualTo(new PromptCount(0, 0, 0));
    assertThat(exact("{\"prompt\":[]}")).isEqualTo(new PromptCount(0, 0, 0));
  }

  @Test
  void overCountsShapesVllmRejects() {
    // The UTF-8 bytes of the JSON, never fewer than any tokenization of it.
    assertThat(exact("{\"prompt\":{\"text\":\"hi\"}}")).isEqualTo(PromptCount.single(13));
    assertThat(exact("{\"prompt\":[\"hi\",[1,\"x\"]]}").totalTokens()).isEqualTo(2 + 7);
  }

  @Test
  void theByteBoundCountsBytesAndIsAboveTheExactCount() {
    String request = "{\"prompt\":[" + HELLO + "," + FOX + ",\"한국어\",[1,2]]}";

    PromptCount bound =
        new Utf8BoundTokenCounter().countCompletion(Llama3Fixture.JSON.readTree(request));

    assertThat(bound).isEqualTo(new PromptCount(12 + 45 + 10 + 2, 45, 4));
    assertThat(bound.totalTokens()).isGreaterThanOrEqualTo(exact(request).totalTokens());
    assertThat(new Utf8BoundTokenCounter().exact()).isFalse();
  }

  private static PromptCount exact(String request) {
    ExactTokenCounter counter = Llama3Fixture.counter();
    assertThat(counter.exact()).isTrue();
    return counter.countCompletion(Llama3Fixture.json(request));
  }
}
