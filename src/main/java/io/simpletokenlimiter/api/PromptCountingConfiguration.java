package io.simpletokenlimiter.api;

import io.simpletokenlimiter.identity.UserIdResolver;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.filter.reactive.ServerWebExchangeContextFilter;

/**
 * Threads for counting large prompts, off the event loop and apart from Reactor's shared
 * schedulers, in lanes per caller: see {@link PromptCountingLanes}.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(CountingProperties.class)
public class PromptCountingConfiguration {

  @Bean(destroyMethod = "shutdown")
  PromptCountingLanes promptCountingLanes(CountingProperties properties, UserIdResolver users) {
    return new PromptCountingLanes(properties, users);
  }

  /** Puts the exchange in the Reactor context, where the lanes find who is calling. */
  @Bean
  ServerWebExchangeContextFilter serverWebExchangeContextFilter() {
    return new ServerWebExchangeContextFilter();
  }
}
