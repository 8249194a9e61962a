package io.simpletokenlimiter.tokens;

/** A configured tokenizer vocabulary that is missing or cannot be used: a start-up error. */
public class TokenizerLoadException extends RuntimeException {

  public TokenizerLoadException(String message) {
    super(message);
  }

  public TokenizerLoadException(String message, Throwable cause) {
    super(message, cause);
  }
}
