package io.simpletokenlimiter.api;

import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.identity.UserId;
import io.simpletokenlimiter.identity.UserIdResolver;
import io.simpletokenlimiter.limit.Budget;
import io.simpletokenlimiter.limit.TokenLimiter;
import io.simpletokenlimiter.limit.UsageSnapshot;
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
    return limiter
        .usage(userId)
        .zipWith(teamUsage(limiter, budget))
        .flatMap(
            usages ->
                ServerResponse.ok()
                    .contentType(MediaType.APPLICATION_JSON)
                    .bodyValue(UsageBody.of(usages.getT1(), budget, usages.getT2())));
  }

  /** The team's usage for a team member, read alongside the user's; empty for anyone else. */
  static Mono<Optional<UsageSnapshot>> teamUsage(TokenLimiter limiter, Budget budget) {
    return budget
        .team()
        .map(team -> limiter.teamUsage(team.name()).map(Optional::of))
        .orElseGet(() -> Mono.just(Optional.empty()));
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
