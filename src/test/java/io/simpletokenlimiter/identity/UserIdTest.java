package io.simpletokenlimiter.identity;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** A user id is 1 to 128 characters of letters, digits and . _ @ : - (ASCII only). */
class UserIdTest {

  /** The rule as the regular expression it was first written as. */
  private static final Pattern RULE = Pattern.compile("[A-Za-z0-9._@:-]{1,128}");

  private static final String ALPHABET =
      "azAZ09._@:-/ \t\n\u00e9\u0130\u212a\uff21\u0660+%*#{}[]'\"\\\u0000";

  @Test
  void edgesOfTheRule() {
    assertThat(UserId.isValid("a")).isTrue();
    assertThat(UserId.isValid("alice@example.com:team-1_x")).isTrue();
    assertThat(UserId.isValid("x".repeat(128))).isTrue();
    assertThat(UserId.isValid("x".repeat(129))).isFalse();
    assertThat(UserId.isValid("")).isFalse();
    assertThat(UserId.isValid("al ice")).isFalse();
    assertThat(UserId.isValid("caf\u00e9")).isFalse();
    assertThat(UserId.isValid("\u212aelvin")).as("the Kelvin sign is not a K").isFalse();
    assertThat(UserId.isValid("{user}")).as("a Redis hash tag").isFalse();
  }

  @Test
  void agreesWithTheRuleOnRandomIds() {
    Random random = new Random(42);
    for (int n = 0; n < 20_000; n++) {
      int length = random.nextInt(132);
      StringBuilder id = new StringBuilder();
      for (int i = 0; i < length; i++) {
        id.append(
            random.nextInt(4) == 0
                ? ALPHABET.charAt(random.nextInt(ALPHABET.length()))
                : "abcXYZ019._@:-".charAt(random.nextInt(14)));
      }
      String candidate = id.toString();
      assertThat(UserId.isValid(candidate))
          .as("%s", candidate)
          .isEqualTo(RULE.matcher(candidate).matches());
    }
  }
}
