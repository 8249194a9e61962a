package io.simpletokenlimiter.tokens;

/**
 * A {@link PromptSink} that only counts, and stops counting once the total passes its cap: the
 * total is then some number above the cap, and the rest of the prompt is not measured.
 */
final class TokenTally implements PromptSink {

  private final TextMeasure measure;
  private final long cap;
  private long total;

  TokenTally(TextMeasure measure) {
    this(measure, Long.MAX_VALUE);
  }

  TokenTally(TextMeasure measure, long cap) {
    this.measure = measure;
    this.cap = cap;
  }

  @Override
  public void special(int id) {
    total++;
  }

  @Override
  public void text(String text) {
    if (!text.isEmpty() && !saturated()) {
      total += measure.tokens(text, cap - total);
    }
  }

  @Override
  public void margin(long tokens) {
    total += tokens;
  }

  @Override
  public boolean saturated() {
    return total > cap;
  }

  long total() {
    return total;
  }
}
