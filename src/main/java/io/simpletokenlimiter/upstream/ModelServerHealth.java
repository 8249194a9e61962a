package io.simpletokenlimiter.upstream;

import io.simpletokenlimiter.config.TokenLimitProperties;
import java.time.Duration;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.core.publisher.Mono;

/**
 * Whether vLLM answers its {@code /health} with 200. One probe serves every caller for {@code
 * upstream.health-cache-ttl}, and callers arriving while a probe runs share it, so load balancers
 * and dashboards polling us never multiply into load on vLLM.
 */
@Component
public class ModelServerHealth {

  private final Mono<Boolean> cachedProbe;

  public ModelServerHealth(
      @Qualifier(UpstreamConfiguration.WEB_CLIENT) WebClient webClient,
      TokenLimitProperties.Upstream upstream) {
    Duration ttl = upstream.healthCacheTtl();
    Duration probeTimeout = upstream.connectTimeout();
    Mono<Boolean> probe =
        webClient
            .get()
            .uri("/health")
            .exchangeToMono(
                response ->
                    response.releaseBody().thenReturn(response.statusCode() == HttpStatus.OK))
            .timeout(probeTimeout)
            .onErrorReturn(false);
    this.cachedProbe = probe.cache(healthy -> ttl, error -> ttl, () -> ttl);
  }

  public Mono<Boolean> healthy() {
    return cachedProbe;
  }
}
