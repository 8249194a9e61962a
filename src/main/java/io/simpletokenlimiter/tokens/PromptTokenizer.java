package io.simpletokenlimiter.tokens;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;
import tools.jackson.databind.JsonNode;

/**
 * Answers vLLM's {@code POST /tokenize} and {@code POST /detokenize} with the limiter's own
 * tokenizer, so that clients see the count the limiter reserves with.
 *
 * <ul>
 *   <li>{@code {"prompt": "..."}}: the ids of the text, {@code <|begin_of_text|>} first unless
 *       {@code add_special_tokens} is false (vLLM's default is true).
 *   <li>{@code {"messages": [...]}}: the rendered chat template as ids, special ids included, as
 *       many as {@link PromptTokenCounter#countChat} counts. {@code add_generation_prompt} and
 *       {@code add_special_tokens} (default false here) are honoured. Requests whose rendering is
 *       not modelled exactly (tools, tool calls, tool results, names, non-text parts, unknown
 *       roles, {@code chat_template}, {@code chat_template_kwargs}, {@code continue_final_message})
 *       are {@link TokenizeOutcome.Unavailable}: forward them.
 *   <li>{@code return_token_strs: true} adds the token strings.
 *   <li>Detokenize {@code {"tokens": [...]}}: the text, special tokens written out.
 * </ul>
 *
 * <p>Without a vocabulary every answer is {@code Unavailable}. CPU-bound: keep long prompts off the
 * event loop.
 */
public final class PromptTokenizer {

  private static final String NO_VOCABULARY = "no tokenizer vocabulary is loaded";

  private final Optional<Llama3Tokenizer> tokenizer;

  private PromptTokenizer(Optional<Llama3Tokenizer> tokenizer) {
    this.tokenizer = tokenizer;
  }

  public static PromptTokenizer of(Llama3Tokenizer tokenizer) {
    return new PromptTokenizer(Optional.of(tokenizer));
  }

  public static PromptTokenizer unavailable() {
    return new PromptTokenizer(Optional.empty());
  }

  /** Whether a vocabulary is loaded, so that answers can be other than {@code Unavailable}. */
  public boolean available() {
    return tokenizer.isPresent();
  }

  public TokenizeOutcome tokenize(JsonNode request) {
    if (tokenizer.isEmpty()) {
      return new TokenizeOutcome.Unavailable(NO_VOCABULARY);
    }
    Llama3Tokenizer vocabulary = tokenizer.get();
    if (!request.isObject()) {
      return new TokenizeOutcome.Invalid("the request body must be a JSON object");
    }
    int[] ids;
    if (request.has("messages")) {
      if (!request.get("messages").isArray()) {
        return new TokenizeOutcome.Invalid("messages must be a list");
      }
      if (request.hasNonNull("chat_template")
          || request.hasNonNull("chat_template_kwargs")
          || request.path("continue_final_message").asBoolean(false)) {
        return new TokenizeOutcome.Unavailable("the request changes the chat template");
      }
      TokenIdCollector collector = new TokenIdCollector(vocabulary);
      Llama3ChatTemplate.render(request, collector);
      if (collector.approximate()) {
        return new TokenizeOutcome.Unavailable(
            "the request uses parts of the chat template the limiter only over-counts");
      }
      ids = collector.ids();
    } else if (request.has("prompt")) {
      JsonNode prompt = request.get("prompt");
      if (!prompt.isString()) {
        return new TokenizeOutcome.Invalid("prompt must be a string");
      }
      int[] text = vocabulary.encode(prompt.stringValue());
      boolean bos = request.path("add_special_tokens").asBoolean(true);
      ids =
          bos
              ? IntStream.concat(IntStream.of(Llama3ChatTemplate.BEGIN_OF_TEXT), IntStream.of(text))
                  .toArray()
              : text;
    } else {
      return new TokenizeOutcome.Invalid("either prompt or messages is required");
    }
    List<String> strings = new ArrayList<>();
    if (request.path("return_token_strs").asBoolean(false)) {
      for (int id : ids) {
        strings.add(vocabulary.tokenString(id));
      }
    }
    return new TokenizeOutcome.Tokenized(IntStream.of(ids).boxed().toList(), strings);
  }

  public DetokenizeOutcome detokenize(JsonNode request) {
    if (tokenizer.isEmpty()) {
      return new DetokenizeOutcome.Unavailable(NO_VOCABULARY);
    }
    JsonNode tokens = request.path("tokens");
    if (!tokens.isArray()) {
      return new DetokenizeOutcome.Invalid("tokens must be a list of token ids");
    }
    int[] ids = new int[tokens.size()];
    for (int i = 0; i < ids.length; i++) {
      JsonNode id = tokens.get(i);
      if (!id.isIntegralNumber()
          || !id.canConvertToInt()
          || !tokenizer.get().knows(id.intValue())) {
        return new DetokenizeOutcome.Invalid("token " + id + " is not in the vocabulary");
      }
      ids[i] = id.intValue();
    }
    return new DetokenizeOutcome.Detokenized(tokenizer.get().decode(ids));
  }
}
