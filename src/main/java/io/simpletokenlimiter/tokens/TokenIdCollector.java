package io.simpletokenlimiter.tokens;

import com.knuddels.jtokkit.api.IntArrayList;

/** A {@link PromptSink} that collects the token ids; a margin makes the ids approximate. */
final class TokenIdCollector implements PromptSink {

  private final Llama3Tokenizer tokenizer;
  private final IntArrayList ids = new IntArrayList();
  private boolean approximate;

  TokenIdCollector(Llama3Tokenizer tokenizer) {
    this.tokenizer = tokenizer;
  }

  @Override
  public void special(int id) {
    ids.add(id);
  }

  @Override
  public void text(String text) {
    tokenizer.encode(text, ids);
  }

  @Override
  public void margin(long tokens) {
    approximate = true;
  }

  /** True when the rendering needed a margin, so the ids are not what vLLM would produce. */
  boolean approximate() {
    return approximate;
  }

  int[] ids() {
    return ids.toArray();
  }
}
