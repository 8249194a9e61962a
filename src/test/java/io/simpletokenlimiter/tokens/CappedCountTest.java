package io.simpletokenlimiter.tokens;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Counting with a cap: exact below it, cheap and "more than cap" above it. */
class CappedCountTest {

  private static final List<String> TEXTS =
      List.of(
          "",
          "Hello there",
          "The quick brown fox jumps over the lazy dog. ".repeat(300),
          "  spaced   out\n\n\ttext  with   runs of    whitespace  \n".repeat(200),
          "numbers 1234567890 and <|eot_id|> special text ".repeat(150),
          "unicode ümlaut 日本語のテキスト 🙂 emoji ".repeat(250),
          "a".repeat(9_000) + " tail");

  @Test
  void belowTheCapTheCountIsExact() {
    Llama3Tokenizer tokenizer = Llama3Fixture.tokenizer();
    for (String text : TEXTS) {
      assertThat(tokenizer.count(text, Long.MAX_VALUE))
          .as("%.40s", text)
          .isEqualTo(tokenizer.count(text));
    }
  }

  @Test
  void aboveTheCapTheCountIsAboveTheCapAndNeverWhenTheTextFits() {
    Llama3Tokenizer tokenizer = Llama3Fixture.tokenizer();
    for (String text : TEXTS) {
      long exact = tokenizer.count(text);
      for (long cap : new long[] {0, 10, 2047, exact - 1, exact}) {
        long capped = tokenizer.count(text, cap);
        assertThat(capped > cap).as("cap %d, exact %d", cap, exact).isEqualTo(exact > cap);
        assertThat(capped).isLessThanOrEqualTo(exact);
      }
    }
  }

  @Test
  @Timeout(10)
  void tenMegabytesAreRefusedWithoutEncodingThem() {
    Llama3Tokenizer tokenizer = Llama3Fixture.tokenizer();
    String megabytes = "x".repeat(10_000_000);
    // Too few bytes for the byte bound: counted slice by slice, and it stops past the cap.
    String prose = "The quick brown fox jumps over the lazy dog. ".repeat(5_000);
    assertThat(tokenizer.count(prose, 2047)).isLessThan(tokenizer.count(prose));
    // Once untimed: the bound below is for the work, not for loading and compiling it.
    tokenizer.count(megabytes, 2047);

    long start = System.nanoTime();
    assertThat(tokenizer.count(megabytes, 2047)).isGreaterThan(2047);
    assertThat(tokenizer.count(prose, 2047)).isGreaterThan(2047);
    // Encoding the megabytes whole takes about 20 s; the capped counts need a few milliseconds.
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
  }

  @Test
  void aChatOrCompletionPastTheCapStopsAndSaysSo() {
    ExactTokenCounter counter = Llama3Fixture.counter();
    String big = "word ".repeat(50_000);
    String chat =
        "{\"messages\":["
            + "{\"role\":\"user\",\"content\":\"%s\"},".formatted(big).repeat(3)
            + "{\"role\":\"user\",\"content\":\"hi\"}]}";
    assertThat(counter.countChat(Llama3Fixture.json(chat), 2047).largestPromptTokens())
        .isGreaterThan(2047);
    String small = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    assertThat(counter.countChat(Llama3Fixture.json(small), 2047))
        .isEqualTo(counter.countChat(Llama3Fixture.json(small)));

    String completions = "{\"prompt\":[\"hi\",\"%s\",\"there\"]}".formatted(big);
    PromptCount capped = counter.countCompletion(Llama3Fixture.json(completions), 2047);
    assertThat(capped.largestPromptTokens()).isGreaterThan(2047);
    assertThat(
            new Utf8BoundTokenCounter()
                .countCompletion(Llama3Fixture.json(completions), 2047)
                .largestPromptTokens())
        .isGreaterThan(2047);
  }
}
