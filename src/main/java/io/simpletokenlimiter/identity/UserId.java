package io.simpletokenlimiter.identity;

import java.util.regex.Pattern;

/** The form of a user id: it becomes part of store keys (Redis too), hence the strict alphabet. */
public final class UserId {

  public static final String RULE = "1 to 128 characters of letters, digits and . _ @ : -";

  private static final Pattern VALID = Pattern.compile("[A-Za-z0-9._@:-]{1,128}");

  private UserId() {}

  public static boolean isValid(String candidate) {
    return VALID.matcher(candidate).matches();
  }
}
