package io.simpletokenlimiter.tokens;

/** Receives a prompt as the chat template renders it: special tokens, ordinary text, margins. */
interface PromptSink {

  /** One special token. */
  void special(int id);

  /**
   * Ordinary text, encoded on its own: the caller only splits text where the Llama 3 pattern splits
   * anyway (a special token, or the end of a header's {@code "\n\n"} before trimmed text).
   */
  void text(String text);

  /** Tokens added on top of the rendered text, for what the template is not modelled for. */
  void margin(long tokens);

  /** True once the sink needs no more of the prompt (a count past its cap): rendering may stop. */
  default boolean saturated() {
    return false;
  }
}
