package io.simpletokenlimiter.demo;

import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.tokens.PromptTokenCounter;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Profile;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.core.env.Environment;
import org.springframework.web.server.WebFilter;

/** The demo upstream and its labels, with the profile {@code demo} only. */
@Configuration(proxyBeanMethods = false)
@Profile(DemoUpstreamPostProcessor.PROFILE)
@EnableConfigurationProperties(DemoUpstreamProperties.class)
public class DemoUpstreamConfiguration {

  /** On every answer of the service while the demo upstream stands in for vLLM. */
  public static final String HEADER = "X-Demo-Upstream";

  private static final Logger log = LoggerFactory.getLogger(DemoUpstream.class);

  @Bean(destroyMethod = "close")
  DemoUpstream demoUpstream(
      PromptTokenCounter counter,
      TokenLimitProperties limits,
      DemoUpstreamProperties properties,
      Clock clock,
      Environment environment) {
    DemoUpstream upstream =
        new DemoUpstream(
            counter,
            CannedAnswers.load(),
            limits.model().upstreamName(),
            limits.model().maxModelLen(),
            properties,
            clock);
    log.warn(
        """

        ***********************************************************************************
        *  DEMO UPSTREAM (profile 'demo'): there is NO language model behind this service.
        *  Completions are canned text from {}, {} ms per token.
        *  Limits, usage, 429s and metrics are real. Every answer carries {}: true.
        *  prompt_tokens are the limiter's own count ({}).
        *  Never run this profile in production: start without it and set VLLM_URL.
        ***********************************************************************************\
        """,
        upstream.baseUrl(),
        properties.tokenDelay().toMillis(),
        HEADER,
        counter.exact() ? "exact Llama 3" : "UTF-8 upper bound: no tokenizer.json loaded");
    if (environment.getProperty("VLLM_URL") != null) {
      log.warn("VLLM_URL is ignored: the demo profile points the limiter at the demo upstream");
    }
    return upstream;
  }

  /** Says on every answer, errors and streams included, that no real model answered. */
  @Bean
  @Order(Ordered.HIGHEST_PRECEDENCE)
  WebFilter demoUpstreamHeader() {
    return (exchange, chain) -> {
      exchange.getResponse().getHeaders().set(HEADER, "true");
      return chain.filter(exchange);
    };
  }
}
