package io.simpletokenlimiter.e2e;

import io.simpletokenlimiter.TokenLimiterApplication;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.client.ReactorResourceFactory;

/**
 * One replica of the service, the whole application as {@code main} starts it, on a free port of
 * this JVM: the real limiter and the store its properties choose. Several can run side by side, as
 * replicas behind a load balancer do.
 */
final class LimiterInstance implements AutoCloseable {

  private final ConfigurableApplicationContext context;
  private final ApiClient api;

  private LimiterInstance(ConfigurableApplicationContext context) {
    this.context = context;
    int port = Integer.parseInt(context.getEnvironment().getProperty("local.server.port", "0"));
    this.api = new ApiClient("http://127.0.0.1:" + port);
  }

  /** Starts a replica with {@code properties} over the defaults of {@code application.yml}. */
  static LimiterInstance start(Map<String, String> properties) {
    return start(properties, context -> {});
  }

  /** As {@link #start(Map)}, with {@code initializer} run on the context before it refreshes. */
  static LimiterInstance start(
      Map<String, String> properties,
      ApplicationContextInitializer<ConfigurableApplicationContext> initializer) {
    Map<String, String> all = new LinkedHashMap<>();
    all.put("server.port", "0");
    all.put("server.address", "127.0.0.1");
    // A replica that dies does not wait for its requests; the tests close replicas that way.
    all.put("server.shutdown", "immediate");
    all.putAll(properties);
    // As command-line arguments: they win over application.yml, as an operator's settings do.
    String[] arguments =
        all.entrySet().stream()
            .map(e -> "--" + e.getKey() + "=" + e.getValue())
            .toArray(String[]::new);
    ConfigurableApplicationContext context =
        new SpringApplicationBuilder(TokenLimiterApplication.class)
            .web(WebApplicationType.REACTIVE)
            .logStartupInfo(false)
            .initializers(LimiterInstance::ownNettyResources, initializer)
            .run(arguments);
    return new LimiterInstance(context);
  }

  /**
   * Each replica gets event loops of its own, as @SpringBootTest contexts do: closing one must not
   * dispose Reactor Netty's global resources under the other replicas and test contexts of this
   * JVM.
   */
  private static void ownNettyResources(ConfigurableApplicationContext context) {
    context
        .getBeanFactory()
        .addBeanPostProcessor(
            new BeanPostProcessor() {
              @Override
              public Object postProcessBeforeInitialization(Object bean, String name) {
                if (bean instanceof ReactorResourceFactory factory) {
                  factory.setUseGlobalResources(false);
                }
                return bean;
              }
            });
  }

  /**
   * Writes per-user limits for {@code token.limit.overrides-file}, e.g. {@code users: {alice:
   * {max-tokens-per-hour: 300}}}.
   */
  static Path overridesFile(String yaml) {
    try {
      Path file = Files.createTempFile("stl-e2e-limits-", ".yml");
      Files.writeString(file, yaml);
      file.toFile().deleteOnExit();
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  ApiClient api() {
    return api;
  }

  /** A bean of the running replica, e.g. the store it counts in. */
  <T> T bean(Class<T> type) {
    return context.getBean(type);
  }

  @Override
  public void close() {
    if (context.isActive()) {
      context.close();
    }
  }
}
