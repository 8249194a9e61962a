package io.simpletokenlimiter.identity;

import io.simpletokenlimiter.config.TokenLimitProperties;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Optional;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Health details (components, the disk path, Redis, the model server) for the operator only.
 *
 * <p>{@code /actuator/health} shows no details to anyone ({@code show-details: never}): probes and
 * anonymous callers get the status code and status. A request that presents the admin token ({@code
 * Authorization: Bearer <token.limit.admin-token>}) is answered by the health group {@value
 * #DETAILS_GROUP} instead, which includes every contributor and shows details; that group's own
 * path refuses everyone else. Without an admin token configured, nobody sees details.
 *
 * <p>Actuator's own {@code show-details: when-authorized} reads the caller from Spring Security,
 * which this service does not use; this filter is the small piece of it the service needs.
 */
@Component
public class AdminHealthDetailsFilter implements WebFilter, Ordered {

  /** The health group that shows details; configured in {@code application.yml}. */
  public static final String DETAILS_GROUP = "operator";

  private static final String HEALTH = "/actuator/health";
  private static final String DETAILS = HEALTH + "/" + DETAILS_GROUP;
  private static final String BEARER = "Bearer ";

  private final Optional<byte[]> adminToken;

  public AdminHealthDetailsFilter(TokenLimitProperties properties) {
    this.adminToken = properties.admin().map(token -> token.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
    String path = exchange.getRequest().getPath().pathWithinApplication().value();
    boolean details = path.equals(DETAILS) || path.startsWith(DETAILS + "/");
    if (!details && !path.equals(HEALTH)) {
      return chain.filter(exchange);
    }
    boolean admin = isAdmin(exchange.getRequest());
    if (details && !admin) {
      return Mono.error(
          new ResponseStatusException(HttpStatus.NOT_FOUND, "Health details need the admin token"));
    }
    if (!admin) {
      return chain.filter(exchange);
    }
    return chain.filter(exchange.mutate().request(request -> request.path(DETAILS)).build());
  }

  @Override
  public int getOrder() {
    return Ordered.HIGHEST_PRECEDENCE + 10;
  }

  private boolean isAdmin(ServerHttpRequest request) {
    List<String> given = request.getHeaders().getOrEmpty(HttpHeaders.AUTHORIZATION);
    if (adminToken.isEmpty() || given.size() != 1 || !given.get(0).startsWith(BEARER)) {
      return false;
    }
    byte[] presented = given.get(0).substring(BEARER.length()).getBytes(StandardCharsets.UTF_8);
    return MessageDigest.isEqual(presented, adminToken.orElseThrow());
  }
}
