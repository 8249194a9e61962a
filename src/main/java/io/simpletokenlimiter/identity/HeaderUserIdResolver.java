package io.simpletokenlimiter.identity;

import java.util.List;
import org.springframework.http.server.reactive.ServerHttpRequest;

/** Takes the user from the {@code X-User-ID} header, set by a trusted gateway in front. */
public class HeaderUserIdResolver implements UserIdResolver {

  public static final String HEADER = "X-User-ID";

  @Override
  public String resolve(ServerHttpRequest request) {
    List<String> values = request.getHeaders().getOrEmpty(HEADER);
    if (values.size() > 1) {
      // Two identities in one request: which one a gateway or the limiter would pick is a guess.
      throw new UnidentifiedUserException(
          UnidentifiedUserException.Reason.INVALID, "Send exactly one X-User-ID header");
    }
    String value = values.isEmpty() ? null : values.get(0);
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
