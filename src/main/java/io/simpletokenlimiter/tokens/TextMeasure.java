package io.simpletokenlimiter.tokens;

/** Tokens of ordinary text: exact with a vocabulary, an upper bound without one. */
@FunctionalInterface
interface TextMeasure {

  long tokens(String text);

  /**
   * The tokens of {@code text}, or, once they pass {@code cap}, any count above {@code cap}: work
   * stops early once the answer "more than cap" is known.
   */
  default long tokens(String text, long cap) {
    return tokens(text);
  }
}
