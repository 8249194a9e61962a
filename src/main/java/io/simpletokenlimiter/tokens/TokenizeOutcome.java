package io.simpletokenlimiter.tokens;

import java.util.List;

/** The answer to a vLLM {@code /tokenize} request. */
public sealed interface TokenizeOutcome {

  /**
   * The prompt's token ids; answer {@code {"count": tokens.size(), "max_model_len": ..., "tokens":
   * tokens}}, plus {@code "token_strs"} when the request asked for them.
   *
   * @param tokenStrings each token as Hugging Face spells it, only when {@code return_token_strs}
   *     was true, else empty
   */
  record Tokenized(List<Integer> tokens, List<String> tokenStrings) implements TokenizeOutcome {
    public Tokenized {
      tokens = List.copyOf(tokens);
      tokenStrings = List.copyOf(tokenStrings);
    }
  }

  /** The limiter cannot answer exactly (no vocabulary, or tools): forward the request to vLLM. */
  record Unavailable(String reason) implements TokenizeOutcome {}

  /** The request is malformed: answer 400 {@code invalid_request} with this message. */
  record Invalid(String message) implements TokenizeOutcome {}
}
