package io.simpletokenlimiter.tokens;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Prompt counting and the tokenize endpoints, set up once at start-up: exact when a Llama 3 {@code
 * tokenizer.json} is found ({@link TokenizerLocator}), else the UTF-8 byte bound, which can only
 * over-count.
 *
 * <p>Wiring, e.g. {@code @Bean Tokenization tokenization(TokenLimitProperties p) { return
 * Tokenization.load(Optional.ofNullable(p.tokenizerPath()), System.getenv()); }} and beans for
 * {@link #counter()} and {@link #tokenizer()}. Loading takes about half a second; do it once.
 *
 * @param counter counts what each request reserves
 * @param tokenizer answers {@code /tokenize} and {@code /detokenize}
 */
public record Tokenization(PromptTokenCounter counter, PromptTokenizer tokenizer) {

  private static final Logger LOG = LoggerFactory.getLogger(Tokenization.class);

  /**
   * Finds and loads the vocabulary.
   *
   * @param configuredPath a configured {@code tokenizer.json} or directory; it wins over the {@code
   *     TOKENIZER_PATH} variable of {@code env}
   * @param env the environment ({@code System.getenv()}): {@code TOKENIZER_PATH}, {@code HF_HOME},
   *     {@code HF_HUB_CACHE}, {@code XDG_CACHE_HOME}, {@code HOME}
   * @throws TokenizerLoadException when a configured path is missing or not a Llama 3 vocabulary
   */
  public static Tokenization load(Optional<Path> configuredPath, Map<String, String> env) {
    Optional<Path> file = TokenizerLocator.locate(configuredPath, env);
    if (file.isEmpty()) {
      LOG.warn(
          "No Llama 3 tokenizer.json found (set {} to the model's tokenizer.json or its "
              + "directory): prompt tokens are over-counted with the UTF-8 byte bound, and "
              + "/tokenize is forwarded to vLLM",
          TokenizerLocator.TOKENIZER_PATH);
      return new Tokenization(new Utf8BoundTokenCounter(), PromptTokenizer.unavailable());
    }
    Llama3Tokenizer tokenizer = Llama3Tokenizer.load(file.get());
    LOG.info("exact Llama 3 counting from {} ({} ranks)", file.get(), tokenizer.ranks());
    return new Tokenization(new ExactTokenCounter(tokenizer), PromptTokenizer.of(tokenizer));
  }
}
