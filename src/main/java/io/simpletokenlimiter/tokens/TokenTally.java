package io.simpletokenlimiter.tokens;

/** A {@link PromptSink} that only counts. */
final class TokenTally implements PromptSink {

  private final TextMeasure measure;
  private long total;

  TokenTally(TextMeasure measure) {
    this.measure = measure;
  }

  @Override
  public void special(int id) {
    total++;
  }

  @Override
  public void text(String text) {
    if (!text.isEmpty()) {
      total += measure.tokens(text);
    }
  }

  @Override
  public void margin(long tokens) {
    total += tokens;
  }

  long total() {
    return total;
  }
}
