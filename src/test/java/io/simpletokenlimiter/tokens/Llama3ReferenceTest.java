package io.simpletokenlimiter.tokens;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;

/** Every line of {@code reference.jsonl}: the ids Hugging Face's tokenizer produced. */
class Llama3ReferenceTest {

  static Stream<Arguments> references() {
    var lines = Llama3Fixture.lines("reference.jsonl");
    return IntStream.range(0, lines.size()).mapToObj(i -> Arguments.of(i + 1, lines.get(i)));
  }

  @Test
  void loadsTheWholeVocabulary() {
    Llama3Tokenizer tokenizer = Llama3Fixture.tokenizer();

    assertThat(tokenizer.ranks()).isEqualTo(128_000);
    assertThat(tokenizer.knows(128_255)).isTrue();
    assertThat(tokenizer.knows(128_256)).isFalse();
    assertThat(Llama3Fixture.lines("reference.jsonl")).hasSize(322);
  }

  @Test
  @Timeout(120)
  void countsTheSameFromManyThreadsAtOnce() throws Exception {
    List<JsonNode> lines = Llama3Fixture.lines("reference.jsonl");
    Llama3Tokenizer tokenizer = Llama3Fixture.tokenizer();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Integer>> mismatches = new ArrayList<>();
      for (int worker = 0; worker < 8; worker++) {
        mismatches.add(
            pool.submit(
                () -> {
                  int wrong = 0;
                  for (JsonNode line : lines) {
                    String text = line.get("text").stringValue();
                    int[] ids = tokenizer.encode(text);
                    if (tokenizer.count(text) != line.get("count").asInt()
                        || !tokenizer.decode(ids).equals(text)
                        || !Arrays.equals(ids, ids(line))) {
                      wrong++;
                    }
                  }
                  return wrong;
                }));
      }
      for (Future<Integer> wrong : mismatches) {
        assertThat(wrong.get()).isZero();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @ParameterizedTest(name = "line {0}")
  @MethodSource("references")
  void encodesToTheReferenceIds(int line, JsonNode reference) {
    String text = reference.get("text").stringValue();
    int[] expected = ids(reference);

    int[] actual = Llama3Fixture.tokenizer().encode(text);

    assertThat(actual).containsExactly(expected);
    assertThat(Llama3Fixture.tokenizer().count(text)).isEqualTo(reference.get("count").asInt());
  }

  @ParameterizedTest(name = "line {0}")
  @MethodSource("references")
  void decodesTheReferenceIdsBackToTheText(int line, JsonNode reference) {
    assertThat(Llama3Fixture.tokenizer().decode(ids(reference)))
        .isEqualTo(reference.get("text").stringValue());
  }

  @ParameterizedTest(name = "line {0}")
  @MethodSource("references")
  void theByteBoundIsNeverBelowTheExactCount(int line, JsonNode reference) {
    String text = reference.get("text").stringValue();

    assertThat(Utf8Length.of(text)).isGreaterThanOrEqualTo(reference.get("count").asLong());
  }

  private static int[] ids(JsonNode reference) {
    JsonNode ids = reference.get("ids");
    return IntStream.range(0, ids.size()).map(i -> ids.get(i).asInt()).toArray();
  }
}
