package io.simpletokenlimiter.identity;

/** The form of a user id: it becomes part of store keys (Redis too), hence the strict alphabet. */
public final class UserId {

  public static final String RULE = "1 to 128 characters of letters, digits and . _ @ : -";

  private static final int MAX_LENGTH = 128;

  private UserId() {}

  /** Checked character by character: every request's id is, and a regular expression cost more. */
  public static boolean isValid(String candidate) {
    int length = candidate.length();
    if (length == 0 || length > MAX_LENGTH) {
      return false;
    }
    for (int i = 0; i < length; i++) {
      if (!allowed(candidate.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  private static boolean allowed(char c) {
    return (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')
        || c == '.'
        || c == '_'
        || c == '@'
        || c == ':'
        || c == '-';
  }
}
