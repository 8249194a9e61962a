package io.simpletokenlimiter.tokens;

import java.util.HashMap;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * Counts prompt tokens exactly as vLLM does for Llama 3.2 Instruct: the Llama 3 tokenizer and the
 * chat template ({@link Llama3ChatTemplate} lists what is exact and what is over-counted).
 */
public final class ExactTokenCounter implements PromptTokenCounter {

  private final TextMeasure measure;

  public ExactTokenCounter(Llama3Tokenizer tokenizer) {
    // Counted once here: a short prompt is mostly the template's own texts, and counting them
    // on every request cost more than counting the user's words.
    Map<String, Long> fixed = new HashMap<>();
    Llama3ChatTemplate.FIXED_TEXTS.forEach(text -> fixed.put(text, (long) tokenizer.count(text)));
    int longestFixed = fixed.keySet().stream().mapToInt(String::length).max().orElse(0);
    this.measure =
        new TextMeasure() {
          @Override
          public long tokens(String text) {
            Long count = fixedCount(text);
            return count != null ? count : tokenizer.count(text);
          }

          @Override
          public long tokens(String text, long cap) {
            Long count = fixedCount(text);
            return count != null ? count : tokenizer.count(text, cap);
          }

          // the length first, so that a long text is never hashed only to miss
          private Long fixedCount(String text) {
            return text.length() <= longestFixed ? fixed.get(text) : null;
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
