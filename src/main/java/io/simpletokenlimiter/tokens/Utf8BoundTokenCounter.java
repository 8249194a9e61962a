package io.simpletokenlimiter.tokens;

import tools.jackson.databind.JsonNode;

/**
 * The safe count when no vocabulary is loaded: every Llama 3 token covers at least one UTF-8 byte,
 * so a text's bytes bound its tokens from above. The template's special tokens count one each and
 * its own texts (role names, the date header) by their bytes, so the result is never below the
 * exact count, and typically two to four times it.
 */
public final class Utf8BoundTokenCounter implements PromptTokenCounter {

  private static final TextMeasure BYTES = Utf8Length::of;

  @Override
  public PromptCount countChat(JsonNode chatRequest, long cap) {
    TokenTally tally = new TokenTally(BYTES, cap);
    Llama3ChatTemplate.render(chatRequest, tally);
    return PromptCount.single(tally.total());
  }

  @Override
  public PromptCount countCompletion(JsonNode completionRequest, long cap) {
    return CompletionPrompts.count(completionRequest, BYTES, cap);
  }

  @Override
  public boolean exact() {
    return false;
  }
}
