package io.simpletokenlimiter.config.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.simpletokenlimiter.config.TokenLimitProperties.StoreKind;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

/**
 * The rule of issue 14, read from the sources an operator uses: environment variables (a {@link
 * SystemEnvironmentPropertySource}, as Spring reads the real ones) and Spring properties.
 */
class StoreSelectionTest {

  @Test
  void nothingConfiguredIsMemory() {
    StoreSelection selection = StoreSelection.of(environment(Map.of(), Map.of()));

    assertThat(selection.kind()).isEqualTo(StoreKind.MEMORY);
    assertThat(selection.explicit()).isFalse();
    assertThat(selection.redisServer()).isEmpty();
    assertThat(selection.reason()).contains("no Redis server is configured");
  }

  @Test
  void redisHostAloneIsRedis() {
    StoreSelection selection =
        StoreSelection.of(
            environment(Map.of("REDIS_HOST", "redis", "REDIS_PORT", "6380"), Map.of()));

    assertThat(selection.kind()).isEqualTo(StoreKind.REDIS);
    assertThat(selection.reason()).isEqualTo("REDIS_HOST is set");
    assertThat(selection.where()).isEqualTo("Redis at redis:6380");
  }

  @Test
  void redisPortAloneConfiguresNoServer() {
    StoreSelection selection =
        StoreSelection.of(environment(Map.of("REDIS_PORT", "6380"), Map.of()));

    assertThat(selection.kind()).isEqualTo(StoreKind.MEMORY);
  }

  @Test
  void springHostAsEnvironmentVariableOrPropertyIsRedis() {
    for (StandardEnvironment environment :
        new StandardEnvironment[] {
          environment(Map.of("SPRING_DATA_REDIS_HOST", "cache.internal"), Map.of()),
          environment(Map.of(), Map.of("spring.data.redis.host", "cache.internal"))
        }) {
      StoreSelection selection = StoreSelection.of(environment);

      assertThat(selection.kind()).isEqualTo(StoreKind.REDIS);
      assertThat(selection.reason()).isEqualTo("spring.data.redis.host is set");
      assertThat(selection.redisServer()).contains("cache.internal:6379");
    }
  }

  @Test
  void urlSentinelAndClusterAreRedisAndNoPasswordIsShown() {
    assertThat(
            StoreSelection.of(
                environment(Map.of(), Map.of("spring.data.redis.url", "rediss://u:secret@r:6390"))))
        .satisfies(s -> assertThat(s.kind()).isEqualTo(StoreKind.REDIS))
        .satisfies(s -> assertThat(s.redisServer()).contains("rediss://r:6390"));
    assertThat(
            StoreSelection.of(
                environment(
                    Map.of(
                        "SPRING_DATA_REDIS_SENTINEL_MASTER", "mymaster",
                        "SPRING_DATA_REDIS_SENTINEL_NODES", "s1:26379,s2:26379"),
                    Map.of())))
        .satisfies(s -> assertThat(s.reason()).isEqualTo("spring.data.redis.sentinel.* is set"))
        .satisfies(
            s ->
                assertThat(s.redisServer())
                    .contains("sentinel master mymaster via s1:26379,s2:26379"));
    assertThat(
            StoreSelection.of(
                environment(
                    Map.of(),
                    Map.of(
                        "spring.data.redis.cluster.nodes[0]", "n1:7000",
                        "spring.data.redis.cluster.nodes[1]", "n2:7000"))))
        .satisfies(s -> assertThat(s.kind()).isEqualTo(StoreKind.REDIS))
        .satisfies(s -> assertThat(s.redisServer()).contains("cluster n1:7000,n2:7000"));
  }

  @Test
  void anExplicitStoreWins() {
    StoreSelection memory =
        StoreSelection.of(
            environment(Map.of("TOKEN_LIMIT_STORE", "memory", "REDIS_HOST", "redis"), Map.of()));
    assertThat(memory.kind()).isEqualTo(StoreKind.MEMORY);
    assertThat(memory.explicit()).isTrue();
    assertThat(memory.ignoresConfiguredRedis()).isTrue();
    assertThat(memory.reason()).isEqualTo("token.limit.store (TOKEN_LIMIT_STORE) is memory");

    StoreSelection redis =
        StoreSelection.of(environment(Map.of(), Map.of("token.limit.store", "redis")));
    assertThat(redis.kind()).isEqualTo(StoreKind.REDIS);
    assertThat(redis.where()).isEqualTo("Redis at localhost:6379");
    assertThat(redis.ignoresConfiguredRedis()).isFalse();
  }

  @Test
  void anUnknownStoreStopsTheStart() {
    assertThatThrownBy(
            () -> StoreSelection.of(environment(Map.of("TOKEN_LIMIT_STORE", "etcd"), Map.of())))
        .hasMessageContaining("token.limit.store");
  }

  @Test
  void thePostProcessorMapsTheBriefsVariablesAndRecordsTheKindBelowEverythingElse() {
    StandardEnvironment environment =
        environment(Map.of("REDIS_HOST", "redis", "REDIS_PORT", "6380"), Map.of());
    StoreSelectionPostProcessor processor = new StoreSelectionPostProcessor();

    processor.postProcessEnvironment(environment, new SpringApplication());
    processor.postProcessEnvironment(environment, new SpringApplication());

    assertThat(environment.getProperty("spring.data.redis.host")).isEqualTo("redis");
    assertThat(environment.getProperty("spring.data.redis.port")).isEqualTo("6380");
    assertThat(environment.getProperty("token.limit.store")).isEqualTo("redis");
    assertThat(environment.getPropertySources().stream().map(s -> s.getName()).toList())
        .containsOnlyOnce(StoreSelection.PROPERTY_SOURCE)
        .last()
        .isEqualTo(StoreSelection.PROPERTY_SOURCE);
    // The aliases are not mistaken for an operator's spring.data.redis.host.
    assertThat(StoreSelection.of(environment).reason()).isEqualTo("REDIS_HOST is set");
  }

  @Test
  void springsOwnHostWinsOverTheAlias() {
    StandardEnvironment environment =
        environment(Map.of("REDIS_HOST", "redis"), Map.of("spring.data.redis.host", "primary"));

    new StoreSelectionPostProcessor().postProcessEnvironment(environment, new SpringApplication());

    assertThat(environment.getProperty("spring.data.redis.host")).isEqualTo("primary");
    assertThat(StoreSelection.of(environment).redisServer()).isEqualTo(Optional.of("primary:6379"));
  }

  private static StandardEnvironment environment(
      Map<String, Object> variables, Map<String, Object> properties) {
    StandardEnvironment environment = new StandardEnvironment();
    environment
        .getPropertySources()
        .remove(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME);
    environment
        .getPropertySources()
        .remove(StandardEnvironment.SYSTEM_PROPERTIES_PROPERTY_SOURCE_NAME);
    environment.getPropertySources().addFirst(new MapPropertySource("properties", properties));
    environment
        .getPropertySources()
        .addLast(
            new SystemEnvironmentPropertySource(
                StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, variables));
    return environment;
  }
}
