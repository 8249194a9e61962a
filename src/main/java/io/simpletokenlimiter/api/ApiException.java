package io.simpletokenlimiter.api;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;

/**
 * A request ends with an error the client should see as {@code {"error":code,"message":...}}, plus
 * any extra fields and headers. {@link ApiErrorHandler} writes it.
 */
public class ApiException extends RuntimeException {

  private final HttpStatus status;
  private final String code;
  private final Map<String, Object> extraFields;
  private final HttpHeaders headers;

  public ApiException(HttpStatus status, String code, String message) {
    this(status, code, message, Map.of(), HttpHeaders.EMPTY);
  }

  public ApiException(
      HttpStatus status,
      String code,
      String message,
      Map<String, Object> extraFields,
      HttpHeaders headers) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
    this.extraFields = Map.copyOf(extraFields);
    this.headers = HttpHeaders.readOnlyHttpHeaders(headers);
  }

  public static ApiException invalidRequest(String message) {
    return new ApiException(HttpStatus.BAD_REQUEST, "invalid_request", message);
  }

  public HttpStatus status() {
    return status;
  }

  /** The {@code error} code of the body, e.g. {@code rate_limit_exceeded}. */
  public String code() {
    return code;
  }

  /** The window or limit that blocked, for a rate-limit rejection. */
  public Optional<String> limitType() {
    return Optional.ofNullable(extraFields.get("limit_type")).map(String::valueOf);
  }

  public HttpHeaders headers() {
    return headers;
  }

  /** The JSON body: {@code error} and {@code message} first, then the extra fields. */
  public Map<String, Object> body() {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("error", code);
    body.put("message", getMessage());
    body.putAll(extraFields);
    return body;
  }
}
