package io.simpletokenlimiter.metrics;

import io.micrometer.observation.ObservationRegistry;
import org.springframework.boot.webflux.autoconfigure.WebHttpHandlerBuilderCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Spring's request observation off: {@link RequestTimer} times the requests in its place. */
@Configuration(proxyBeanMethods = false)
public class RequestTimerConfiguration {

  @Bean
  WebHttpHandlerBuilderCustomizer noRequestObservation() {
    return builder -> builder.observationRegistry(ObservationRegistry.NOOP);
  }
}
