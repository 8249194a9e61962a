package io.simpletokenlimiter.metrics;

import io.micrometer.common.KeyValues;
import org.springframework.boot.micrometer.observation.autoconfigure.ObservationProperties;
import org.springframework.http.server.reactive.observation.DefaultServerRequestObservationConvention;
import org.springframework.http.server.reactive.observation.ServerRequestObservationContext;
import org.springframework.stereotype.Component;

/**
 * Spring's {@code http_server_requests_seconds}, with its tags ({@code uri}, {@code method}, {@code
 * status}, {@code outcome}, {@code exception}), minus the high-cardinality values Spring works out
 * for every request: the full URL, for traces, which this service does not record. It replaces
 * Spring Boot's own convention, under the same configurable name.
 */
@Component
public class ServerRequestTags extends DefaultServerRequestObservationConvention {

  public ServerRequestTags(ObservationProperties observations) {
    super(observations.getHttp().getServer().getRequests().getName());
  }

  @Override
  public KeyValues getHighCardinalityKeyValues(ServerRequestObservationContext context) {
    return KeyValues.empty();
  }
}
