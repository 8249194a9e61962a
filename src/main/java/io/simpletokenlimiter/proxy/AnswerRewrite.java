package io.simpletokenlimiter.proxy;

import io.simpletokenlimiter.limit.TokenUsage;
import java.io.ByteArrayOutputStream;
import java.util.Optional;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.databind.json.JsonMapper;

/**
 * Rewrites a non-streamed answer in one pass over its bytes, without building and re-serialising
 * its tree: the top-level {@code model} value is replaced by the public name and the top-level
 * {@code usage} object is read. Every other byte goes out as vLLM sent it.
 */
final class AnswerRewrite {

  private final JsonMapper json;
  private final byte[] quotedPublicModel;

  AnswerRewrite(JsonMapper json, String publicModel) {
    this.json = json;
    this.quotedPublicModel = json.writeValueAsBytes(publicModel);
  }

  /** The answer as the client gets it, and its usage; empty when it is not a JSON object. */
  Optional<Rewritten> rewrite(byte[] answer) {
    long modelStart = -1;
    long modelEnd = -1;
    Optional<TokenUsage> usage = Optional.empty();
    // The bare token stream: the mapper's own parser would set up a context for reading values.
    try (JsonParser parser =
        json.tokenStreamFactory().createParser(ObjectReadContext.empty(), answer)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return Optional.empty();
      }
      while (parser.nextToken() == JsonToken.PROPERTY_NAME) {
        String name = parser.currentName();
        JsonToken value = parser.nextToken();
        if (value == JsonToken.VALUE_STRING && name.equals("model")) {
          modelStart = parser.currentTokenLocation().getByteOffset();
          parser.finishToken();
          modelEnd = parser.currentLocation().getByteOffset();
        } else if (value == JsonToken.START_OBJECT && name.equals("usage")) {
          usage = ReportedUsage.read(parser);
        } else {
          parser.skipChildren();
        }
      }
      if (parser.currentToken() != JsonToken.END_OBJECT || parser.nextToken() != null) {
        return Optional.empty();
      }
    } catch (JacksonException e) {
      return Optional.empty();
    }
    return Optional.of(new Rewritten(withModel(answer, modelStart, modelEnd), usage));
  }

  private byte[] withModel(byte[] answer, long start, long end) {
    if (start < 0 || end <= start || end > answer.length) {
      return answer;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(answer.length + quotedPublicModel.length);
    out.write(answer, 0, (int) start);
    out.writeBytes(quotedPublicModel);
    out.write(answer, (int) end, answer.length - (int) end);
    return out.toByteArray();
  }

  /** The bytes to send and the usage vLLM reported, if it did. */
  record Rewritten(byte[] bytes, Optional<TokenUsage> usage) {}
}
