package io.simpletokenlimiter.limit;

import java.util.regex.Pattern;

/**
 * A team whose members share its limits on top of their own: a request is admitted only if it fits
 * both.
 */
public record Team(String name, Limits limits) {

  /** Team names become part of store keys and lease ids, hence the alphabet of user ids. */
  private static final Pattern VALID = Pattern.compile("[A-Za-z0-9._@:-]{1,64}");

  public Team {
    requireName(name);
  }

  public static void requireName(String name) {
    if (name == null || !VALID.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "team name must be 1 to 64 characters of letters, digits and . _ @ : -, was " + name);
    }
  }
}
