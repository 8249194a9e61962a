package io.simpletokenlimiter.api;

import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.limit.Budget;
import io.simpletokenlimiter.limit.Lease;
import io.simpletokenlimiter.limit.Team;
import io.simpletokenlimiter.limit.TokenLimiter;
import io.simpletokenlimiter.limit.TokenUsage;
import io.simpletokenlimiter.metrics.GenAiMetrics;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatusCode;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;

/**
 * One JSON line per finished generation request, rejections included, on the logger {@code
 * usage-events} (standard output, message only: see {@code logback-spring.xml}), for billing and
 * audit; the README lists the fields. Also feeds the OpenTelemetry GenAI metrics.
 */
@Component
public class UsageEvents {

  /** The logger's name: route it elsewhere in the logging configuration. */
  public static final String LOGGER = "usage-events";

  /** The status logged for a client that left before any status line was sent (as nginx does). */
  static final int CLIENT_CLOSED_REQUEST = 499;

  private static final Logger log = LoggerFactory.getLogger(LOGGER);

  /** The limiter's own refusals: a limit, Redis down, or the counting lanes full. */
  private static final Set<String> REJECTIONS =
      Set.of("rate_limit_exceeded", "limiter_unavailable", "counting_busy", "server_busy");

  private final GenAiMetrics genAi;
  private final TokenLimiter limiter;
  private final String model;
  private final String replica;

  public UsageEvents(
      GenAiMetrics genAi,
      TokenLimiter limiter,
      TokenLimitProperties.Model model,
      TokenLimitProperties properties) {
    this.genAi = genAi;
    this.limiter = limiter;
    this.model = model.publicName();
    this.replica = properties.replica();
  }

  /** Writes the event of {@code exchange}'s request, once; nothing for other exchanges. */
  void write(ServerWebExchange exchange, boolean clientLeft) {
    RequestOutcome.of(exchange)
        .filter(RequestOutcome::claimWrite)
        .ifPresent(outcome -> write(outcome, status(exchange, clientLeft), clientLeft));
  }

  private void write(RequestOutcome request, int status, boolean clientLeft) {
    Duration duration = Duration.ofNanos(System.nanoTime() - request.startNanos());
    TokenUsage charged = request.lease().flatMap(Lease::charged).orElse(TokenUsage.NONE);
    String outcome = outcome(request, status, clientLeft);
    genAi.recordOperation(
        request.endpoint(), charged, duration, outcome, request.timeToFirstChunkNanos());
    if (!log.isInfoEnabled()) {
      return;
    }
    JsonLine event = new JsonLine().text("user", request.user().orElse(null));
    team(request).ifPresent(team -> event.text("team", team));
    event
        .text("endpoint", request.endpoint())
        .text("model", model)
        .number("prompt_tokens", charged.promptTokens())
        .number("completion_tokens", charged.completionTokens())
        .number("cached_prompt_tokens", charged.cachedPromptTokens())
        .number("charged_tokens", charged.total())
        .number("charged_units", request.lease().flatMap(Lease::chargedUnits).orElse(0L))
        .number(
            "reserved_tokens",
            request.lease().map(lease -> lease.wholeReservation().total()).orElse(0L))
        .number("reserved_units", request.lease().map(Lease::reservedTokens).orElse(0L))
        .number("status", status)
        .text("outcome", outcome);
    request.limitType().ifPresent(type -> event.text("limit_type", type));
    event
        .bool("stream", request.stream())
        .number("duration_ms", duration.toMillis())
        .text("replica", replica);
    log.info(event.end());
  }

  /** The team charged with the user: the lease's, else (not admitted) the user's team now. */
  private Optional<String> team(RequestOutcome request) {
    Optional<Lease> lease = request.lease();
    if (lease.isPresent()) {
      return lease.get().team();
    }
    return request.user().map(limiter::budgetFor).flatMap(Budget::team).map(Team::name);
  }

  private static int status(ServerWebExchange exchange, boolean clientLeft) {
    HttpStatusCode status = exchange.getResponse().getStatusCode();
    if (clientLeft && !exchange.getResponse().isCommitted()) {
      return CLIENT_CLOSED_REQUEST;
    }
    return status == null ? 200 : status.value();
  }

  /** {@code served}, {@code rejected}, {@code upstream_error}, {@code client_cancel} or invalid. */
  private static String outcome(RequestOutcome request, int status, boolean clientLeft) {
    Lease.Ending ending = request.lease().flatMap(Lease::ending).orElse(null);
    if (ending != null) {
      return switch (ending) {
        case ANSWERED -> "served";
        case UPSTREAM_FAILED -> "upstream_error";
        case ABANDONED -> "client_cancel";
      };
    }
    if (clientLeft) {
      return "client_cancel";
    }
    String error = request.error().orElse("");
    if (REJECTIONS.contains(error)) {
      return "rejected";
    }
    return status >= 500 ? "upstream_error" : "invalid";
  }
}
