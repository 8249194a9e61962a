package io.simpletokenlimiter.tokens;

import tools.jackson.databind.JsonNode;

/**
 * Counts prompt tokens exactly as vLLM does for Llama 3.2 Instruct: the Llama 3 tokenizer and the
 * chat template ({@link Llama3ChatTemplate} lists what is exact and what is over-counted).
 */
public final class ExactTokenCounter implements PromptTokenCounter {

  private final Llama3Tokenizer tokenizer;

  public ExactTokenCounter(Llama3Tokenizer tokenizer) {
    this.tokenizer = tokenizer;
  }

  @Override
  public PromptCount countChat(JsonNode chatRequest) {
    TokenTally tally = new TokenTally(tokenizer::count);
    Llama3ChatTemplate.render(chatRequest, tally);
    return PromptCount.single(tally.total());
  }

  @Override
  public PromptCount countCompletion(JsonNode completionRequest) {
    return CompletionPrompts.count(completionRequest, tokenizer::count);
  }

  @Override
  public boolean exact() {
    return true;
  }
}
