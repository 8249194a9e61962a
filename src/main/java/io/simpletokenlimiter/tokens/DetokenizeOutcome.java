package io.simpletokenlimiter.tokens;

/** The answer to a vLLM {@code /detokenize} request. */
public sealed interface DetokenizeOutcome {

  /** The text; answer {@code {"prompt": prompt}}. */
  record Detokenized(String prompt) implements DetokenizeOutcome {}

  /** No vocabulary is loaded: forward the request to vLLM. */
  record Unavailable(String reason) implements DetokenizeOutcome {}

  /** The request is malformed or names an unknown id: answer 400 {@code invalid_request}. */
  record Invalid(String message) implements DetokenizeOutcome {}
}
