package io.simpletokenlimiter.api;

import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.identity.UserId;
import io.simpletokenlimiter.identity.UserIdResolver;
import io.simpletokenlimiter.limit.Budget;
import io.simpletokenlimiter.limit.Team;
import io.simpletokenlimiter.limit.TokenLimiter;
import io.simpletokenlimiter.limit.TokenWeights;
import io.simpletokenlimiter.limit.UsageSnapshot;
import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
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
 * ({@code Authorization: Bearer <token>}) or an admin API key reads anyone's. Without it, anyone
 * who can reach the service reads any user's usage, as the brief's API does: a gateway in front
 * must restrict the path.
 */
@Component
public class UsageHandler {

  private final TokenLimiter limiter;
  private final UserIdResolver users;
  private final AdminAuthorization admins;
  private final boolean adminTokenSet;

  public UsageHandler(
      TokenLimiter limiter,
      UserIdResolver users,
      AdminAuthorization admins,
      TokenLimitProperties properties) {
    this.limiter = limiter;
    this.users = users;
    this.admins = admins;
    this.adminTokenSet = properties.admin().isPresent();
  }

  public Mono<ServerResponse> usage(ServerRequest request) {
    String userId = request.pathVariable("userId");
    if (!UserId.isValid(userId)) {
      throw new ApiException(
          HttpStatus.BAD_REQUEST, "invalid_user_id", "The user id must be " + UserId.RULE);
    }
    authorize(request, userId);
    Budget budget = limiter.budgetFor(userId);
    Mono<Optional<Map<String, Object>>> team =
        budget
            .team()
            .map(t -> limiter.teamUsage(t.name()).map(usage -> Optional.of(teamBody(t, usage))))
            .orElseGet(() -> Mono.just(Optional.empty()));
    return limiter
        .usage(userId)
        .zipWith(team)
        .flatMap(
            usages -> {
              Map<String, Object> body = UsageBody.of(usages.getT1(), budget.limits());
              body.put("weights", weightsBody(budget.weights()));
              usages.getT2().ifPresent(teamBody -> body.put("team", teamBody));
              return ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(body);
            });
  }

  private static Map<String, Object> teamBody(Team team, UsageSnapshot usage) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("name", team.name());
    body.putAll(UsageBody.of(usage, team.limits()));
    return body;
  }

  /** What one token of each kind costs in the units counted above. */
  private static Map<String, Object> weightsBody(TokenWeights weights) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("prompt", BigDecimal.valueOf(weights.promptMillis(), 3).stripTrailingZeros());
    body.put("completion", BigDecimal.valueOf(weights.completionMillis(), 3).stripTrailingZeros());
    body.put(
        "cached_prompt", BigDecimal.valueOf(weights.cachedPromptMillis(), 3).stripTrailingZeros());
    return body;
  }

  private void authorize(ServerRequest request, String userId) {
    if (admins.isAdmin(request) || (!adminTokenSet && !users.authenticates())) {
      return;
    }
    if (!users.resolve(request.exchange().getRequest()).equals(userId)) {
      throw new ApiException(
          HttpStatus.FORBIDDEN, "forbidden", "Reading another user's usage needs the admin token");
    }
  }
}
