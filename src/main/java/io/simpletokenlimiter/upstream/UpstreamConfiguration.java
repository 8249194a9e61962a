package io.simpletokenlimiter.upstream;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.ChannelOption;
import io.simpletokenlimiter.config.TokenLimitProperties;
import java.time.Duration;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

/** The HTTP client and circuit breaker used to reach vLLM. */
@Configuration(proxyBeanMethods = false)
public class UpstreamConfiguration {

  public static final String HTTP_CLIENT = "upstreamHttpClient";
  public static final String CIRCUIT_BREAKER = "upstreamCircuitBreaker";

  /**
   * vLLM (uvicorn) closes idle keep-alive connections after 5 s; reusing one it just closed fails
   * the request, so ours are dropped first.
   */
  private static final Duration MAX_IDLE = Duration.ofSeconds(4);

  /** The pooled client every call to vLLM goes through, with vLLM's address as its base. */
  @Bean(HTTP_CLIENT)
  HttpClient upstreamHttpClient(TokenLimitProperties properties) {
    TokenLimitProperties.Upstream upstream = properties.upstream();
    ConnectionProvider pool =
        ConnectionProvider.builder("vllm")
            .maxConnections(upstream.maxConnections())
            .pendingAcquireTimeout(upstream.connectTimeout())
            .maxIdleTime(MAX_IDLE)
            .evictInBackground(MAX_IDLE)
            .build();
    return HttpClient.create(pool)
        .baseUrl(properties.vllmUrl().toString().replaceAll("/+$", ""))
        .doOnChannelInit(
            (observer, channel, address) ->
                UpstreamReadDeadline.install(
                    channel, upstream.firstByteTimeout(), upstream.idleTimeout()))
        .option(
            ChannelOption.CONNECT_TIMEOUT_MILLIS,
            Math.toIntExact(upstream.connectTimeout().toMillis()));
  }

  @Bean
  CircuitBreakerRegistry upstreamCircuitBreakerRegistry(
      TokenLimitProperties properties, MeterRegistry meterRegistry) {
    CircuitBreakerConfig config =
        properties
            .upstream()
            .breaker()
            .config()
            // The breaker half-opens on the next call after the wait, as vLLM is called often.
            .automaticTransitionFromOpenToHalfOpenEnabled(false)
            // Waiting for one of our own busy connections says nothing about vLLM's health.
            .ignoreException(UpstreamClient::isPoolExhausted)
            .build();
    CircuitBreakerRegistry registry = CircuitBreakerRegistry.of(config);
    TaggedCircuitBreakerMetrics.ofCircuitBreakerRegistry(registry).bindTo(meterRegistry);
    return registry;
  }

  @Bean(CIRCUIT_BREAKER)
  CircuitBreaker upstreamCircuitBreaker(
      @Qualifier("upstreamCircuitBreakerRegistry") CircuitBreakerRegistry registry) {
    return registry.circuitBreaker("vllm");
  }
}
