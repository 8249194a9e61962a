package io.simpletokenlimiter.upstream;

import io.simpletokenlimiter.config.TokenLimitProperties;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.ReactiveHealthIndicator;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/** {@code /actuator/health} component {@code modelServer}: the same cached probe as the API. */
@Component("modelServerHealthIndicator")
public class ModelServerHealthIndicator implements ReactiveHealthIndicator {

  private final ModelServerHealth health;
  private final String model;

  public ModelServerHealthIndicator(ModelServerHealth health, TokenLimitProperties.Model model) {
    this.health = health;
    this.model = model.upstreamName();
  }

  @Override
  public Mono<Health> health() {
    return health
        .healthy()
        .map(healthy -> (healthy ? Health.up() : Health.down()).withDetail("model", model).build());
  }
}
