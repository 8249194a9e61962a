package io.simpletokenlimiter.proxy;

import io.simpletokenlimiter.api.ApiException;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Checks the fields the limiter depends on and says precisely what is wrong; every other field is
 * left for vLLM to judge.
 */
final class CompletionRequestParser {

  private final JsonMapper json;

  CompletionRequestParser(JsonMapper json) {
    this.json = json;
  }

  CompletionRequest parse(Endpoint endpoint, byte[] bytes) {
    if (bytes.length == 0) {
      throw ApiException.invalidRequest("The request body is empty; send a JSON object");
    }
    JsonNode root;
    try {
      root = json.readTree(bytes);
    } catch (JacksonException e) {
      throw ApiException.invalidRequest(
          "The request body is not valid JSON: " + e.getOriginalMessage());
    }
    if (!(root instanceof ObjectNode body)) {
      throw ApiException.invalidRequest("The request body must be a JSON object");
    }
    switch (endpoint) {
      case CHAT -> {
        checkMessages(body.get("messages"));
        if (body.hasNonNull("chat_template")) {
          // A template of the client's could render far more tokens than the limiter reserves.
          throw ApiException.invalidRequest(
              "'chat_template' is not accepted: prompts are counted with the model's own template");
        }
      }
      case COMPLETIONS -> {
        checkPrompt(body.get("prompt"));
        if (body.hasNonNull("prompt_embeds")) {
          // Embedded prompts are extra prompts the limiter cannot count.
          throw ApiException.invalidRequest("'prompt_embeds' is not accepted: send the prompt");
        }
      }
    }
    Optional<String> model = optionalString(body, "model");
    OptionalInt maxTokens = positiveInt(body, "max_tokens");
    OptionalInt maxCompletionTokens = positiveInt(body, "max_completion_tokens");
    // vLLM's chat lets max_completion_tokens win when both are given; its legacy completions
    // endpoint knows only max_tokens.
    OptionalInt budget =
        endpoint == Endpoint.CHAT && maxCompletionTokens.isPresent()
            ? maxCompletionTokens
            : maxTokens;
    // vLLM generates best_of sequences and returns n of them: all of them cost tokens.
    int choices =
        Math.max(positiveInt(body, "n").orElse(1), positiveInt(body, "best_of").orElse(1));
    boolean stream = optionalBoolean(body, "stream");
    JsonNode streamOptions = body.get("stream_options");
    boolean wantsUsage = false;
    boolean wantsContinuousUsage = false;
    if (streamOptions != null && !streamOptions.isNull()) {
      if (!(streamOptions instanceof ObjectNode options)) {
        throw ApiException.invalidRequest("'stream_options' must be an object");
      }
      wantsUsage = optionalBoolean(options, "include_usage");
      wantsContinuousUsage = optionalBoolean(options, "continuous_usage_stats");
    }
    return new CompletionRequest(
        endpoint, body, model, budget, choices, stream, wantsUsage, wantsContinuousUsage);
  }

  private static void checkMessages(JsonNode messages) {
    if (messages == null || messages.isNull()) {
      throw ApiException.invalidRequest("'messages' is required");
    }
    if (!messages.isArray() || messages.isEmpty()) {
      throw ApiException.invalidRequest("'messages' must be a non-empty array");
    }
    for (int i = 0; i < messages.size(); i++) {
      JsonNode message = messages.get(i);
      if (!message.isObject()) {
        throw ApiException.invalidRequest("'messages[" + i + "]' must be an object");
      }
      if (!message.path("role").isString()) {
        throw ApiException.invalidRequest("'messages[" + i + "].role' must be a string");
      }
      JsonNode content = message.get("content");
      if (content != null && !content.isNull() && !content.isString() && !content.isArray()) {
        throw ApiException.invalidRequest(
            "'messages[" + i + "].content' must be a string or an array of parts");
      }
    }
  }

  /** A string, or a non-empty list of strings, of token ids, or of token-id lists. */
  private static void checkPrompt(JsonNode prompt) {
    if (prompt == null || prompt.isNull()) {
      throw ApiException.invalidRequest("'prompt' is required");
    }
    if (prompt.isString()) {
      return;
    }
    boolean valid = prompt.isArray() && !prompt.isEmpty();
    if (valid) {
      JsonNode first = prompt.get(0);
      for (JsonNode item : prompt) {
        valid &=
            first.isString()
                ? item.isString()
                : first.isIntegralNumber()
                    ? item.isIntegralNumber()
                    : item.isArray() && !item.isEmpty() && allIntegers(item);
      }
    }
    if (!valid) {
      throw ApiException.invalidRequest(
          "'prompt' must be a string, or a non-empty array of strings or of token ids");
    }
  }

  private static boolean allIntegers(JsonNode array) {
    for (JsonNode item : array) {
      if (!item.isIntegralNumber()) {
        return false;
      }
    }
    return true;
  }

  private static Optional<String> optionalString(ObjectNode body, String field) {
    JsonNode value = body.get(field);
    if (value == null || value.isNull()) {
      return Optional.empty();
    }
    if (!value.isString()) {
      throw ApiException.invalidRequest("'" + field + "' must be a string");
    }
    return Optional.of(value.stringValue());
  }

  private static OptionalInt positiveInt(ObjectNode body, String field) {
    JsonNode value = body.get(field);
    if (value == null || value.isNull()) {
      return OptionalInt.empty();
    }
    if (!value.isIntegralNumber() || !value.canConvertToInt() || value.intValue() < 1) {
      throw ApiException.invalidRequest(
          "'" + field + "' must be a positive integer, was " + describe(value));
    }
    return OptionalInt.of(value.intValue());
  }

  private static boolean optionalBoolean(ObjectNode body, String field) {
    JsonNode value = body.get(field);
    if (value == null || value.isNull()) {
      return false;
    }
    if (!value.isBoolean()) {
      throw ApiException.invalidRequest(
          "'" + field + "' must be a boolean, was " + describe(value));
    }
    return value.booleanValue();
  }

  /** Numbers and booleans as written; other values by kind, so a huge string is not echoed. */
  private static String describe(JsonNode value) {
    if (value.isNumber() || value.isBoolean()) {
      return value.toString();
    }
    return "a " + value.getNodeType().name().toLowerCase(Locale.ROOT);
  }
}
