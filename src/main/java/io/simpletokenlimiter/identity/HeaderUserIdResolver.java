package io.simpletokenlimiter.identity;

import java.util.regex.Pattern;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.stereotype.Component;

/**
 * Takes the user from the {@code X-User-ID} header, set by a trusted gateway in front. The id is
 * part of store keys (Redis too), hence the strict alphabet.
 */
@Component
public class HeaderUserIdResolver implements UserIdResolver {

  public static final String HEADER = "X-User-ID";

  private static final Pattern VALID = Pattern.compile("[A-Za-z0-9._@:-]{1,128}");

  @Override
  public String resolve(ServerHttpRequest request) {
    String value = request.getHeaders().getFirst(HEADER);
    if (value == null || value.isBlank()) {
      throw new UnidentifiedUserException(
          UnidentifiedUserException.Reason.MISSING, "The X-User-ID header is required");
    }
    if (!VALID.matcher(value).matches()) {
      throw new UnidentifiedUserException(
          UnidentifiedUserException.Reason.INVALID,
          "X-User-ID must be 1 to 128 characters of letters, digits and . _ @ : -");
    }
    return value;
  }
}
