package io.simpletokenlimiter.config;

import io.simpletokenlimiter.tokens.PromptCount;
import io.simpletokenlimiter.tokens.PromptTokenCounter;
import java.nio.charset.StandardCharsets;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import tools.jackson.databind.JsonNode;

/**
 * Stand-ins so the proxy runs before the real limiter and tokenizer land: a limiter that admits
 * everything and a counter that bounds tokens by UTF-8 bytes. Deleted when they are merged.
 */
@Configuration(proxyBeanMethods = false)
public class InterimBeans {

  /** A Llama 3 token covers at least one byte; 64 covers the chat template's own tokens. */
  private static final int TEMPLATE_TOKENS = 64;

  @Bean
  PromptTokenCounter promptTokenCounter() {
    return new PromptTokenCounter() {
      @Override
      public PromptCount countChat(JsonNode chatRequest) {
        long bytes = 0;
        for (JsonNode message : chatRequest.path("messages")) {
          bytes += textBytes(message.path("content"));
        }
        return PromptCount.single(bytes + TEMPLATE_TOKENS);
      }

      @Override
      public PromptCount countCompletion(JsonNode completionRequest) {
        JsonNode prompt = completionRequest.path("prompt");
        if (!prompt.isArray() || prompt.isEmpty() || prompt.get(0).isNumber()) {
          return PromptCount.single(textBytes(prompt) + TEMPLATE_TOKENS);
        }
        long total = 0;
        long largest = 0;
        for (JsonNode one : prompt) {
          long tokens = textBytes(one) + TEMPLATE_TOKENS;
          total += tokens;
          largest = Math.max(largest, tokens);
        }
        return new PromptCount(total, largest, prompt.size());
      }

      @Override
      public boolean exact() {
        return false;
      }
    };
  }

  /** UTF-8 bytes of every string inside {@code content}, and one per number (token ids). */
  private static long textBytes(JsonNode content) {
    if (content.isString()) {
      return content.stringValue().getBytes(StandardCharsets.UTF_8).length;
    }
    long bytes = 0;
    for (JsonNode part : content) {
      if (part.isNumber()) {
        bytes += 1;
      } else if (part.isString()) {
        bytes += part.stringValue().getBytes(StandardCharsets.UTF_8).length;
      } else {
        bytes += textBytes(part);
      }
    }
    return bytes;
  }
}
