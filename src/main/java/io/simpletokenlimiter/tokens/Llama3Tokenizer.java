package io.simpletokenlimiter.tokens;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.GptBytePairEncodingParams;
import com.knuddels.jtokkit.api.IntArrayList;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Llama 3 tokenizer: byte-level BPE over a vocabulary read from {@code tokenizer.json}, run by
 * jtokkit, with the added (special) tokens matched in the text first, as Hugging Face does.
 * Thread-safe and immutable; load it once (about 0.4 s), it holds about 25 MB of heap.
 *
 * <p>Decoding does not go through jtokkit: its decoder caches special tokens in a plain {@code
 * HashMap} on first use, which is not safe under concurrent calls.
 */
public final class Llama3Tokenizer {

  /** The pre-tokenizer regex of Llama 3 (and 3.1, 3.2), as its {@code tokenizer.json} writes it. */
  public static final String SPLIT_PATTERN =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
          + " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

  private static final Map<String, Integer> TEMPLATE_TOKENS =
      Map.of(
          "<|begin_of_text|>", Llama3ChatTemplate.BEGIN_OF_TEXT,
          "<|start_header_id|>", Llama3ChatTemplate.START_HEADER,
          "<|end_header_id|>", Llama3ChatTemplate.END_HEADER,
          "<|eot_id|>", Llama3ChatTemplate.EOT);

  /** Texts longer than this are counted slice by slice when capped. */
  private static final int SLICE_CHARS = 4096;

  private final Path source;
  private final int ranks;
  private final Encoding encoding;
  private final AddedTokens added;

  /** The bytes of every id, ranks and added tokens alike; {@code null} for unknown ids. */
  private final byte[][] tokenBytes;

  /**
   * The longest token in UTF-8 bytes: a text has at least its bytes divided by this many tokens.
   */
  private final int maxTokenBytes;

  private final Pattern split = Pattern.compile(SPLIT_PATTERN, Pattern.UNICODE_CHARACTER_CLASS);

  private Llama3Tokenizer(Vocabulary vocabulary) {
    this.source = vocabulary.source();
    this.ranks = vocabulary.ranks();
    this.added = vocabulary.added();
    requireLlama3(vocabulary);
    byte[][] rankBytes = vocabulary.rankBytes();
    Map<byte[], Integer> encoder = new HashMap<>(vocabulary.ranks() * 2);
    int maxId = -1;
    for (int id = 0; id < rankBytes.length; id++) {
      if (rankBytes[id] != null) {
        encoder.put(rankBytes[id], id);
        maxId = id;
      }
    }
    requireEveryByte(rankBytes);
    Map<Integer, String> addedTexts = added.textsById();
    for (int id : addedTexts.keySet()) {
      maxId = Math.max(maxId, id);
    }
    byte[][] bytes = Arrays.copyOf(rankBytes, maxId + 1);
    addedTexts.forEach((id, text) -> bytes[id] = text.getBytes(StandardCharsets.UTF_8));
    this.tokenBytes = bytes;
    int longest = 1;
    for (byte[] token : bytes) {
      if (token != null) {
        longest = Math.max(longest, token.length);
      }
    }
    this.maxTokenBytes = longest;
    // Special tokens stay out of jtokkit: this class finds them itself, so encodeOrdinary is
    // always the right call and jtokkit's own special-token checks never run.
    GptBytePairEncodingParams params =
        new GptBytePairEncodingParams(
            "llama3-" + source,
            Pattern.compile(SPLIT_PATTERN, Pattern.UNICODE_CHARACTER_CLASS),
            encoder,
            Map.of());
    this.encoding =
        Encodings.newLazyEncodingRegistry()
            .registerGptBytePairEncoding(params)
            .getEncoding(params.getName())
            .orElseThrow();
  }

  /**
   * Loads a Llama 3 {@code tokenizer.json}.
   *
   * @throws TokenizerLoadException when the file is missing, not JSON, or not a Llama 3 vocabulary
   */
  public static Llama3Tokenizer load(Path tokenizerJson) {
    return new Llama3Tokenizer(TokenizerJsonReader.read(tokenizerJson));
  }

  private void requireLlama3(Vocabulary vocabulary) {
    if (!SPLIT_PATTERN.equals(vocabulary.splitPattern())) {
      throw new TokenizerLoadException(
          "tokenizer file "
              + source
              + " is not a Llama 3 tokenizer: its pre-tokenizer pattern is "
              + vocabulary.splitPattern());
    }
    TEMPLATE_TOKENS.forEach(
        (text, id) -> {
          if (!added.idOf(text).equals(Optional.of(id))) {
            throw new TokenizerLoadException(
                "tokenizer file "
                    + source
                    + " is not a Llama 3 tokenizer: "
                    + text
                    + " is not the added token "
                    + id);
          }
        });
  }

  private void requireEveryByte(byte[][] rankBytes) {
    boolean[] seen = new boolean[256];
    for (byte[] bytes : rankBytes) {
      if (bytes != null && bytes.length == 1) {
        seen[bytes[0] & 0xFF] = true;
      }
    }
    for (int b = 0; b < 256; b++) {
      if (!seen[b]) {
        throw new TokenizerLoadException(
            "tokenizer file " + source + " has no token for the single byte " + b);
      }
    }
  }

  /** Number of BPE ranks (128,000 for Llama 3). */
  public int ranks() {
    return ranks;
  }

  /** Tokens of ordinary text; added-token strings in it count as their single ids. */
  public int count(String text) {
    AddedTokens.Match match = added.nextMatch(text, 0, text.length());
    if (!match.found()) {
      return encoding.countTokensOrdinary(text);
    }
    int count = 0;
    int at = 0;
    while (match.found()) {
      count += countOrdinary(text, at, match.start()) + 1;
      at = match.end();
      match = added.nextMatch(text, at, text.length());
    }
    return count + countOrdinary(text, at, text.length());
  }

  private int countOrdinary(String text, int from, int to) {
    return from == to ? 0 : encoding.countTokensOrdinary(text.substring(from, to));
  }

  /**
   * Tokens of ordinary text as {@link #count(String)} counts them, or, once they pass {@code cap},
   * some number above {@code cap}. Work is bounded by the cap rather than by the text: a text whose
   * bytes alone prove it longer is not encoded at all, and a longer one is encoded in slices of
   * whole pre-tokenizer pieces (which encode exactly as they do inside the text) until the count
   * passes the cap.
   */
  public long count(String text, long cap) {
    long atLeast = (Utf8Length.of(text) + maxTokenBytes - 1) / maxTokenBytes;
    if (atLeast > cap) {
      return atLeast;
    }
    if (text.length() <= SLICE_CHARS) {
      return count(text);
    }
    long count = 0;
    int at = 0;
    AddedTokens.Match match = added.nextMatch(text, 0, text.length());
    while (match.found() && count <= cap) {
      count += countOrdinary(text, at, match.start(), cap - count) + 1;
      at = match.end();
      match = added.nextMatch(text, at, text.length());
    }
    return count > cap ? count : count + countOrdinary(text, at, text.length(), cap - count);
  }

  private long countOrdinary(String text, int from, int to, long cap) {
    if (to - from <= SLICE_CHARS) {
      return countOrdinary(text, from, to);
    }
    Matcher pieces = split.matcher(text).region(from, to);
    long count = 0;
    int sliceStart = from;
    while (pieces.find()) {
      if (pieces.end() - sliceStart >= SLICE_CHARS) {
        count += countOrdinary(text, sliceStart, pieces.end());
        sliceStart = pieces.end();
        if (count > cap) {
          return count;
        }
      }
    }
    return count + countOrdinary(text, sliceStart, to);
  }

  /** The token ids of ordinary text, as {@link #count} counts them. */
  public int[] encode(String text) {
    IntArrayList ids = new IntArrayList();
    encode(text, ids);
    return ids.toArray();
  }

  void encode(String text, IntArrayList out) {
    int at = 0;
    AddedTokens.Match match = added.nextMatch(text, 0, text.length());
    while (match.found()) {
      encodeOrdinary(text, at, match.start(), out);
      out.add(match.id());
      at = match.end();
      match = added.nextMatch(text, at, text.length());
    }
    encodeOrdinary(text, at, text.length(), out);
  }

  private void encodeOrdinary(String text, int from, int to, IntArrayList out) {
    if (from < to) {
      IntArrayList ids =
          encoding.encodeOrdinary(
              from == 0 && to == text.length() ? text : text.substring(from, to));
      for (int i = 0; i < ids.size(); i++) {
        out.add(ids.get(i));
      }
    }
  }

  /** Whether {@code id} is a token of this vocabulary. */
  public boolean knows(int id) {
    return id >= 0 && id < tokenBytes.length && tokenBytes[id] != null;
  }

  /**
   * The text of token ids, special tokens written out; invalid UTF-8 becomes U+FFFD, as in Hugging
   * Face's decoder.
   *
   * @throws IllegalArgumentException for an id outside the vocabulary
   */
  public String decode(int[] ids) {
    byte[] out = new byte[ids.length * 4];
    int length = 0;
    for (int id : ids) {
      if (!knows(id)) {
        throw new IllegalArgumentException("token id " + id + " is not in the vocabulary");
      }
      byte[] bytes = tokenBytes[id];
      if (length + bytes.length > out.length) {
        out = Arrays.copyOf(out, Math.max(out.length * 2, length + bytes.length));
      }
      System.arraycopy(bytes, 0, out, length, bytes.length);
      length += bytes.length;
    }
    return new String(out, 0, length, StandardCharsets.UTF_8);
  }

  /** A token as Hugging Face spells it ({@code "Ġhello"}, {@code "<|eot_id|>"}). */
  String tokenString(int id) {
    if (!knows(id)) {
      throw new IllegalArgumentException("token id " + id + " is not in the vocabulary");
    }
    return added.textOf(id).orElseGet(() -> ByteLevelAlphabet.toText(tokenBytes[id]));
  }
}
