package io.simpletokenlimiter.demo;

import io.simpletokenlimiter.tokens.Llama3Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The demo model's answers: a few paragraphs ({@code demo/answers.txt}) written so that every piece
 * of Llama 3's pre-tokenizer ({@link Llama3Tokenizer#SPLIT_PATTERN}) is exactly one Llama 3 token.
 * Splitting with the pattern therefore gives the very tokens vLLM would count, without a vocabulary
 * loaded, and any prefix of an answer has as many tokens as pieces ({@code CannedAnswersTest}
 * checks both against the real vocabulary).
 */
final class CannedAnswers {

  private static final Pattern PIECES =
      Pattern.compile(Llama3Tokenizer.SPLIT_PATTERN, Pattern.UNICODE_CHARACTER_CLASS);

  private final List<List<String>> answers;

  private CannedAnswers(List<List<String>> answers) {
    this.answers = List.copyOf(answers);
  }

  static CannedAnswers load() {
    try (InputStream in = CannedAnswers.class.getResourceAsStream("/demo/answers.txt")) {
      if (in == null) {
        throw new IllegalStateException("demo/answers.txt is missing from the class path");
      }
      List<List<String>> answers = new ArrayList<>();
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        if (!line.isBlank()) {
          answers.add(tokens(line.strip()));
        }
      }
      return new CannedAnswers(answers);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The tokens of {@code text}, one per pre-tokenizer piece. */
  static List<String> tokens(String text) {
    List<String> tokens = new ArrayList<>();
    Matcher matcher = PIECES.matcher(text);
    while (matcher.find()) {
      tokens.add(matcher.group());
    }
    return List.copyOf(tokens);
  }

  int size() {
    return answers.size();
  }

  /** The whole answer chosen by {@code seed} (the same question gets the same answer). */
  List<String> answer(int seed) {
    return answers.get(Math.floorMod(seed, answers.size()));
  }
}
