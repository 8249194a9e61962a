package io.simpletokenlimiter.config.store;

import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.actuate.info.InfoContributor;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.ConfigurableEnvironment;

/** Says at start-up and on {@code /actuator/info} which store holds the counters, and why. */
@Configuration(proxyBeanMethods = false)
public class StoreSelectionConfiguration {

  private static final Logger log = LoggerFactory.getLogger(StoreSelection.class);

  @Bean
  StoreSelection storeSelection(ConfigurableEnvironment environment) {
    StoreSelection selection = StoreSelection.of(environment);
    log.info("Limit store: counters in {} ({})", selection.where(), selection.reason());
    if (selection.ignoresConfiguredRedis()) {
      log.warn(
          "A Redis server is configured ({}) but the store is memory: every replica counts alone,"
              + " so N replicas give each user N times every limit and N times the requests in"
              + " flight. Unset TOKEN_LIMIT_STORE (or set it to redis) to share the limits.",
          selection.redisServer().orElseThrow());
    }
    return selection;
  }

  /** {@code "limitStore":{"kind":"redis","reason":"REDIS_HOST is set","redis":"redis:6379"}}. */
  @Bean
  InfoContributor limitStoreInfo(StoreSelection selection) {
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("kind", selection.kindName());
    details.put("reason", selection.reason());
    selection.redisServer().ifPresent(server -> details.put("redis", server));
    return info -> info.withDetail("limitStore", details);
  }
}
