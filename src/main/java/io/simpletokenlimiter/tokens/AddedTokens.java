package io.simpletokenlimiter.tokens;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The added tokens of a vocabulary ({@code <|begin_of_text|>}, {@code <|eot_id|>}...), each one id.
 * Hugging Face tokenizers find them in the text before the BPE runs, leftmost first and the longest
 * at a position, and split the ordinary text around them; {@link #nextMatch} does the same, so text
 * that quotes a special token counts as vLLM counts it.
 */
final class AddedTokens {

  /** Where an added token was found, or {@link #NONE}. */
  record Match(int start, int end, int id) {
    static final Match NONE = new Match(-1, -1, -1);

    boolean found() {
      return start >= 0;
    }
  }

  private final Map<String, Integer> idsByText;
  private final Map<Integer, String> textsById;

  /** Tokens of two chars or more by their first two chars, longest first. */
  private final Map<Integer, String[]> candidatesByPrefix;

  /** Tokens of one char. */
  private final Map<Character, String> singleChars;

  /** The first char every added token shares, or -1; lets the scan use {@code indexOf}. */
  private final int sharedFirstChar;

  AddedTokens(Map<String, Integer> idsByText) {
    this.idsByText = Map.copyOf(idsByText);
    Map<Integer, String> texts = new HashMap<>();
    Map<Integer, List<String>> byPrefix = new HashMap<>();
    Map<Character, String> singles = new HashMap<>();
    int firstChar = -1;
    boolean shared = true;
    for (Map.Entry<String, Integer> entry : idsByText.entrySet()) {
      String text = entry.getKey();
      if (text.isEmpty()) {
        throw new IllegalArgumentException("an added token has empty content");
      }
      texts.put(entry.getValue(), text);
      if (text.length() == 1) {
        singles.put(text.charAt(0), text);
      } else {
        byPrefix.computeIfAbsent(prefixKey(text, 0), k -> new ArrayList<>()).add(text);
      }
      if (firstChar == -1) {
        firstChar = text.charAt(0);
      } else if (firstChar != text.charAt(0)) {
        shared = false;
      }
    }
    this.textsById = Map.copyOf(texts);
    Map<Integer, String[]> sorted = new HashMap<>();
    byPrefix.forEach(
        (key, list) -> {
          list.sort(Comparator.comparingInt(String::length).reversed());
          sorted.put(key, list.toArray(String[]::new));
        });
    this.candidatesByPrefix = Map.copyOf(sorted);
    this.singleChars = Map.copyOf(singles);
    this.sharedFirstChar = shared ? firstChar : -1;
  }

  private static int prefixKey(String text, int at) {
    return (text.charAt(at) << 16) | text.charAt(at + 1);
  }

  Optional<Integer> idOf(String text) {
    return Optional.ofNullable(idsByText.get(text));
  }

  Map<Integer, String> textsById() {
    return textsById;
  }

  Optional<String> textOf(int id) {
    return Optional.ofNullable(textsById.get(id));
  }

  /** The first added token in {@code text[from, to)}, or {@link Match#NONE}. */
  Match nextMatch(String text, int from, int to) {
    if (idsByText.isEmpty()) {
      return Match.NONE;
    }
    int at = from;
    while (at < to) {
      if (sharedFirstChar >= 0) {
        at = text.indexOf(sharedFirstChar, at);
        if (at < 0 || at >= to) {
          return Match.NONE;
        }
      }
      String longest = longestAt(text, at, to);
      if (longest != null) {
        return new Match(at, at + longest.length(), idsByText.get(longest));
      }
      at++;
    }
    return Match.NONE;
  }

  private String longestAt(String text, int at, int to) {
    String[] pairs = to - at >= 2 ? candidatesByPrefix.get(prefixKey(text, at)) : null;
    if (pairs != null) {
      for (String candidate : pairs) {
        if (candidate.length() <= to - at && text.startsWith(candidate, at)) {
          return candidate;
        }
      }
    }
    return singleChars.get(text.charAt(at));
  }
}
