package io.simpletokenlimiter.tokens;

/** Tokens of ordinary text: exact with a vocabulary, an upper bound without one. */
@FunctionalInterface
interface TextMeasure {

  long tokens(String text);
}
