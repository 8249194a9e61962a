package io.simpletokenlimiter.identity;

import org.springframework.http.server.reactive.ServerHttpRequest;

/** Takes the user from the {@code X-User-ID} header, set by a trusted gateway in front. */
public class HeaderUserIdResolver implements UserIdResolver {

  public static final String HEADER = "X-User-ID";

  @Override
  public String resolve(ServerHttpRequest request) {
    String value = request.getHeaders().getFirst(HEADER);
    if (value == null || value.isBlank()) {
      throw new UnidentifiedUserException(
          UnidentifiedUserException.Reason.MISSING, "The X-User-ID header is required");
    }
    if (!UserId.isValid(value)) {
      throw new UnidentifiedUserException(
          UnidentifiedUserException.Reason.INVALID, "X-User-ID must be " + UserId.RULE);
    }
    return value;
  }
}
