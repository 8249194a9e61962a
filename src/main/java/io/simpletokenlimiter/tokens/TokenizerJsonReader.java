package io.simpletokenlimiter.tokens;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

/**
 * Reads a Hugging Face {@code tokenizer.json} in one streaming pass: the BPE vocabulary (token text
 * to id, undone from the byte-level alphabet), the added tokens, and the pre-tokenizer's split
 * pattern. The 280k merges are skipped: for a vocabulary converted from tiktoken, as Llama 3's is,
 * merging the pair whose result has the lowest rank gives the same tokens, which the reference data
 * confirms.
 */
final class TokenizerJsonReader {

  private static final JsonFactory JSON = new JsonFactory();

  private TokenizerJsonReader() {}

  static Vocabulary read(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new TokenizerLoadException("tokenizer file " + file + " does not exist");
    }
    Contents contents = new Contents();
    try (JsonParser parser = JSON.createParser(ObjectReadContext.empty(), file)) {
      expect(parser, parser.nextToken(), JsonToken.START_OBJECT, "the document");
      while (parser.nextToken() == JsonToken.PROPERTY_NAME) {
        String name = parser.currentName();
        JsonToken value = parser.nextToken();
        switch (name) {
          case "added_tokens" -> readAddedTokens(parser, value, contents);
          case "pre_tokenizer" -> readSplitPattern(parser, contents);
          case "model" -> readModel(parser, value, contents);
          default -> parser.skipChildren();
        }
      }
    } catch (JacksonException e) {
      throw new TokenizerLoadException(
          "tokenizer file " + file + " is not valid JSON: " + e.getOriginalMessage(), e);
    } catch (IllegalArgumentException e) {
      throw new TokenizerLoadException(
          "tokenizer file " + file + " is not a usable vocabulary: " + e.getMessage(), e);
    }
    return contents.toVocabulary(file);
  }

  private static void readAddedTokens(JsonParser parser, JsonToken value, Contents contents) {
    expect(parser, value, JsonToken.START_ARRAY, "added_tokens");
    while (parser.nextToken() == JsonToken.START_OBJECT) {
      String content = null;
      int id = -1;
      while (parser.nextToken() == JsonToken.PROPERTY_NAME) {
        String name = parser.currentName();
        JsonToken token = parser.nextToken();
        if (name.equals("id") && token == JsonToken.VALUE_NUMBER_INT) {
          id = parser.getIntValue();
        } else if (name.equals("content") && token == JsonToken.VALUE_STRING) {
          content = parser.getString();
        } else {
          parser.skipChildren();
        }
      }
      if (content == null || id < 0) {
        throw new IllegalArgumentException("an added token lacks its id or content");
      }
      contents.added.put(content, id);
    }
  }

  /** Finds the {@code Regex} of the Split step, wherever the pre-tokenizer sequence holds it. */
  private static void readSplitPattern(JsonParser parser, Contents contents) {
    int depth = 0;
    do {
      JsonToken token = parser.currentToken();
      if (token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY) {
        depth++;
      } else if (token == JsonToken.END_OBJECT || token == JsonToken.END_ARRAY) {
        depth--;
      } else if (token == JsonToken.VALUE_STRING
          && "Regex".equals(parser.currentName())
          && contents.splitPattern == null) {
        contents.splitPattern = parser.getString();
      }
    } while (depth > 0 && parser.nextToken() != null);
  }

  private static void readModel(JsonParser parser, JsonToken value, Contents contents) {
    expect(parser, value, JsonToken.START_OBJECT, "model");
    while (parser.nextToken() == JsonToken.PROPERTY_NAME) {
      String name = parser.currentName();
      JsonToken token = parser.nextToken();
      if (name.equals("type") && token == JsonToken.VALUE_STRING) {
        contents.modelType = parser.getString();
      } else if (name.equals("vocab")) {
        readVocab(parser, token, contents);
      } else {
        parser.skipChildren();
      }
    }
  }

  private static void readVocab(JsonParser parser, JsonToken value, Contents contents) {
    expect(parser, value, JsonToken.START_OBJECT, "model.vocab");
    while (parser.nextToken() == JsonToken.PROPERTY_NAME) {
      String text = parser.currentName();
      if (parser.nextToken() != JsonToken.VALUE_NUMBER_INT) {
        throw new IllegalArgumentException("vocab entry '" + text + "' has no integer id");
      }
      contents.putRank(text, parser.getIntValue());
    }
  }

  private static void expect(JsonParser parser, JsonToken actual, JsonToken wanted, String what) {
    if (actual != wanted) {
      throw new IllegalArgumentException(
          what
              + " should start with "
              + wanted
              + " but has "
              + actual
              + " at "
              + parser.currentLocation());
    }
  }

  /** What the pass collects. */
  private static final class Contents {
    private final Map<String, Integer> added = new HashMap<>();
    private byte[][] rankBytes = new byte[1 << 17][];
    private int ranks;
    private String modelType;
    private String splitPattern;

    void putRank(String text, int id) {
      if (id < 0) {
        throw new IllegalArgumentException("vocab entry '" + text + "' has negative id " + id);
      }
      if (id >= rankBytes.length) {
        rankBytes = Arrays.copyOf(rankBytes, Math.max(id + 1, rankBytes.length * 2));
      }
      if (rankBytes[id] != null) {
        throw new IllegalArgumentException("two vocab entries share id " + id);
      }
      try {
        rankBytes[id] = ByteLevelAlphabet.toBytes(text);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "vocab entry '" + text + "' is not byte-level BPE (" + e.getMessage() + ")", e);
      }
      ranks++;
    }

    Vocabulary toVocabulary(Path file) {
      if (!"BPE".equals(modelType)) {
        throw new TokenizerLoadException(
            "tokenizer file " + file + " has model type " + modelType + ", not BPE");
      }
      if (ranks == 0) {
        throw new TokenizerLoadException("tokenizer file " + file + " has an empty vocab");
      }
      if (splitPattern == null) {
        throw new TokenizerLoadException(
            "tokenizer file " + file + " has no pre-tokenizer split pattern");
      }
      try {
        return new Vocabulary(file, rankBytes, ranks, new AddedTokens(added), splitPattern);
      } catch (IllegalArgumentException e) {
        throw new TokenizerLoadException("tokenizer file " + file + ": " + e.getMessage(), e);
      }
    }
  }
}
