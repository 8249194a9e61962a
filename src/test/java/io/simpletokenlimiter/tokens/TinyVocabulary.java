package io.simpletokenlimiter.tokens;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Writes a small {@code tokenizer.json} in Hugging Face's layout: the 256 byte tokens (id = byte
 * value), three merges ({@code Ġ t}, {@code h e}, {@code Ġt he}, ids 256–258) and Llama 3's
 * template special tokens.
 */
final class TinyVocabulary {

  static final int SPACE_T = 256;
  static final int HE = 257;
  static final int SPACE_THE = 258;

  private TinyVocabulary() {}

  static Path write(Path dir) {
    return write(dir, json -> {});
  }

  /** Writes the file after {@code change} has edited its JSON. */
  static Path write(Path dir, Consumer<ObjectNode> change) {
    ObjectNode json = document();
    change.accept(json);
    Path file = dir.resolve("tokenizer.json");
    try {
      Files.writeString(file, JsonMapper.shared().writeValueAsString(json));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return file;
  }

  /** GPT-2's byte-to-unicode table, written out independently of the production code. */
  static String byteChar(int b) {
    List<Integer> printable = new ArrayList<>();
    for (int i = '!'; i <= '~'; i++) {
      printable.add(i);
    }
    for (int i = 0xA1; i <= 0xAC; i++) {
      printable.add(i);
    }
    for (int i = 0xAE; i <= 0xFF; i++) {
      printable.add(i);
    }
    if (printable.contains(b)) {
      return String.valueOf((char) b);
    }
    int shifted = 0;
    for (int i = 0; i < b; i++) {
      if (!printable.contains(i)) {
        shifted++;
      }
    }
    return String.valueOf((char) (256 + shifted));
  }

  private static ObjectNode document() {
    JsonMapper mapper = JsonMapper.shared();
    ObjectNode root = mapper.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    ArrayNode added = root.putArray("added_tokens");
    addSpecial(added, 128_000, "<|begin_of_text|>");
    addSpecial(added, 128_001, "<|end_of_text|>");
    addSpecial(added, 128_006, "<|start_header_id|>");
    addSpecial(added, 128_007, "<|end_header_id|>");
    addSpecial(added, 128_009, "<|eot_id|>");
    root.putNull("normalizer");
    ObjectNode pre = root.putObject("pre_tokenizer");
    pre.put("type", "Sequence");
    ObjectNode split = pre.putArray("pretokenizers").addObject();
    split.put("type", "Split");
    split.putObject("pattern").put("Regex", Llama3Tokenizer.SPLIT_PATTERN);
    split.put("behavior", "Isolated");
    pre.withArray("pretokenizers").addObject().put("type", "ByteLevel");
    ObjectNode model = root.putObject("model");
    model.put("type", "BPE");
    model.put("ignore_merges", true);
    ObjectNode vocab = model.putObject("vocab");
    for (int b = 0; b < 256; b++) {
      vocab.put(byteChar(b), b);
    }
    vocab.put("Ġt", SPACE_T);
    vocab.put("he", HE);
    vocab.put("Ġthe", SPACE_THE);
    model.putArray("merges").add("Ġ t").add("h e").add("Ġt he");
    return root;
  }

  private static void addSpecial(ArrayNode added, int id, String content) {
    ObjectNode token = added.addObject();
    token.put("id", id);
    token.put("content", content);
    token.put("special", true);
  }
}
