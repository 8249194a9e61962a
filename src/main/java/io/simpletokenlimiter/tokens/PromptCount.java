package io.simpletokenlimiter.tokens;

/**
 * The prompt side of a request. When counting was capped and a prompt passed the cap, its count
 * (and the total) is some number above the cap, not the exact count.
 *
 * @param totalTokens prompt tokens over all prompts of the request
 * @param largestPromptTokens tokens of the longest single prompt (checked against the context)
 * @param prompts how many prompts the request holds (a completions request may send a list)
 */
public record PromptCount(long totalTokens, long largestPromptTokens, int prompts) {

  public static PromptCount single(long tokens) {
    return new PromptCount(tokens, tokens, 1);
  }
}
