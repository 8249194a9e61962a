package io.simpletokenlimiter.config.store;

import io.simpletokenlimiter.config.TokenLimitProperties.StoreKind;
import java.net.URI;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Predicate;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.PropertySourcesPlaceholdersResolver;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MutablePropertySources;
import org.springframework.core.env.PropertyResolver;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.PropertySourcesPropertyResolver;

/**
 * Which store holds the counters, and why: {@code token.limit.store} ({@code TOKEN_LIMIT_STORE})
 * when set; otherwise Redis as soon as a Redis server is configured explicitly ({@code REDIS_HOST},
 * or {@code spring.data.redis.host}, {@code .url}, {@code .sentinel.*}, {@code .cluster.*}), else
 * memory.
 *
 * <p>Read from the operator's own settings only: the property source that {@link
 * StoreSelectionPostProcessor} adds (the {@code REDIS_HOST}/{@code REDIS_PORT} aliases and the
 * chosen kind) is left out, so the selection is the same before and after it ran. Environment
 * variables, system properties, command-line arguments and files are read alike.
 *
 * @param kind the store in use
 * @param reason why, in words an operator recognises ("REDIS_HOST is set")
 * @param redisServer the Redis server configured, when one is ("redis:6379", "sentinel mymaster at
 *     ...", "cluster at ..."), whether or not it is used
 * @param explicit whether {@code token.limit.store} chose the kind
 */
public record StoreSelection(
    StoreKind kind, String reason, Optional<String> redisServer, boolean explicit) {

  /** The property source holding the aliases and the chosen kind (lowest precedence). */
  public static final String PROPERTY_SOURCE = "tokenLimitStoreSelection";

  static final String STORE_PROPERTY = "token.limit.store";

  /** The selection the settings of {@code environment} make. */
  public static StoreSelection of(ConfigurableEnvironment environment) {
    MutablePropertySources operatorSources = new MutablePropertySources();
    for (PropertySource<?> source : environment.getPropertySources()) {
      if (!source.getName().equals(PROPERTY_SOURCE)
          && !ConfigurationPropertySources.isAttachedConfigurationPropertySource(source)) {
        operatorSources.addLast(source);
      }
    }
    return of(operatorSources);
  }

  static StoreSelection of(MutablePropertySources sources) {
    Binder binder =
        new Binder(
            ConfigurationPropertySources.from(sources),
            new PropertySourcesPlaceholdersResolver(sources));
    // REDIS_HOST and REDIS_PORT by their exact names, wherever they come from.
    PropertyResolver raw = new PropertySourcesPropertyResolver(sources);
    Optional<RedisServer> server = RedisServer.configured(binder, raw);
    Optional<StoreKind> chosen =
        binder.bind(STORE_PROPERTY, StoreKind.class).map(Optional::of).orElse(Optional.empty());
    Optional<String> described = server.map(RedisServer::description);
    if (chosen.isPresent()) {
      String reason = "token.limit.store (TOKEN_LIMIT_STORE) is " + name(chosen.get());
      return new StoreSelection(chosen.get(), reason, described, true);
    }
    return server
        .map(s -> new StoreSelection(StoreKind.REDIS, s.setting() + " is set", described, false))
        .orElseGet(
            () ->
                new StoreSelection(
                    StoreKind.MEMORY,
                    "no Redis server is configured: neither REDIS_HOST nor spring.data.redis.* is set",
                    Optional.empty(),
                    false));
  }

  /** The kind as {@code TOKEN_LIMIT_STORE} spells it: {@code memory} or {@code redis}. */
  public String kindName() {
    return name(kind);
  }

  /** Where the counters live, in one phrase: "Redis at redis:6379" or "this replica's memory". */
  public String where() {
    return kind == StoreKind.REDIS
        ? "Redis at " + redisServer.orElse("localhost:6379")
        : "this replica's memory";
  }

  /** Memory chosen by hand although a Redis server is configured: each replica counts alone. */
  public boolean ignoresConfiguredRedis() {
    return kind == StoreKind.MEMORY && redisServer.isPresent();
  }

  private static String name(StoreKind kind) {
    return kind.name().toLowerCase(Locale.ROOT);
  }

  /** An explicitly configured Redis server, and the setting that configured it. */
  record RedisServer(String setting, String description) {

    static Optional<RedisServer> configured(Binder binder, PropertyResolver raw) {
      String port =
          text(binder, "spring.data.redis.port")
              .or(() -> firstNonBlank(raw.getProperty("REDIS_PORT")))
              .orElse("6379");
      Optional<String> url = text(binder, "spring.data.redis.url");
      if (url.isPresent()) {
        return Optional.of(new RedisServer("spring.data.redis.url", withoutCredentials(url.get())));
      }
      List<String> clusterNodes = list(binder, "spring.data.redis.cluster.nodes");
      if (!clusterNodes.isEmpty()) {
        return Optional.of(
            new RedisServer(
                "spring.data.redis.cluster.nodes", "cluster " + String.join(",", clusterNodes)));
      }
      Optional<String> master = text(binder, "spring.data.redis.sentinel.master");
      List<String> sentinels = list(binder, "spring.data.redis.sentinel.nodes");
      if (master.isPresent() || !sentinels.isEmpty()) {
        return Optional.of(
            new RedisServer(
                "spring.data.redis.sentinel.*",
                "sentinel master " + master.orElse("?") + " via " + String.join(",", sentinels)));
      }
      Optional<String> host = text(binder, "spring.data.redis.host");
      if (host.isPresent()) {
        return Optional.of(new RedisServer("spring.data.redis.host", host.get() + ":" + port));
      }
      return firstNonBlank(raw.getProperty("REDIS_HOST"))
          .map(redisHost -> new RedisServer("REDIS_HOST", redisHost + ":" + port));
    }

    private static Optional<String> text(Binder binder, String name) {
      return binder
          .bind(name, String.class)
          .map(Optional::of)
          .orElse(Optional.<String>empty())
          .filter(Predicate.not(String::isBlank));
    }

    private static List<String> list(Binder binder, String name) {
      return binder.bind(name, Bindable.listOf(String.class)).orElse(List.of()).stream()
          .filter(Predicate.not(String::isBlank))
          .toList();
    }

    private static Optional<String> firstNonBlank(String... values) {
      return Arrays.stream(values).filter(value -> value != null && !value.isBlank()).findFirst();
    }

    /** A URL may carry a password: log only its scheme, host and port. */
    private static String withoutCredentials(String url) {
      try {
        URI uri = URI.create(url);
        return uri.getScheme()
            + "://"
            + uri.getHost()
            + (uri.getPort() < 0 ? "" : ":" + uri.getPort());
      } catch (IllegalArgumentException e) {
        return "(spring.data.redis.url)";
      }
    }
  }
}
