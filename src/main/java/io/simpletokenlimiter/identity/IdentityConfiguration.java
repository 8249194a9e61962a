package io.simpletokenlimiter.identity;

import io.simpletokenlimiter.config.TokenLimitProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Header mode by default (a trusted gateway names the user); API-key mode with a key file. */
@Configuration(proxyBeanMethods = false)
public class IdentityConfiguration {

  @Bean
  UserIdResolver userIdResolver(TokenLimitProperties properties) {
    return properties
        .apiKeys()
        .<UserIdResolver>map(ApiKeyUserIdResolver::fromFile)
        .orElseGet(HeaderUserIdResolver::new);
  }
}
