package io.simpletokenlimiter.tokens;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JinjaTrimTest {

  @ParameterizedTest(name = "U+{0}")
  @CsvSource({
    "0009", "000A", "000B", "000C", "000D", "001C", "001D", "001E", "001F", "0020", "0085", "00A0",
    "1680", "2000", "2007", "200A", "2028", "2029", "202F", "205F", "3000"
  })
  void stripsEveryCharacterPythonCallsSpace(String hex) {
    char space = (char) Integer.parseInt(hex, 16);

    assertThat(JinjaTrim.trim(space + "a b" + space + space)).isEqualTo("a b");
  }

  @ParameterizedTest(name = "U+{0}")
  @CsvSource({"200B", "FEFF", "180E", "0000", "00AD", "2060", "3164"})
  void keepsCharactersPythonDoesNotCallSpace(String hex) {
    char notSpace = (char) Integer.parseInt(hex, 16);

    assertThat(JinjaTrim.trim(notSpace + "a" + notSpace)).isEqualTo(notSpace + "a" + notSpace);
  }

  @Test
  void stripsWhatJavaStripKeeps() {
    assertThat(JinjaTrim.trim("\u00a0nbsp\u202f")).isEqualTo("nbsp");
    assertThat("\u00a0nbsp\u202f".strip()).isNotEqualTo("nbsp");
  }

  @Test
  void handlesEmptyAndAllSpace() {
    assertThat(JinjaTrim.trim("")).isEmpty();
    assertThat(JinjaTrim.trim(" \t\n\u3000\u001f")).isEmpty();
    assertThat(JinjaTrim.trim("x")).isEqualTo("x");
    assertThat(JinjaTrim.trim("  inner   spaces\n\nkept ")).isEqualTo("inner   spaces\n\nkept");
  }

  /**
   * Counting the text after a header's "\n\n" on its own relies on trimmed text never starting with
   * what the Llama 3 pattern's {@code \s} matches.
   */
  @Test
  void everyWhitespaceOfTheSplitPatternIsTrimmed() {
    Pattern whitespace = Pattern.compile("\\s", Pattern.UNICODE_CHARACTER_CLASS);
    for (char c = 0; c < Character.MAX_VALUE; c++) {
      if (whitespace.matcher(String.valueOf(c)).matches()) {
        assertThat(JinjaTrim.isPythonSpace(c)).as("U+%04X", (int) c).isTrue();
      }
    }
  }
}
