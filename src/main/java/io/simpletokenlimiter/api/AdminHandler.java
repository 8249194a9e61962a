package io.simpletokenlimiter.api;

import io.simpletokenlimiter.identity.UserId;
import io.simpletokenlimiter.limit.Budget;
import io.simpletokenlimiter.limit.EffectiveLimits;
import io.simpletokenlimiter.limit.LayeredLimits;
import io.simpletokenlimiter.limit.LimitField;
import io.simpletokenlimiter.limit.LimitOverride;
import io.simpletokenlimiter.limit.RuntimeLimits;
import io.simpletokenlimiter.limit.Team;
import io.simpletokenlimiter.limit.TokenLimiter;
import io.simpletokenlimiter.limit.UsageSnapshot;
import io.simpletokenlimiter.limit.UserUsage;
import io.simpletokenlimiter.limit.Window;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.json.JsonMapper;

/**
 * The admin API under {@code /api/v1/admin}, for the admin token or an admin API key ({@link
 * AdminAuthorization}): the heaviest users of a window, forgiving a user's usage, and per-user
 * limits set at run time. Every change is logged at INFO with who made it.
 */
@Component
public class AdminHandler {

  private static final Logger log = LoggerFactory.getLogger(AdminHandler.class);

  /** The longest list {@code top} may ask for. */
  public static final int MAX_TOP = 1_000;

  private static final int DEFAULT_TOP = 20;

  private final AdminAuthorization admins;
  private final TokenLimiter limiter;
  private final LayeredLimits limits;
  private final RuntimeLimits runtimeLimits;
  private final JsonBodyReader bodies;
  private final JsonMapper json;

  public AdminHandler(
      AdminAuthorization admins,
      TokenLimiter limiter,
      LayeredLimits limits,
      RuntimeLimits runtimeLimits,
      JsonBodyReader bodies,
      JsonMapper json) {
    this.admins = admins;
    this.limiter = limiter;
    this.limits = limits;
    this.runtimeLimits = runtimeLimits;
    this.bodies = bodies;
    this.json = json;
  }

  /** {@code GET /api/v1/admin/usage?window=day&top=20}. */
  public Mono<ServerResponse> topUsage(ServerRequest request) {
    admins.requireAdmin(request);
    Window window = window(request.queryParam("window").orElse("day"));
    int top = top(request.queryParam("top").orElse(Integer.toString(DEFAULT_TOP)));
    return limiter
        .top(window, top)
        .flatMap(
            users -> {
              // One read per team listed, however many of its members are.
              Map<String, Mono<Optional<UsageSnapshot>>> teams = new HashMap<>();
              return Flux.fromIterable(users)
                  .concatMap(user -> usageEntry(user, teams))
                  .collectList();
            })
        .flatMap(
            users -> {
              Map<String, Object> body = new LinkedHashMap<>();
              body.put("window", window.limitType().label());
              body.put("top", top);
              body.put("users", users);
              return ok(body);
            });
  }

  /** {@code DELETE /api/v1/admin/usage/{userId}}: requests in flight keep their reservations. */
  public Mono<ServerResponse> forgetUsage(ServerRequest request) {
    String admin = admins.requireAdmin(request);
    String userId = userId(request);
    return limiter
        .forget(userId)
        .doOnSuccess(done -> log.info("Usage of user {} forgotten by {}", userId, admin))
        .then(limiter.usage(userId))
        .flatMap(usage -> usageEntry(new UserUsage(userId, usage), new HashMap<>()))
        .flatMap(AdminHandler::ok);
  }

  /** {@code GET /api/v1/admin/limits/{userId}}: effective limits and where each comes from. */
  public Mono<ServerResponse> limits(ServerRequest request) {
    admins.requireAdmin(request);
    return ok(limitsBody(userId(request)));
  }

  /** {@code PUT /api/v1/admin/limits/{userId}}: replaces the user's run-time limits. */
  public Mono<ServerResponse> putLimits(ServerRequest request) {
    String admin = admins.requireAdmin(request);
    String userId = userId(request);
    return bodies
        .read(request.exchange().getRequest())
        .map(this::override)
        .flatMap(
            override ->
                runtimeLimits
                    .put(userId, override)
                    .onErrorMap(
                        IllegalArgumentException.class,
                        full -> ApiException.invalidRequest(full.getMessage()))
                    .doOnSuccess(
                        done ->
                            log.info(
                                "Run-time limits of user {} set to {} by {}",
                                userId,
                                override.toMap(),
                                admin)))
        .then(Mono.defer(() -> ok(limitsBody(userId))));
  }

  /** {@code DELETE /api/v1/admin/limits/{userId}}: back to the configuration's limits. */
  public Mono<ServerResponse> removeLimits(ServerRequest request) {
    String admin = admins.requireAdmin(request);
    String userId = userId(request);
    return runtimeLimits
        .remove(userId)
        .doOnNext(
            removed -> {
              if (removed) {
                log.info("Run-time limits of user {} removed by {}", userId, admin);
              }
            })
        .then(Mono.defer(() -> ok(limitsBody(userId))));
  }

  private LimitOverride override(byte[] body) {
    Object document;
    try {
      document = json.readValue(body, Object.class);
    } catch (JacksonException e) {
      throw ApiException.invalidRequest("The body must be a JSON object of limits");
    }
    if (!(document instanceof Map<?, ?> map) || map.isEmpty()) {
      throw ApiException.invalidRequest(
          "The body must be a JSON object with at least one of "
              + List.of(LimitField.values()).stream().map(LimitField::key).toList()
              + " or tier");
    }
    @SuppressWarnings("unchecked")
    Map<String, ?> fields = (Map<String, ?>) map;
    LimitOverride override;
    try {
      override = LimitOverride.parse(fields, true, "limits");
    } catch (IllegalArgumentException e) {
      throw ApiException.invalidRequest(e.getMessage());
    }
    override
        .tier()
        .filter(tier -> !limits.tierExists(tier))
        .ifPresent(
            tier -> {
              throw ApiException.invalidRequest(
                  "limits: unknown tier '" + tier + "'; tiers come from the overrides file");
            });
    return override;
  }

  private Map<String, Object> limitsBody(String userId) {
    EffectiveLimits effective = limits.explain(userId);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("user_id", userId);
    Map<String, Object> fields = new LinkedHashMap<>();
    for (LimitField field : LimitField.values()) {
      fields.put(
          field.key(),
          Map.of(
              "value",
              field.of(effective.limits()),
              "source",
              effective.sources().get(field).label()));
    }
    body.put("limits", fields);
    effective.tier().ifPresent(tier -> body.put("tier", tier));
    effective.tierSource().ifPresent(source -> body.put("tier_source", source.label()));
    runtimeLimits.get(userId).ifPresent(runtime -> body.put("runtime", runtime.toMap()));
    return body;
  }

  /** What {@code GET /api/v1/usage/{userId}} gives, team included, after the user's id. */
  private Mono<Map<String, Object>> usageEntry(
      UserUsage user, Map<String, Mono<Optional<UsageSnapshot>>> teams) {
    Budget budget = limiter.budgetFor(user.userId());
    String team = budget.team().map(Team::name).orElse("");
    return teams
        .computeIfAbsent(team, name -> UsageHandler.teamUsage(limiter, budget).cache())
        .map(
            teamUsage -> {
              Map<String, Object> entry = new LinkedHashMap<>();
              entry.put("user_id", user.userId());
              entry.putAll(UsageBody.of(user.usage(), budget, teamUsage));
              return entry;
            });
  }

  private static String userId(ServerRequest request) {
    String userId = request.pathVariable("userId");
    if (!UserId.isValid(userId)) {
      throw new ApiException(
          HttpStatus.BAD_REQUEST, "invalid_user_id", "The user id must be " + UserId.RULE);
    }
    return userId;
  }

  private static Window window(String name) {
    for (Window window : Window.values()) {
      if (window.limitType().label().equals(name.toLowerCase(Locale.ROOT))) {
        return window;
      }
    }
    throw ApiException.invalidRequest("window must be minute, hour or day, was '" + name + "'");
  }

  private static int top(String value) {
    try {
      int top = Integer.parseInt(value);
      if (top >= 1 && top <= MAX_TOP) {
        return top;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw ApiException.invalidRequest(
        "top must be a whole number from 1 to " + MAX_TOP + ", was '" + value + "'");
  }

  private static Mono<ServerResponse> ok(Object body) {
    return ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(body);
  }
}
