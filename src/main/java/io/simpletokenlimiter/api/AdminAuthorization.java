package io.simpletokenlimiter.api;

import io.simpletokenlimiter.config.TokenLimitProperties;
import io.simpletokenlimiter.identity.UnidentifiedUserException;
import io.simpletokenlimiter.identity.UserIdResolver;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import java.util.Optional;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import org.springframework.web.reactive.function.server.ServerRequest;

/**
 * Who may use the admin API: a caller with {@code Authorization: Bearer <token>} where the token is
 * {@code token.limit.admin-token}, or, in API-key mode, a key marked {@code admin: true} in the
 * keys file. No credential is 401; a valid API key without the admin mark is 403.
 */
@Component
public class AdminAuthorization {

  private static final String BEARER = "Bearer ";

  private final Optional<byte[]> adminToken;
  private final UserIdResolver users;

  public AdminAuthorization(TokenLimitProperties properties, UserIdResolver users) {
    this.adminToken = properties.admin().map(token -> token.getBytes(StandardCharsets.UTF_8));
    this.users = users;
  }

  /** Whether the request carries the admin token or an admin API key. */
  public boolean isAdmin(ServerRequest request) {
    return admin(request).isPresent();
  }

  /**
   * Who the admin is, for the log: {@code admin-token} or {@code api-key:<user>}.
   *
   * @throws ApiException 401 without a valid credential, 403 for a caller who is not an admin
   */
  public String requireAdmin(ServerRequest request) {
    Optional<String> admin = admin(request);
    if (admin.isPresent()) {
      return admin.get();
    }
    String authorization = request.headers().firstHeader(HttpHeaders.AUTHORIZATION);
    if (authorization == null || !authorization.startsWith(BEARER)) {
      throw unauthorized("The admin API needs 'Authorization: Bearer <admin token or admin key>'");
    }
    if (users.authenticates()) {
      try {
        String user = users.resolve(request.exchange().getRequest());
        throw new ApiException(
            HttpStatus.FORBIDDEN, "forbidden", "The API key of " + user + " is not an admin key");
      } catch (UnidentifiedUserException notAKey) {
        // neither the admin token nor a known key: not authenticated at all
      }
    }
    throw unauthorized("The credential is not the admin token or an admin API key");
  }

  private Optional<String> admin(ServerRequest request) {
    String authorization = request.headers().firstHeader(HttpHeaders.AUTHORIZATION);
    if (authorization == null || !authorization.startsWith(BEARER)) {
      return Optional.empty();
    }
    byte[] presented = authorization.substring(BEARER.length()).getBytes(StandardCharsets.UTF_8);
    if (adminToken.isPresent() && MessageDigest.isEqual(presented, adminToken.get())) {
      return Optional.of("admin-token");
    }
    if (users.isAdminKey(request.exchange().getRequest())) {
      return Optional.of("api-key:" + users.resolve(request.exchange().getRequest()));
    }
    return Optional.empty();
  }

  private static ApiException unauthorized(String message) {
    HttpHeaders headers = new HttpHeaders();
    headers.set(HttpHeaders.WWW_AUTHENTICATE, "Bearer");
    return new ApiException(HttpStatus.UNAUTHORIZED, "unauthorized", message, Map.of(), headers);
  }
}
