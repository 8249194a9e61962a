package io.simpletokenlimiter.tokens;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Requests the template is not modelled exactly for (tools, tool calls, tool results, names,
 * unknown roles), and content parts, against the prompt the real Llama 3.2 chat template renders
 * for them. The rendered prompts were made once with Jinja2 and Hugging Face's {@code tojson}, on
 * the requests after vLLM's preprocessing (tool definitions dumped by its pydantic model, tool-call
 * arguments parsed, text parts joined with a newline).
 */
class ChatTemplateRenderingTest {

  /**
   * A request, the margin the rules add for it, and the real template's rendering of it.
   *
   * @param margin the tokens {@link Llama3ChatTemplate} adds on top (a name adds its own tokens)
   */
  record Case(String name, long margin, String request, String rendered) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Case> cases() {
    return CASES.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void countsTheRenderedPromptPlusTheMargin(Case example) {
    long rendered = Llama3Fixture.tokenizer().count(example.rendered());

    long counted =
        Llama3Fixture.counter().countChat(Llama3Fixture.json(example.request())).totalTokens();

    assertThat(counted).isGreaterThanOrEqualTo(rendered).isEqualTo(rendered + example.margin());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void theByteBoundNeverCountsLessThanTheRenderedPrompt(Case example) {
    long rendered = Llama3Fixture.tokenizer().count(example.rendered());

    long bound =
        new Utf8BoundTokenCounter().countChat(Llama3Fixture.json(example.request())).totalTokens();

    assertThat(bound).isGreaterThanOrEqualTo(rendered);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void tokenizeAnswersOnlyWhatItRendersExactly(Case example) {
    Llama3Tokenizer tokenizer = Llama3Fixture.tokenizer();

    var outcome = PromptTokenizer.of(tokenizer).tokenize(Llama3Fixture.json(example.request()));

    if (example.margin() == 0) {
      List<Integer> ids = IntStream.of(tokenizer.encode(example.rendered())).boxed().toList();
      assertThat(outcome).isEqualTo(new TokenizeOutcome.Tokenized(ids, List.of()));
    } else {
      assertThat(outcome).isInstanceOf(TokenizeOutcome.Unavailable.class);
    }
  }

  private static final List<Case> CASES =
      List.of(
          new Case(
              "one tool, system and user",
              Llama3ChatTemplate.TOOL_DEFINITION_MARGIN,
              "{\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful a"
                  + "ssistant.\"},{\"role\":\"user\",\"content\":\"What's the weather in S"
                  + "eoul?\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\""
                  + "get_weather\",\"description\":\"Get the current weather in a city\",\""
                  + "parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
                  + "\"string\",\"description\":\"City name, e.g. Seoul\"},\"unit\":{\"typ"
                  + "e\":\"string\",\"enum\":[\"celsius\",\"fahrenheit\"]}},\"required\":["
                  + "\"city\"]}}}]}",
              "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
                  + "\n"
                  + "Environment: ipython\n"
                  + "Cutting Knowledge Date: December 2023\n"
                  + "Today Date: 26 Jul 2024\n"
                  + "\n"
                  + "You are a helpful assistant.<|eot_id|><|start_header_id|>user<|end_he"
                  + "ader_id|>\n"
                  + "\n"
                  + "Given the following functions, please respond with a JSON for a funct"
                  + "ion call with its proper arguments that best answers the given prompt"
                  + ".\n"
                  + "\n"
                  + "Respond in the format {\"name\": function name, \"parameters\": dicti"
                  + "onary of argument name and its value}.Do not use variables.\n"
                  + "\n"
                  + "{\n"
                  + "    \"type\": \"function\",\n"
                  + "    \"function\": {\n"
                  + "        \"name\": \"get_weather\",\n"
                  + "        \"description\": \"Get the current weather in a city\",\n"
                  + "        \"parameters\": {\n"
                  + "            \"type\": \"object\",\n"
                  + "            \"properties\": {\n"
                  + "                \"city\": {\n"
                  + "                    \"type\": \"string\",\n"
                  + "                    \"description\": \"City name, e.g. Seoul\"\n"
                  + "                },\n"
                  + "                \"unit\": {\n"
                  + "                    \"type\": \"string\",\n"
                  + "                    \"enum\": [\n"
                  + "                        \"celsius\",\n"
                  + "                        \"fahrenheit\"\n"
                  + "                    ]\n"
                  + "                }\n"
                  + "            },\n"
                  + "            \"required\": [\n"
                  + "                \"city\"\n"
                  + "            ]\n"
                  + "        }\n"
                  + "    }\n"
                  + "}\n"
                  + "\n"
                  + "What's the weather in Seoul?<|eot_id|><|start_header_id|>assistant<|e"
                  + "nd_header_id|>\n"
                  + "\n"),
          new Case(
              "two tools, a tool call and its result",
              2 * Llama3ChatTemplate.TOOL_DEFINITION_MARGIN
                  + Llama3ChatTemplate.TOOL_CALL_MARGIN
                  + Llama3ChatTemplate.TOOL_RESULT_MARGIN,
              "{\"messages\":[{\"role\":\"user\",\"content\":\"  Weather in Busan, a"
                  + "nd find docs about rate limits  \"},{\"role\":\"assistant\",\"content"
                  + "\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"fu"
                  + "nction\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\""
                  + "Busan\\\",\\\"unit\\\":\\\"celsius\\\"}\"}}]},{\"role\":\"tool\",\"to"
                  + "ol_call_id\":\"call_1\",\"content\":\"{\\\"temperature\\\": 21.5, \\\""
                  + "sky\\\": \\\"clear\\\"}\"},{\"role\":\"user\",\"content\":\"Thanks!\""
                  + "}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_wea"
                  + "ther\",\"description\":\"Get the current weather in a city\",\"parame"
                  + "ters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"stri"
                  + "ng\",\"description\":\"City name, e.g. Seoul\"},\"unit\":{\"type\":\""
                  + "string\",\"enum\":[\"celsius\",\"fahrenheit\"]}},\"required\":[\"city"
                  + "\"]}}},{\"type\":\"function\",\"function\":{\"name\":\"search_docs\","
                  + "\"parameters\":{\"type\":\"object\",\"properties\":{\"query\":{\"type"
                  + "\":\"string\"},\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximu"
                  + "m\":50,\"default\":10}}}}}]}",
              "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
                  + "\n"
                  + "Environment: ipython\n"
                  + "Cutting Knowledge Date: December 2023\n"
                  + "Today Date: 26 Jul 2024\n"
                  + "\n"
                  + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
                  + "\n"
                  + "Given the following functions, please respond with a JSON for a funct"
                  + "ion call with its proper arguments that best answers the given prompt"
                  + ".\n"
                  + "\n"
                  + "Respond in the format {\"name\": function name, \"parameters\": dicti"
                  + "onary of argument name and its value}.Do not use variables.\n"
                  + "\n"
                  + "{\n"
                  + "    \"type\": \"function\",\n"
                  + "    \"function\": {\n"
                  + "        \"name\": \"get_weather\",\n"
                  + "        \"description\": \"Get the current weather in a city\",\n"
                  + "        \"parameters\": {\n"
                  + "            \"type\": \"object\",\n"
                  + "            \"properties\": {\n"
                  + "                \"city\": {\n"
                  + "                    \"type\": \"string\",\n"
                  + "                    \"description\": \"City name, e.g. Seoul\"\n"
                  + "                },\n"
                  + "                \"unit\": {\n"
                  + "                    \"type\": \"string\",\n"
                  + "                    \"enum\": [\n"
                  + "                        \"celsius\",\n"
                  + "                        \"fahrenheit\"\n"
                  + "                    ]\n"
                  + "                }\n"
                  + "            },\n"
                  + "            \"required\": [\n"
                  + "                \"city\"\n"
                  + "            ]\n"
                  + "        }\n"
                  + "    }\n"
                  + "}\n"
                  + "\n"
                  + "{\n"
                  + "    \"type\": \"function\",\n"
                  + "    \"function\": {\n"
                  + "        \"name\": \"search_docs\",\n"
                  + "        \"description\": null,\n"
                  + "        \"parameters\": {\n"
                  + "            \"type\": \"object\",\n"
                  + "            \"properties\": {\n"
                  + "                \"query\": {\n"
                  + "                    \"type\": \"string\"\n"
                  + "                },\n"
                  + "                \"limit\": {\n"
                  + "                    \"type\": \"integer\",\n"
                  + "                    \"minimum\": 1,\n"
                  + "                    \"maximum\": 50,\n"
                  + "                    \"default\": 10\n"
                  + "                }\n"
                  + "            }\n"
                  + "        }\n"
                  + "    }\n"
                  + "}\n"
                  + "\n"
                  + "Weather in Busan, and find docs about rate limits<|eot_id|><|start_he"
                  + "ader_id|>assistant<|end_header_id|>\n"
                  + "\n"
                  + "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Busan\", \"u"
                  + "nit\": \"celsius\"}}<|eot_id|><|start_header_id|>ipython<|end_header_"
                  + "id|>\n"
                  + "\n"
                  + "\"{\\\"temperature\\\": 21.5, \\\"sky\\\": \\\"clear\\\"}\"<|eot_id|>"
                  + "<|start_header_id|>user<|end_header_id|>\n"
                  + "\n"
                  + "Thanks!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
                  + "\n"),
          new Case(
              "a tool without description or parameters",
              Llama3ChatTemplate.TOOL_DEFINITION_MARGIN,
              "{\"messages\":[{\"role\":\"user\",\"content\":\"ping it\"}],\"tools\""
                  + ":[{\"function\":{\"name\":\"ping\"}}]}",
              "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
                  + "\n"
                  + "Environment: ipython\n"
                  + "Cutting Knowledge Date: December 2023\n"
                  + "Today Date: 26 Jul 2024\n"
                  + "\n"
                  + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
                  + "\n"
                  + "Given the following functions, please respond with a JSON for a funct"
                  + "ion call with its proper arguments that best answers the given prompt"
                  + ".\n"
                  + "\n"
                  + "Respond in the format {\"name\": function name, \"parameters\": dicti"
                  + "onary of argument name and its value}.Do not use variables.\n"
                  + "\n"
                  + "{\n"
                  + "    \"type\": \"function\",\n"
                  + "    \"function\": {\n"
                  + "        \"name\": \"ping\",\n"
                  + "        \"description\": null,\n"
                  + "        \"parameters\": null\n"
                  + "    }\n"
                  + "}\n"
                  + "\n"
                  + "ping it<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
                  + "\n"),
          new Case(
              "tool calls without tools",
              Llama3ChatTemplate.TOOL_CALL_MARGIN + Llama3ChatTemplate.TOOL_RESULT_MARGIN,
              "{\"messages\":[{\"role\":\"user\",\"content\":\"Call it.\"},{\"role\""
                  + ":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":\"c\",\"type\""
                  + ":\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\""
                  + "ids\\\":[1,2,3],\\\"deep\\\":true,\\\"note\\\":\\\"line1\\\\nline2 \\"
                  + "\\\\\"quoted\\\\\\\" \ud55c\uad6d\uc5b4\\\"}\"}}]},{\"role\":\"tool\""
                  + ",\"content\":\"Result:\\n\\t\\\"ok\\\" \u2014 \uc644\ub8cc \\\\ done\""
                  + "},{\"role\":\"user\",\"content\":\"and?\"}]}",
              "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
                  + "\n"
                  + "Cutting Knowledge Date: December 2023\n"
                  + "Today Date: 26 Jul 2024\n"
                  + "\n"
                  + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
                  + "\n"
                  + "Call it.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
                  + "\n"
                  + "{\"name\": \"lookup\", \"parameters\": {\"ids\": [1, 2, 3], \"deep\":"
                  + " true, \"note\": \"line1\\nline2 \\\"quoted\\\" \ud55c\uad6d\uc5b4\"}"
                  + "}<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n"
                  + "\n"
                  + "\"Result:\\n\\t\\\"ok\\\" \u2014 \uc644\ub8cc \\\\ done\"<|eot_id|><|"
                  + "start_header_id|>user<|end_header_id|>\n"
                  + "\n"
                  + "and?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
                  + "\n"),
          new Case(
              "tool call with empty arguments",
              Llama3ChatTemplate.TOOL_CALL_MARGIN + Llama3ChatTemplate.TOOL_RESULT_MARGIN,
              "{\"messages\":[{\"role\":\"user\",\"content\":\"now\"},{\"role\":\"as"
                  + "sistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"funct"
                  + "ion\":{\"name\":\"now\",\"arguments\":\"\"}}]},{\"role\":\"ipython\","
                  + "\"content\":\"12:00\"}]}",
              "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
                  + "\n"
                  + "Cutting Knowledge Date: December 2023\n"
                  + "Today Date: 26 Jul 2024\n"
                  + "\n"
                  + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
                  + "\n"
                  + "now<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
                  + "\n"
                  + "{\"name\": \"now\", \"parameters\": {}}<|eot_id|><|start_header_id|>i"
                  + "python<|end_header_id|>\n"
                  + "\n"
                  + "\"12:00\"<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
                  + "\n"),
          new Case(
              "content parts",
              0,
              "{\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"text\",\""
                  + "text\":\"  Be brief. \"},{\"type\":\"text\",\"text\":\"Answer in Kore"
                  + "an.\"}]},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
                  + "\"first part\"},{\"type\":\"text\",\"text\":\"  second part  \"}]}]}",
              "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
                  + "\n"
                  + "Cutting Knowledge Date: December 2023\n"
                  + "Today Date: 26 Jul 2024\n"
                  + "\n"
                  + "Be brief. \n"
                  + "Answer in Korean.<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
                  + "\n"
                  + "first part\n"
                  + "  second part<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
                  + "\n"),
          new Case(
              "a name field",
              1 + Llama3ChatTemplate.NAME_MARGIN,
              "{\"messages\":[{\"role\":\"user\",\"name\":\"alice\",\"content\":\"He"
                  + "llo, I am Alice.\"}]}",
              "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
                  + "\n"
                  + "Cutting Knowledge Date: December 2023\n"
                  + "Today Date: 26 Jul 2024\n"
                  + "\n"
                  + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
                  + "\n"
                  + "Hello, I am Alice.<|eot_id|><|start_header_id|>assistant<|end_header_"
                  + "id|>\n"
                  + "\n"),
          new Case(
              "an unknown role",
              Llama3ChatTemplate.UNKNOWN_ROLE_MARGIN,
              "{\"messages\":[{\"role\":\"developer\",\"content\":\"Follow the rules"
                  + ".\"},{\"role\":\"user\",\"content\":\"Hi\"}]}",
              "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
                  + "\n"
                  + "Cutting Knowledge Date: December 2023\n"
                  + "Today Date: 26 Jul 2024\n"
                  + "\n"
                  + "<|eot_id|><|start_header_id|>developer<|end_header_id|>\n"
                  + "\n"
                  + "Follow the rules.<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
                  + "\n"
                  + "Hi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
                  + "\n"));
}
