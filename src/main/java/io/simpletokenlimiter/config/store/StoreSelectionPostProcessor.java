package io.simpletokenlimiter.config.store;

import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Makes the brief's {@code REDIS_HOST}/{@code REDIS_PORT} Spring's {@code spring.data.redis.host}
 * and {@code .port}, and writes the {@link StoreSelection} into {@code token.limit.store}, both at
 * the lowest precedence: whatever the operator set under Spring's own names wins.
 *
 * <p>{@code application.yml} does not map {@code REDIS_HOST} with a default, so that "a Redis
 * server is configured" stays visible.
 */
public class StoreSelectionPostProcessor implements EnvironmentPostProcessor, Ordered {

  @Override
  public void postProcessEnvironment(
      ConfigurableEnvironment environment, SpringApplication application) {
    StoreSelection selection = StoreSelection.of(environment);
    Map<String, Object> properties = new LinkedHashMap<>();
    alias(environment, "REDIS_HOST", "spring.data.redis.host", properties);
    alias(environment, "REDIS_PORT", "spring.data.redis.port", properties);
    if (!selection.explicit()) {
      properties.put(StoreSelection.STORE_PROPERTY, selection.kindName());
    }
    environment.getPropertySources().remove(StoreSelection.PROPERTY_SOURCE);
    environment
        .getPropertySources()
        .addLast(new MapPropertySource(StoreSelection.PROPERTY_SOURCE, properties));
  }

  private static void alias(
      ConfigurableEnvironment environment, String from, String to, Map<String, Object> into) {
    String value = environment.getProperty(from);
    if (value != null && !value.isBlank()) {
      into.put(to, value);
    }
  }

  /** After the config files are loaded. */
  @Override
  public int getOrder() {
    return Ordered.LOWEST_PRECEDENCE;
  }
}
