package io.simpletokenlimiter.tokens;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** vLLM's {@code /tokenize} and {@code /detokenize} shapes. */
class PromptTokenizerTest {

  @Test
  void tokenizesAPromptWithItsBeginOfText() {
    assertThat(tokenize("{\"model\":\"llama3.2-1b\",\"prompt\":\"Hello world\"}"))
        .isEqualTo(new TokenizeOutcome.Tokenized(List.of(128_000, 9906, 1917), List.of()));
  }

  @Test
  void leavesOutTheBeginOfTextWhenAsked() {
    assertThat(tokenize("{\"prompt\":\"Hello world\",\"add_special_tokens\":false}"))
        .isEqualTo(new TokenizeOutcome.Tokenized(List.of(9906, 1917), List.of()));
  }

  @Test
  void returnsTokenStringsWhenAsked() {
    assertThat(tokenize("{\"prompt\":\"Hello world\",\"return_token_strs\":true}"))
        .isEqualTo(
            new TokenizeOutcome.Tokenized(
                List.of(128_000, 9906, 1917), List.of("<|begin_of_text|>", "Hello", "Ġworld")));
  }

  @Test
  void tokenizesMessagesAsTheChatTemplate() {
    String request = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}]}";

    var outcome = (TokenizeOutcome.Tokenized) tokenize(request);

    assertThat(outcome.tokens()).hasSize(37);
    assertThat(outcome.tokens().subList(0, 3)).containsExactly(128_000, 128_006, 9125);
    assertThat(Llama3Fixture.counter().countChat(Llama3Fixture.json(request)).totalTokens())
        .isEqualTo(37);
  }

  @Test
  void honoursGenerationPromptAndSpecialTokenFlags() {
    String messages = "\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}]";

    var without =
        (TokenizeOutcome.Tokenized) tokenize("{" + messages + ",\"add_generation_prompt\":false}");
    var doubled =
        (TokenizeOutcome.Tokenized) tokenize("{" + messages + ",\"add_special_tokens\":true}");

    assertThat(without.tokens()).hasSize(33).endsWith(128_009);
    assertThat(doubled.tokens()).hasSize(38).startsWith(128_000, 128_000, 128_006);
  }

  @Test
  void forwardsWhatItCannotRenderExactly() {
    assertThat(tokenize("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[]}"))
        .isInstanceOf(TokenizeOutcome.Unavailable.class);
    assertThat(tokenize("{\"messages\":[],\"chat_template\":\"{{ messages }}\"}"))
        .isInstanceOf(TokenizeOutcome.Unavailable.class);
    assertThat(tokenize("{\"messages\":[],\"chat_template_kwargs\":{\"date_string\":\"x\"}}"))
        .isInstanceOf(TokenizeOutcome.Unavailable.class);
    assertThat(tokenize("{\"messages\":[],\"continue_final_message\":true}"))
        .isInstanceOf(TokenizeOutcome.Unavailable.class);
  }

  @Test
  void rejectsMalformedRequests() {
    assertThat(tokenize("{\"prompt\":[1,2]}"))
        .isEqualTo(new TokenizeOutcome.Invalid("prompt must be a string"));
    assertThat(tokenize("{\"messages\":\"hi\"}"))
        .isEqualTo(new TokenizeOutcome.Invalid("messages must be a list"));
    assertThat(tokenize("{\"model\":\"llama3.2-1b\"}"))
        .isEqualTo(new TokenizeOutcome.Invalid("either prompt or messages is required"));
    assertThat(tokenize("[]")).isInstanceOf(TokenizeOutcome.Invalid.class);
  }

  @Test
  void detokenizesIdsWithSpecialTokensWrittenOut() {
    assertThat(detokenize("{\"model\":\"llama3.2-1b\",\"tokens\":[128000,9906,1917,0]}"))
        .isEqualTo(new DetokenizeOutcome.Detokenized("<|begin_of_text|>Hello world!"));
    assertThat(detokenize("{\"tokens\":[]}")).isEqualTo(new DetokenizeOutcome.Detokenized(""));
  }

  @Test
  void refusesIdsOutsideTheVocabulary() {
    assertThat(detokenize("{\"tokens\":[9906,128256]}"))
        .isEqualTo(new DetokenizeOutcome.Invalid("token 128256 is not in the vocabulary"));
    assertThat(detokenize("{\"tokens\":[-1]}")).isInstanceOf(DetokenizeOutcome.Invalid.class);
    assertThat(detokenize("{\"tokens\":[\"a\"]}")).isInstanceOf(DetokenizeOutcome.Invalid.class);
    assertThat(detokenize("{\"tokens\":[99999999999]}"))
        .isInstanceOf(DetokenizeOutcome.Invalid.class);
    assertThat(detokenize("{\"tokens\":\"9906\"}"))
        .isEqualTo(new DetokenizeOutcome.Invalid("tokens must be a list of token ids"));
  }

  @Test
  void saysSoWithoutAVocabulary() {
    PromptTokenizer none = PromptTokenizer.unavailable();

    assertThat(none.available()).isFalse();
    assertThat(none.tokenize(JsonMapper.shared().readTree("{\"prompt\":\"hi\"}")))
        .isEqualTo(new TokenizeOutcome.Unavailable("no tokenizer vocabulary is loaded"));
    assertThat(none.detokenize(JsonMapper.shared().readTree("{\"tokens\":[1]}")))
        .isEqualTo(new DetokenizeOutcome.Unavailable("no tokenizer vocabulary is loaded"));
  }

  private TokenizeOutcome tokenize(String request) {
    return PromptTokenizer.of(Llama3Fixture.tokenizer()).tokenize(Llama3Fixture.json(request));
  }

  private DetokenizeOutcome detokenize(String request) {
    return PromptTokenizer.of(Llama3Fixture.tokenizer()).detokenize(Llama3Fixture.json(request));
  }
}
