package io.simpletokenlimiter.tokens;

import static io.simpletokenlimiter.tokens.TinyVocabulary.HE;
import static io.simpletokenlimiter.tokens.TinyVocabulary.SPACE_T;
import static io.simpletokenlimiter.tokens.TinyVocabulary.SPACE_THE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.node.ObjectNode;

/** Loading a small vocabulary through the same code path as the real one. */
class TinyVocabularyTest {

  @TempDir Path dir;

  @Test
  void mergesByRankAndDecodesBack() {
    Llama3Tokenizer tokenizer = Llama3Tokenizer.load(TinyVocabulary.write(dir));

    assertThat(tokenizer.ranks()).isEqualTo(259);
    assertThat(tokenizer.encode(" the")).containsExactly(SPACE_THE);
    assertThat(tokenizer.encode(" then")).containsExactly(SPACE_THE, 'n');
    assertThat(tokenizer.encode("the")).containsExactly('t', HE);
    assertThat(tokenizer.encode(" to")).containsExactly(SPACE_T, 'o');
    assertThat(tokenizer.encode("A1")).containsExactly('A', '1');
    assertThat(tokenizer.decode(tokenizer.encode(" then the end"))).isEqualTo(" then the end");
  }

  @Test
  void encodesAnyTextByteByByteAtWorst() {
    Llama3Tokenizer tokenizer = Llama3Tokenizer.load(TinyVocabulary.write(dir));
    String text = "한국어 \u00a0 émoji 👍\r\n";

    int[] ids = tokenizer.encode(text);

    assertThat(ids).hasSize(text.getBytes(StandardCharsets.UTF_8).length);
    assertThat(tokenizer.decode(ids)).isEqualTo(text);
  }

  @Test
  void findsSpecialTokensInTheText() {
    Llama3Tokenizer tokenizer = Llama3Tokenizer.load(TinyVocabulary.write(dir));

    assertThat(tokenizer.encode("he<|eot_id|> the<|begin_of_text|>"))
        .containsExactly(HE, 128_009, SPACE_THE, 128_000);
    assertThat(tokenizer.count("he<|eot_id|> the<|begin_of_text|>")).isEqualTo(4);
    assertThat(tokenizer.encode("<|eot_id")).hasSize(8);
    assertThat(tokenizer.decode(new int[] {128_006, 'a', 128_007}))
        .isEqualTo("<|start_header_id|>a<|end_header_id|>");
    assertThat(tokenizer.tokenString(SPACE_THE)).isEqualTo("Ġthe");
    assertThat(tokenizer.tokenString(128_009)).isEqualTo("<|eot_id|>");
  }

  @Test
  void refusesUnknownIdsWhenDecoding() {
    Llama3Tokenizer tokenizer = Llama3Tokenizer.load(TinyVocabulary.write(dir));

    assertThat(tokenizer.knows(259)).isFalse();
    assertThat(tokenizer.knows(-1)).isFalse();
    assertThatThrownBy(() -> tokenizer.decode(new int[] {1, 259}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("259");
  }

  @Test
  void refusesAnotherModelsPreTokenizer() {
    Path file =
        TinyVocabulary.write(
            dir,
            json ->
                ((ObjectNode) json.get("pre_tokenizer").get("pretokenizers").get(0).get("pattern"))
                    .put("Regex", "\\s+|\\w+"));

    assertThatThrownBy(() -> Llama3Tokenizer.load(file))
        .isInstanceOf(TokenizerLoadException.class)
        .hasMessageContaining("not a Llama 3 tokenizer")
        .hasMessageContaining(file.toString());
  }

  @Test
  void refusesAVocabularyWithoutTheTemplateTokens() {
    Path file = TinyVocabulary.write(dir, json -> json.withArray("added_tokens").remove(4));

    assertThatThrownBy(() -> Llama3Tokenizer.load(file))
        .isInstanceOf(TokenizerLoadException.class)
        .hasMessageContaining("<|eot_id|>");
  }

  @Test
  void refusesAVocabularyMissingAByte() {
    Path file =
        TinyVocabulary.write(
            dir, json -> json.get("model").withObject("vocab").remove(TinyVocabulary.byteChar(7)));

    assertThatThrownBy(() -> Llama3Tokenizer.load(file))
        .isInstanceOf(TokenizerLoadException.class)
        .hasMessageContaining("single byte 7");
  }

  @Test
  void refusesTokensOutsideTheByteAlphabet() {
    Path file =
        TinyVocabulary.write(dir, json -> json.get("model").withObject("vocab").put("€", 300));

    assertThatThrownBy(() -> Llama3Tokenizer.load(file))
        .isInstanceOf(TokenizerLoadException.class)
        .hasMessageContaining("not byte-level");
  }

  @Test
  void refusesAModelThatIsNotBpe() {
    Path file = TinyVocabulary.write(dir, json -> json.withObject("model").put("type", "Unigram"));

    assertThatThrownBy(() -> Llama3Tokenizer.load(file))
        .isInstanceOf(TokenizerLoadException.class)
        .hasMessageContaining("not BPE");
  }

  @Test
  void refusesTruncatedJson() throws IOException {
    Path file = TinyVocabulary.write(dir);
    String text = Files.readString(file);
    Files.writeString(file, text.substring(0, text.length() / 2));

    assertThatThrownBy(() -> Llama3Tokenizer.load(file))
        .isInstanceOf(TokenizerLoadException.class)
        .hasMessageContaining("not valid JSON");
  }

  @Test
  void refusesAMissingFile() {
    assertThatThrownBy(() -> Llama3Tokenizer.load(dir.resolve("nope.json")))
        .isInstanceOf(TokenizerLoadException.class)
        .hasMessageContaining("does not exist");
  }
}
