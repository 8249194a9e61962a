package io.simpletokenlimiter.identity;

import org.springframework.http.server.reactive.ServerHttpRequest;

/** Finds out which user a request comes from; the user is the key of every limit. */
public interface UserIdResolver {

  /**
   * The caller's user id, 1 to 128 characters of {@code [A-Za-z0-9._@:-]}.
   *
   * @throws UnidentifiedUserException when the request names no valid user
   */
  String resolve(ServerHttpRequest request);

  /**
   * Whether the caller proved who they are (an API key), rather than being named by a trusted
   * gateway: then a user may read only their own usage even without an admin token.
   */
  default boolean authenticates() {
    return false;
  }

  /** Whether the request carries an API key marked admin; never in header mode. */
  default boolean isAdminKey(ServerHttpRequest request) {
    return false;
  }
}
