package io.simpletokenlimiter.limit.wait;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class WeightedTurnsTest {

  private final WeightedTurns turns = new WeightedTurns();

  @Test
  void usersTakeTurnsWhateverTheirBacklog() {
    turns.join("heavy", 1);
    turns.join("light", 1);

    assertThat(serve(6, "heavy", 50, "light", 3))
        .containsExactly("heavy", "light", "heavy", "light", "heavy", "light");
  }

  @Test
  void aShareOfTwoTakesTwoTurnsInARow() {
    turns.join("gold", 2);
    turns.join("free", 1);

    assertThat(serve(9, "gold", 100, "free", 100))
        .containsExactly("gold", "gold", "free", "gold", "gold", "free", "gold", "gold", "free");
  }

  @Test
  void aNewcomerJoinsAtTheEndOfTheRound() {
    turns.join("a", 1);
    turns.join("b", 1);
    turns.served("a", true);
    turns.join("c", 1);

    assertThat(turns.current()).isEqualTo("b");
    turns.served("b", true);
    assertThat(turns.current()).isEqualTo("a");
    turns.served("a", true);
    assertThat(turns.current()).isEqualTo("c");
  }

  @Test
  void aUserWithNothingLeftLeavesTheRing() {
    turns.join("a", 3);
    turns.join("b", 1);
    turns.served("a", false);

    assertThat(turns.current()).isEqualTo("b");
    turns.leave("b");
    assertThat(turns.isEmpty()).isTrue();
    assertThat(turns.current()).isNull();
  }

  /** Serves {@code count} turns to two users with the given backlogs; who got each turn. */
  private List<String> serve(int count, String first, int firstBacklog, String second, int left) {
    int[] backlog = {firstBacklog, left};
    List<String> served = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String user = turns.current();
      int index = user.equals(first) ? 0 : 1;
      backlog[index]--;
      served.add(user);
      turns.served(user, backlog[index] > 0);
    }
    return served;
  }
}
