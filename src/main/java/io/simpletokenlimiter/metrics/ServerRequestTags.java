package io.simpletokenlimiter.metrics;

import org.springframework.boot.micrometer.observation.autoconfigure.ObservationProperties;
import org.springframework.http.server.reactive.observation.DefaultServerRequestObservationConvention;
import org.springframework.stereotype.Component;

/**
 * The labels of Spring's {@code http_server_requests_seconds} ({@code uri}, {@code method}, {@code
 * status}, {@code outcome}, {@code exception}) under its configurable name: Spring's own
 * convention, which {@link RequestTimer} asks once per route, status and error.
 */
@Component
public class ServerRequestTags extends DefaultServerRequestObservationConvention {

  public ServerRequestTags(ObservationProperties observations) {
    super(observations.getHttp().getServer().getRequests().getName());
  }
}
