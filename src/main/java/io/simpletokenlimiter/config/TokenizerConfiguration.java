package io.simpletokenlimiter.config;

import io.simpletokenlimiter.tokens.PromptTokenCounter;
import io.simpletokenlimiter.tokens.PromptTokenizer;
import io.simpletokenlimiter.tokens.Tokenization;
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
}
