package io.simpletokenlimiter.api;

import io.simpletokenlimiter.identity.UnidentifiedUserException;
import io.simpletokenlimiter.limit.Admission;
import io.simpletokenlimiter.limit.LimitType;
import io.simpletokenlimiter.limit.RateLimitedException;
import io.simpletokenlimiter.limit.RequestTooLargeException;
import io.simpletokenlimiter.limit.store.StoreFullException;
import io.simpletokenlimiter.limit.store.StoreUnavailableException;
import io.simpletokenlimiter.upstream.UpstreamUnavailableException;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.annotation.Order;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.stereotype.Component;
import org.springframework.web.server.MethodNotAllowedException;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebExceptionHandler;
import org.springframework.web.util.DisconnectedClientHelper;
import reactor.core.publisher.Mono;
import reactor.core.publisher.SignalType;
import tools.jackson.databind.json.JsonMapper;

/**
 * The one place where failures become answers: every error, ours or Spring's (unknown path, wrong
 * method), is a JSON body {@code {"error":..., "message":...}} and never a stack trace. Runs before
 * Boot's own error handler.
 */
@Component
@Order(-2)
public class ApiErrorHandler implements WebExceptionHandler {

  private static final Logger log = LoggerFactory.getLogger(ApiErrorHandler.class);

  private final JsonMapper json;
  private final UsageEvents usageEvents;

  public ApiErrorHandler(JsonMapper json, UsageEvents usageEvents) {
    this.json = json;
    this.usageEvents = usageEvents;
  }

  @Override
  public Mono<Void> handle(ServerWebExchange exchange, Throwable error) {
    if (DisconnectedClientHelper.isClientDisconnectedException(error)) {
      // The client hung up (mid-body, mid-answer): nobody to answer and nothing wrong here.
      log.debug(
          "Client went away during {}: {}", exchange.getRequest().getPath(), error.toString());
      return Mono.empty();
    }
    ServerHttpResponse response = exchange.getResponse();
    if (response.isCommitted()) {
      return Mono.error(error);
    }
    ApiException apiError = toApiException(exchange, error);
    RequestOutcome.of(exchange)
        .ifPresent(outcome -> outcome.failed(apiError.code(), apiError.limitType().orElse(null)));
    response.setStatusCode(apiError.status());
    HttpHeaders headers = response.getHeaders();
    headers.setContentType(MediaType.APPLICATION_JSON);
    headers.remove(HttpHeaders.CONTENT_LENGTH);
    apiError.headers().forEach(headers::put);
    byte[] body = json.writeValueAsBytes(apiError.body());
    return response
        .writeWith(Mono.fromSupplier(() -> response.bufferFactory().wrap(body)))
        .doFinally(signal -> usageEvents.write(exchange, signal == SignalType.CANCEL));
  }

  /**
   * The wait, the limit and whose limit it was; the model's capacity is the deployment's, neither
   * the user's nor their team's, so its 429 names no scope.
   */
  private static Map<String, Object> rejectionBody(Admission.Rejected rejected) {
    long retryAfter = RateLimitHeaders.retryAfterSeconds(rejected);
    String limitType = rejected.limitType().label();
    if (rejected.limitType() == LimitType.CAPACITY) {
      return Map.of("retry_after", retryAfter, "limit_type", limitType);
    }
    return Map.of(
        "retry_after", retryAfter, "limit_type", limitType, "scope", rejected.scope().label());
  }

  private static ApiException toApiException(ServerWebExchange exchange, Throwable error) {
    if (error instanceof ApiException apiError) {
      return apiError;
    }
    if (error instanceof RateLimitedException rateLimited) {
      Admission.Rejected rejected = rateLimited.rejection();
      return new ApiException(
          HttpStatus.TOO_MANY_REQUESTS,
          "rate_limit_exceeded",
          "Token usage limit exceeded",
          rejectionBody(rejected),
          RateLimitHeaders.of(rejected));
    }
    if (error instanceof RequestTooLargeException tooLarge) {
      return new ApiException(HttpStatus.BAD_REQUEST, "request_too_large", tooLarge.getMessage());
    }
    if (error instanceof UnidentifiedUserException unidentified) {
      return switch (unidentified.reason()) {
        case MISSING ->
            new ApiException(HttpStatus.UNAUTHORIZED, "missing_user_id", error.getMessage());
        case INVALID ->
            new ApiException(HttpStatus.BAD_REQUEST, "invalid_user_id", error.getMessage());
        case MISSING_API_KEY ->
            new ApiException(HttpStatus.UNAUTHORIZED, "missing_api_key", error.getMessage());
        case INVALID_API_KEY ->
            new ApiException(HttpStatus.UNAUTHORIZED, "invalid_api_key", error.getMessage());
        case MULTIPLE_API_KEYS ->
            new ApiException(HttpStatus.BAD_REQUEST, "invalid_api_key", error.getMessage());
      };
    }
    if (error instanceof UpstreamUnavailableException) {
      log.warn("Model service unavailable: {}", error.getMessage());
      return new ApiException(
          HttpStatus.SERVICE_UNAVAILABLE,
          "model_service_error",
          "Model service is temporarily unavailable");
    }
    if (error instanceof StoreFullException) {
      return new ApiException(
          HttpStatus.SERVICE_UNAVAILABLE, "limiter_unavailable", error.getMessage());
    }
    if (error instanceof StoreUnavailableException) {
      log.warn("Limit store unavailable: {}", error.getMessage());
      return new ApiException(
          HttpStatus.SERVICE_UNAVAILABLE,
          "limiter_unavailable",
          "The rate limiter is temporarily unavailable; retry shortly");
    }
    if (error instanceof DataBufferLimitException) {
      return new ApiException(
          HttpStatus.PAYLOAD_TOO_LARGE, "payload_too_large", "The request body is too large");
    }
    if (error instanceof ResponseStatusException statusError) {
      return fromSpring(exchange, statusError);
    }
    log.error("Unexpected error on {}", exchange.getRequest().getPath(), error);
    return new ApiException(
        HttpStatus.INTERNAL_SERVER_ERROR, "internal_error", "An internal error occurred");
  }

  private static ApiException fromSpring(ServerWebExchange exchange, ResponseStatusException e) {
    HttpStatus status = HttpStatus.resolve(e.getStatusCode().value());
    if (status == null) {
      status = HttpStatus.INTERNAL_SERVER_ERROR;
    }
    String request = exchange.getRequest().getMethod() + " " + exchange.getRequest().getPath();
    return switch (status) {
      case NOT_FOUND -> new ApiException(status, "not_found", "No such endpoint: " + request);
      case METHOD_NOT_ALLOWED -> {
        HttpHeaders headers = new HttpHeaders();
        if (e instanceof MethodNotAllowedException notAllowed) {
          headers.setAllow(notAllowed.getSupportedMethods());
        }
        yield new ApiException(
            status, "method_not_allowed", "Method not allowed: " + request, Map.of(), headers);
      }
      case UNSUPPORTED_MEDIA_TYPE ->
          new ApiException(status, "unsupported_media_type", "Send the body as application/json");
      case PAYLOAD_TOO_LARGE ->
          new ApiException(status, "payload_too_large", "The request body is too large");
      default -> {
        if (status.is5xxServerError()) {
          log.error("Server error on {}", request, e);
          yield new ApiException(status, "internal_error", "An internal error occurred");
        }
        yield new ApiException(
            status,
            "invalid_request",
            e.getReason() == null ? status.getReasonPhrase() : e.getReason());
      }
    };
  }
}
