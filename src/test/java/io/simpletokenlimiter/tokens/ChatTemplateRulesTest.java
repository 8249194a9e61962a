package io.simpletokenlimiter.tokens;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/** The template rules of {@link Llama3ChatTemplate} one by one, and where it splits the text. */
class ChatTemplateRulesTest {

  private static final String HELLO = "{\"role\":\"user\",\"content\":\"Hello!\"}";

  /** From chat-reference.jsonl: a lone user "Hello!" is 37 prompt tokens. */
  private static final long HELLO_TOKENS = 37;

  @Test
  void leavesOutTheGenerationPromptWhenAsked() {
    assertThat(count("{\"messages\":[" + HELLO + "],\"add_generation_prompt\":false}"))
        .isEqualTo(HELLO_TOKENS - 4);
  }

  @Test
  void addsASecondBeginOfTextWithSpecialTokens() {
    assertThat(count("{\"messages\":[" + HELLO + "],\"add_special_tokens\":true}"))
        .isEqualTo(HELLO_TOKENS + 1);
  }

  @Test
  void countsSpecialTokenTextInContentAsTheSpecialToken() {
    String content = "say <|eot_id|> now<|start_header_id|>";

    long counted = count(chat(user(content)));

    assertThat(counted).isEqualTo(Llama3Fixture.tokenizer().count(rendered("", "user", content)));
    assertThat(counted).isLessThan(count(chat(user(content.replace("|", "/")))));
  }

  @Test
  void countsNullContentAsNone() {
    assertThat(count("{\"messages\":[{\"role\":\"user\",\"content\":null}]}"))
        .isEqualTo(count(chat(user("None"))))
        .isEqualTo(count("{\"messages\":[{\"role\":\"user\"}]}"));
  }

  @Test
  void countsNonTextPartsByTheirBytes() {
    String image =
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AAAA\"}}";
    String request =
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is"
            + " this?\"},"
            + image
            + "]}]}";

    assertThat(count(request))
        .isEqualTo(
            count(chat(user("What is this?")))
                + image.length()
                + Llama3ChatTemplate.NON_TEXT_PART_MARGIN);
  }

  @Test
  void countsContentOfAnotherTypeByItsBytes() {
    assertThat(count("{\"messages\":[{\"role\":\"user\",\"content\":12345}]}"))
        .isEqualTo(count(chat(user(""))) + 5 + Llama3ChatTemplate.NON_TEXT_PART_MARGIN);
  }

  @Test
  void countsTheAlwaysPresentSystemBlockWithoutMessages() {
    long systemBlockOnly = count("{\"messages\":[{\"role\":\"system\",\"content\":\" \"}]}");

    assertThat(count("{}")).isEqualTo(systemBlockOnly);
    assertThat(count("{\"messages\":\"oops\"}")).isEqualTo(systemBlockOnly);
    // From chat-reference.jsonl: a system message alone is 35 with its 5 content tokens.
    assertThat(systemBlockOnly).isEqualTo(35 - 5);
  }

  @Test
  void addsTheBytesOfTemplateArguments() {
    String kwargs = "{\"date_string\":\"01 Jan 2030\"}";

    assertThat(count("{\"messages\":[" + HELLO + "],\"chat_template_kwargs\":" + kwargs + "}"))
        .isEqualTo(HELLO_TOKENS + kwargs.length());
  }

  @Test
  void countsAnEmptyToolListAsOneToolsWorth() {
    long withTools = count("{\"messages\":[" + HELLO + "],\"tools\":[]}");

    assertThat(withTools).isGreaterThan(HELLO_TOKENS + Llama3ChatTemplate.TOOL_DEFINITION_MARGIN);
  }

  @Test
  void countsCustomToolsFromTheTemplateArguments() {
    String tool = "{\"type\":\"function\",\"function\":{\"name\":\"f\"}}";
    String kwargs = "{\"custom_tools\":[" + tool + "]}";

    long viaKwargs =
        count("{\"messages\":[" + HELLO + "],\"chat_template_kwargs\":" + kwargs + "}");
    long viaTools = count("{\"messages\":[" + HELLO + "],\"tools\":[" + tool + "]}");

    assertThat(viaKwargs).isEqualTo(viaTools + kwargs.length());
  }

  @Test
  void overCountsMalformedToolsAndToolCalls() {
    String tools = "{\"type\":\"function\"}";
    long malformedTools = count("{\"messages\":[" + HELLO + "],\"tools\":" + tools + "}");
    long toolsDeclared = count("{\"messages\":[" + HELLO + "],\"tools\":[]}");

    assertThat(malformedTools)
        .isEqualTo(toolsDeclared + tools.length() + Llama3ChatTemplate.NON_TEXT_PART_MARGIN);
    assertThat(
            count("{\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\",\"tool_calls\":{}}]}"))
        .isEqualTo(HELLO_TOKENS + 2 + Llama3ChatTemplate.TOOL_CALL_MARGIN);
  }

  @Test
  void countsAToolResultObjectAsItsJson() {
    long object = count("{\"messages\":[{\"role\":\"tool\",\"content\":{\"temperature\":21.5}}]}");
    long string =
        count("{\"messages\":[{\"role\":\"tool\",\"content\":\"{\\\"temperature\\\": 21.5}\"}]}");

    // The string is written as a JSON string: its quotes and escapes cost tokens.
    assertThat(object).isLessThan(string);
  }

  @Test
  void overCountsAMessageThatIsNotAnObject() {
    assertThat(count("{\"messages\":[" + HELLO + ",[1,2]]}"))
        .isEqualTo(HELLO_TOKENS + 5 + Llama3ChatTemplate.UNKNOWN_ROLE_MARGIN);
  }

  @Test
  void theByteBoundStaysAboveTheExactCountForEveryRule() {
    String[] requests = {
      "{\"messages\":[" + HELLO + "],\"add_special_tokens\":true}",
      "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":"
          + "\"image_url\"}]}]}",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"say <|eot_id|>\"}]}",
      "{\"messages\":[" + HELLO + "],\"tools\":[],\"chat_template_kwargs\":{\"x\":1}}",
      "{\"messages\":[{\"role\":\"tool\",\"content\":{\"a\":[1,2.5,null]}},{\"role\":\"weird\"}]}",
    };
    for (String request : requests) {
      JsonNode json = Llama3Fixture.json(request);
      assertThat(new Utf8BoundTokenCounter().countChat(json).totalTokens())
          .as(request)
          .isGreaterThanOrEqualTo(Llama3Fixture.counter().countChat(json).totalTokens());
    }
  }

  /**
   * The template encodes the header's "\n\n" apart from the trimmed content after it; encoding the
   * whole rendered prompt in one piece must give the same count for any content.
   */
  @Test
  void splittingAfterTheHeaderNeverChangesTheCount() {
    String[] pieces = {
      " ", "  ", "\n", "\r\n", "\t", "\u00a0", "\u3000", "a", "Z", "é", "1", "123456", "'s", "'T",
      "!", "?!", "...", "{", "\"", "한국어", "日本", "👍", "\u200b", "-", "_x", " the", "\n\n", "<|",
      "|>", "\u001f", "\u0085"
    };
    Random random = new Random(20240726);
    for (int round = 0; round < 300; round++) {
      String system = randomText(random, pieces);
      String userContent = randomText(random, pieces);
      ArrayNode messages = Llama3Fixture.JSON.createArrayNode();
      messages.addObject().put("role", "system").put("content", system);
      messages.addObject().put("role", "user").put("content", userContent);
      ObjectNode request = Llama3Fixture.JSON.createObjectNode();
      request.set("messages", messages);

      long whole =
          Llama3Fixture.tokenizer()
              .count(rendered(JinjaTrim.trim(system), "user", JinjaTrim.trim(userContent)));

      assertThat(Llama3Fixture.counter().countChat(request).totalTokens())
          .as("system %s, user %s", system, userContent)
          .isEqualTo(whole);
    }
  }

  private static String randomText(Random random, String[] pieces) {
    StringBuilder text = new StringBuilder();
    int length = random.nextInt(8);
    for (int i = 0; i < length; i++) {
      text.append(pieces[random.nextInt(pieces.length)]);
    }
    return text.toString();
  }

  /** The Llama 3.2 prompt of SPEC §4 for a system text and one message, as one string. */
  private static String rendered(String system, String role, String content) {
    return "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
        + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
        + system
        + "<|eot_id|><|start_header_id|>"
        + role
        + "<|end_header_id|>\n\n"
        + content
        + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
  }

  private static String chat(String message) {
    return "{\"messages\":[" + message + "]}";
  }

  private static String user(String content) {
    return "{\"role\":\"user\",\"content\":" + Llama3Fixture.JSON.writeValueAsString(content) + "}";
  }

  private static long count(String request) {
    return Llama3Fixture.counter().countChat(Llama3Fixture.json(request)).totalTokens();
  }
}
