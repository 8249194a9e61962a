package io.simpletokenlimiter.api;

import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.identity.UserId;
import io.simpletokenlimiter.identity.UserIdResolver;
import io.simpletokenlimiter.limit.Limits;
import io.simpletokenlimiter.limit.TokenLimiter;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.Window;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;

/**
 * {@code GET /api/v1/usage/{userId}}: tokens counted in each rolling window, in-flight reservations
 * included, with the user's limits and what remains.
 *
 * <p>With {@code token.limit.admin-token} set, users read only their own usage and the admin token
 * ({@code Authorization: Bearer <token>}) reads anyone's. Without it, anyone who can reach the
 * service reads any user's usage, as the brief's API does: a gateway in front must restrict the
 * path.
 */
@Component
public class UsageHandler {

  private final TokenLimiter limiter;
  private final UserIdResolver users;
  private final Optional<byte[]> adminToken;

  public UsageHandler(TokenLimiter limiter, UserIdResolver users, TokenLimitProperties properties) {
    this.limiter = limiter;
    this.users = users;
    this.adminToken = properties.admin().map(token -> token.getBytes(StandardCharsets.UTF_8));
  }

  public Mono<ServerResponse> usage(ServerRequest request) {
    String userId = request.pathVariable("userId");
    if (!UserId.isValid(userId)) {
      throw new ApiException(
          HttpStatus.BAD_REQUEST, "invalid_user_id", "The user id must be " + UserId.RULE);
    }
    authorize(request, userId);
    Limits limits = limiter.limitsFor(userId);
    return limiter
        .usage(userId)
        .flatMap(
            usage ->
                ServerResponse.ok()
                    .contentType(MediaType.APPLICATION_JSON)
                    .bodyValue(body(usage, limits)));
  }

  private void authorize(ServerRequest request, String userId) {
    if (isAdmin(request) || (adminToken.isEmpty() && !users.authenticates())) {
      return;
    }
    if (!users.resolve(request.exchange().getRequest()).equals(userId)) {
      throw new ApiException(
          HttpStatus.FORBIDDEN, "forbidden", "Reading another user's usage needs the admin token");
    }
  }

  private boolean isAdmin(ServerRequest request) {
    String authorization = request.headers().firstHeader(HttpHeaders.AUTHORIZATION);
    if (adminToken.isEmpty() || authorization == null || !authorization.startsWith("Bearer ")) {
      return false;
    }
    byte[] presented = authorization.substring(7).getBytes(StandardCharsets.UTF_8);
    return MessageDigest.isEqual(presented, adminToken.orElseThrow());
  }

  private static Map<String, Object> body(UsageSnapshot usage, Limits limits) {
    Map<String, Object> body = new LinkedHashMap<>();
    Map<String, Object> limitsBody = new LinkedHashMap<>();
    Map<String, Object> remaining = new LinkedHashMap<>();
    for (Window window : Window.values()) {
      String name = window.limitType().label();
      long limit = limits.tokens(window);
      body.put(name, usage.tokens(window));
      limitsBody.put(name, limit);
      remaining.put(
          name,
          limit == Limits.UNLIMITED ? Limits.UNLIMITED : Math.max(0, limit - usage.tokens(window)));
    }
    limitsBody.put("concurrent", limits.maxConcurrent());
    remaining.put("concurrent", Math.max(0, limits.maxConcurrent() - usage.inFlight()));
    body.put("concurrent", usage.inFlight());
    body.put("limits", limitsBody);
    body.put("remaining", remaining);
    return body;
  }
}
