package io.simpletokenlimiter.tokens;

import tools.jackson.databind.JsonNode;

/**
 * Counts prompt tokens exactly as vLLM does for Llama 3.2 Instruct: the Llama 3 tokenizer and the
 * chat template ({@link Llama3ChatTemplate} lists what is exact and what is over-counted).
 */
public final class ExactTokenCounter implements PromptTokenCounter {

  private final TextMeasure measure;

  public ExactTokenCounter(Llama3Tokenizer tokenizer) {
    this.measure =
        new TextMeasure() {
          @Override
          public long tokens(String text) {
            return tokenizer.count(text);
          }

          @Override
          public long tokens(String text, long cap) {
            return tokenizer.count(text, cap);
          }
        };
  }

  @Override
  public PromptCount countChat(JsonNode chatRequest, long cap) {
    TokenTally tally = new TokenTally(measure, cap);
    Llama3ChatTemplate.render(chatRequest, tally);
    return PromptCount.single(tally.total());
  }

  @Override
  public PromptCount countCompletion(JsonNode completionRequest, long cap) {
    return CompletionPrompts.count(completionRequest, measure, cap);
  }

  @Override
  public boolean exact() {
    return true;
  }
}
