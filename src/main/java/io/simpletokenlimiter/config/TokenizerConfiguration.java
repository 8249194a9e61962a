package io.simpletokenlimiter.config;

import io.simpletokenlimiter.tokens.PromptTokenCounter;
import io.simpletokenlimiter.tokens.PromptTokenizer;
import io.simpletokenlimiter.tokens.Tokenization;
import org.springframework.boot.actuate.info.InfoContributor;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Loads the Llama 3 vocabulary once at start-up (or settles for the over-counting bound). */
@Configuration(proxyBeanMethods = false)
public class TokenizerConfiguration {

  @Bean
  Tokenization tokenization(TokenLimitProperties properties) {
    return Tokenization.load(properties.tokenizer(), System.getenv());
  }

  @Bean
  PromptTokenCounter promptTokenCounter(Tokenization tokenization) {
    return tokenization.counter();
  }

  @Bean
  PromptTokenizer promptTokenizer(Tokenization tokenization) {
    return tokenization.tokenizer();
  }

  /** {@code /actuator/info} says whether reservations use exact counts or the byte bound. */
  @Bean
  InfoContributor promptCountingInfo(Tokenization tokenization) {
    String counting = tokenization.counter().exact() ? "exact" : "utf8-upper-bound";
    return info -> info.withDetail("promptCounting", counting);
  }
}
