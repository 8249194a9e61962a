package io.simpletokenlimiter.testing.redis;

import java.time.Duration;
import org.springframework.data.redis.connection.RedisClusterConfiguration;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceClientConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * Started Lettuce connection factories for the test servers, as Spring Boot would build them. Call
 * {@link LettuceConnectionFactory#destroy()} when done.
 */
public final class RedisConnections {

  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(5);

  private RedisConnections() {}

  public static LettuceConnectionFactory standalone(RedisServerProcess server) {
    return started(
        new LettuceConnectionFactory(
            new RedisStandaloneConfiguration(server.host(), server.port()), clientConfiguration()));
  }

  public static LettuceConnectionFactory cluster(RedisTestCluster cluster) {
    return started(
        new LettuceConnectionFactory(
            new RedisClusterConfiguration(cluster.addresses()), clientConfiguration()));
  }

  private static LettuceClientConfiguration clientConfiguration() {
    return LettuceClientConfiguration.builder().commandTimeout(COMMAND_TIMEOUT).build();
  }

  private static LettuceConnectionFactory started(LettuceConnectionFactory factory) {
    factory.afterPropertiesSet();
    factory.start();
    return factory;
  }
}
