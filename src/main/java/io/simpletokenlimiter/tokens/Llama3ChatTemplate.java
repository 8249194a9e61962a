package io.simpletokenlimiter.tokens;

import java.util.Map;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Renders a chat-completions request as vLLM renders it with the Llama 3.2 Instruct chat template
 * ({@code add_generation_prompt=true}, after vLLM's own preprocessing), into a {@link PromptSink}.
 *
 * <p>Exact, checked against Hugging Face's output:
 *
 * <ul>
 *   <li>{@code <|begin_of_text|>}, then a system block that always exists: header {@code system},
 *       {@code "\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"} and the
 *       first message's content if its role is {@code system}, trimmed. vLLM writes today's date
 *       there; every date of the form {@code "%d %b %Y"} has the same token count.
 *   <li>Every other message: header {@code role}, {@code "\n\n"}, content trimmed, {@code
 *       <|eot_id|>}. A later system message is an ordinary turn.
 *   <li>Trim is Jinja's {@code trim} = Python's {@code str.strip()} ({@link JinjaTrim}).
 *   <li>Content as a list of parts: the text parts joined with {@code "\n"}, as vLLM does for a
 *       template that takes string content.
 *   <li>Special-token text inside content counts as the single special token, as vLLM's tokenizer
 *       finds it in the rendered prompt.
 *   <li>Then the generation prompt: header {@code assistant} and {@code "\n\n"}, unless the request
 *       sets {@code add_generation_prompt: false}. {@code add_special_tokens: true} adds a second
 *       {@code <|begin_of_text|>}, as vLLM does.
 * </ul>
 *
 * <p>Over-counted, never under-counted: the template's text is rendered as closely as known and a
 * margin is added for what vLLM may do differently.
 *
 * <ul>
 *   <li>{@code tools} (or {@code chat_template_kwargs.custom_tools}): the system block gets {@code
 *       "Environment: ipython\n"}; the first message after the system one becomes a user block with
 *       the template's instructions and each tool as {@code json.dumps(tool, indent=4)} in the
 *       shape vLLM passes it ({@code type}, {@code function} with {@code name}, {@code
 *       description}, {@code parameters}, the last two {@code null} when absent), plus {@value
 *       #TOOL_DEFINITION_MARGIN} tokens per tool (at least one tool's worth). If that first message
 *       is not a plain user message it is also rendered on its own.
 *   <li>{@code tool_calls} on a message: each call as its own assistant block {@code {"name":
 *       "NAME", "parameters": ARGUMENTS}} with the arguments re-serialised as Python does, plus
 *       {@value #TOOL_CALL_MARGIN} tokens per call (one call's worth for an empty list); the
 *       message's content, if any, is counted as well.
 *   <li>Role {@code tool} or {@code ipython}: an {@code ipython} block with the content as a JSON
 *       string, plus {@value #TOOL_RESULT_MARGIN} tokens.
 *   <li>A {@code name} on a message: its tokens plus {@value #NAME_MARGIN}, though the template
 *       ignores it.
 *   <li>A role other than system, user, assistant, tool, ipython: rendered like any message, plus
 *       {@value #UNKNOWN_ROLE_MARGIN} tokens.
 *   <li>Missing or null content: the text {@code "None"} (Jinja's rendering of Python's None).
 *   <li>A non-text content part, content of another JSON type, a message that is not an object,
 *       non-list {@code tools} or {@code tool_calls}: the UTF-8 bytes of its JSON plus {@value
 *       #NON_TEXT_PART_MARGIN}.
 *   <li>{@code chat_template_kwargs} (a {@code date_string}, {@code tools_in_user_message: false}):
 *       the UTF-8 bytes of its JSON on top.
 *   <li>A request's own {@code chat_template} is not counted here: the API refuses it, since a
 *       template of the client's could render any number of tokens.
 *   <li>{@code continue_final_message}: counted as if false (one {@code <|eot_id|>} and the
 *       generation prompt more).
 * </ul>
 */
final class Llama3ChatTemplate {

  static final int BEGIN_OF_TEXT = 128_000;
  static final int START_HEADER = 128_006;
  static final int END_HEADER = 128_007;
  static final int EOT = 128_009;

  static final int TOOL_DEFINITION_MARGIN = 32;
  static final int TOOL_CALL_MARGIN = 16;
  static final int TOOL_RESULT_MARGIN = 16;
  static final int NAME_MARGIN = 4;
  static final int UNKNOWN_ROLE_MARGIN = 8;
  static final int NON_TEXT_PART_MARGIN = 16;

  private static final String HEADER_END = "\n\n";
  private static final String DATES =
      "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n";
  private static final String SYSTEM_PREAMBLE = HEADER_END + DATES;
  private static final String TOOLS_SYSTEM_PREAMBLE = HEADER_END + "Environment: ipython\n" + DATES;
  private static final String TOOLS_INSTRUCTIONS =
      HEADER_END
          + "Given the following functions, please respond with a JSON for a function call "
          + "with its proper arguments that best answers the given prompt.\n\n"
          + "Respond in the format {\"name\": function name, \"parameters\": dictionary of "
          + "argument name and its value}.Do not use variables.\n\n";
  private static final Set<String> PLAIN_ROLES = Set.of("system", "user", "assistant");
  private static final Set<String> TOOL_RESULT_ROLES = Set.of("tool", "ipython");

  /** The texts most prompts repeat: the preambles, the end of a header, the roles' names. */
  static final Set<String> FIXED_TEXTS =
      Set.of(
          SYSTEM_PREAMBLE,
          TOOLS_SYSTEM_PREAMBLE,
          HEADER_END,
          "system",
          "user",
          "assistant",
          "ipython");

  private Llama3ChatTemplate() {}

  static void render(JsonNode request, PromptSink sink) {
    JsonNode messages = request.path("messages");
    int count = messages.isArray() ? messages.size() : 0;
    sink.special(BEGIN_OF_TEXT);
    if (isTrue(request.path("add_special_tokens"))) {
      sink.special(BEGIN_OF_TEXT);
    }
    int next = 0;
    String system = "";
    if (count > 0 && role(messages.get(0)).equals("system")) {
      system = JinjaTrim.trim(content(messages.get(0), sink));
      extras(messages.get(0), sink);
      next = 1;
    }
    JsonNode kwargs = request.path("chat_template_kwargs");
    boolean withTools = present(request.path("tools")) || present(kwargs.path("custom_tools"));
    header("system", sink);
    sink.text(withTools ? TOOLS_SYSTEM_PREAMBLE : SYSTEM_PREAMBLE);
    sink.text(system);
    sink.special(EOT);
    if (withTools) {
      next = renderToolsBlock(request, messages, next, sink);
    }
    for (int i = next; i < count && !sink.saturated(); i++) {
      renderMessage(messages.get(i), sink);
    }
    if (!isFalse(request.path("add_generation_prompt"))) {
      header("assistant", sink);
      sink.text(HEADER_END);
    }
    marginForJson(kwargs, 0, sink);
  }

  /** The first message after the system one, preceded by the tool definitions, in a user block. */
  private static int renderToolsBlock(
      JsonNode request, JsonNode messages, int next, PromptSink sink) {
    StringBuilder text = new StringBuilder(TOOLS_INSTRUCTIONS);
    int tools =
        appendTools(request.path("tools"), text, sink)
            + appendTools(request.path("chat_template_kwargs").path("custom_tools"), text, sink);
    sink.margin((long) TOOL_DEFINITION_MARGIN * Math.max(1, tools));
    JsonNode first = next < messages.size() ? messages.get(next) : null;
    if (first != null) {
      text.append(JinjaTrim.trim(content(first, sink)));
    }
    header("user", sink);
    sink.text(text.toString());
    sink.special(EOT);
    if (first == null) {
      return next;
    }
    if (role(first).equals("user") && !first.has("tool_calls")) {
      extras(first, sink);
    } else {
      renderMessage(first, sink);
    }
    return next + 1;
  }

  private static int appendTools(JsonNode tools, StringBuilder text, PromptSink sink) {
    if (!tools.isArray()) {
      marginForJson(tools, NON_TEXT_PART_MARGIN, sink);
      return 0;
    }
    for (JsonNode tool : tools) {
      PythonJson.dumps(asVllmPassesIt(tool), 4, text);
      text.append("\n\n");
    }
    return tools.size();
  }

  /** The tool as vLLM's pydantic model dumps it: fixed keys first, absent optionals as null. */
  private static JsonNode asVllmPassesIt(JsonNode tool) {
    if (!tool.isObject()) {
      return tool;
    }
    ObjectNode shaped = JsonNodeFactory.instance.objectNode();
    shaped.set("type", tool.hasNonNull("type") ? tool.get("type") : stringNode("function"));
    JsonNode function = tool.path("function");
    if (function.isObject()) {
      ObjectNode shapedFunction = JsonNodeFactory.instance.objectNode();
      for (String key : new String[] {"name", "description", "parameters"}) {
        shapedFunction.set(key, function.hasNonNull(key) ? function.get(key) : nullNode());
      }
      copyOthers(function, shapedFunction);
      shaped.set("function", shapedFunction);
    } else if (!function.isMissingNode()) {
      shaped.set("function", function);
    }
    copyOthers(tool, shaped);
    return shaped;
  }

  private static void copyOthers(JsonNode from, ObjectNode to) {
    for (Map.Entry<String, JsonNode> property : from.properties()) {
      if (!to.has(property.getKey())) {
        to.set(property.getKey(), property.getValue());
      }
    }
  }

  private static void renderMessage(JsonNode message, PromptSink sink) {
    if (!message.isObject()) {
      marginForJson(message, UNKNOWN_ROLE_MARGIN, sink);
      return;
    }
    String role = role(message);
    JsonNode toolCalls = message.path("tool_calls");
    if (TOOL_RESULT_ROLES.contains(role)) {
      header("ipython", sink);
      sink.text(HEADER_END + toolResult(message, sink));
      sink.special(EOT);
      sink.margin(TOOL_RESULT_MARGIN);
    } else if (toolCalls.isArray()) {
      renderToolCalls(toolCalls, sink);
      if (present(message.path("content"))) {
        sink.text(JinjaTrim.trim(content(message, sink)));
      }
    } else {
      header(role, sink);
      sink.text(HEADER_END);
      sink.text(JinjaTrim.trim(content(message, sink)));
      sink.special(EOT);
      if (!PLAIN_ROLES.contains(role)) {
        sink.margin(UNKNOWN_ROLE_MARGIN);
      }
    }
    extras(message, sink);
  }

  private static void renderToolCalls(JsonNode toolCalls, PromptSink sink) {
    if (toolCalls.isEmpty()) {
      sink.margin(TOOL_CALL_MARGIN);
    }
    for (JsonNode call : toolCalls) {
      header("assistant", sink);
      sink.text(HEADER_END + toolCallJson(call));
      sink.special(EOT);
      sink.margin(TOOL_CALL_MARGIN);
    }
  }

  /** {@code {"name": "NAME", "parameters": ARGUMENTS}} with vLLM's parsed arguments. */
  private static String toolCallJson(JsonNode call) {
    JsonNode function = call.path("function");
    JsonNode name = function.path("name");
    JsonNode arguments = function.path("arguments");
    String parameters;
    if (arguments.isString() && !arguments.stringValue().isEmpty()) {
      parameters = reserialised(arguments.stringValue());
    } else if (arguments.isContainer()) {
      parameters = PythonJson.dumps(arguments);
    } else {
      parameters = "{}";
    }
    String nameText = name.isString() ? name.stringValue() : PythonJson.dumps(name);
    return "{\"name\": \"" + nameText + "\", \"parameters\": " + parameters + "}";
  }

  private static String reserialised(String json) {
    try {
      return PythonJson.dumps(JsonMapper.shared().readTree(json));
    } catch (JacksonException e) {
      // vLLM's json.loads fails on it too; the raw text is all there is to count.
      return json;
    }
  }

  /** A tool result: the template writes string (and list) content through {@code tojson}. */
  private static String toolResult(JsonNode message, PromptSink sink) {
    JsonNode content = message.path("content");
    if (content.isObject()) {
      return PythonJson.dumps(content);
    }
    if (content.isString() || content.isArray()) {
      return PythonJson.quote(content(message, sink));
    }
    return content(message, sink);
  }

  /** The name field and malformed tool calls, which the template does not render. */
  private static void extras(JsonNode message, PromptSink sink) {
    JsonNode name = message.path("name");
    if (name.isString()) {
      sink.text(name.stringValue());
      sink.margin(NAME_MARGIN);
    } else {
      marginForJson(name, NAME_MARGIN, sink);
    }
    JsonNode toolCalls = message.path("tool_calls");
    if (!toolCalls.isArray()) {
      marginForJson(toolCalls, TOOL_CALL_MARGIN, sink);
    }
  }

  /** The content as the template sees it: a string, or the text parts joined. */
  private static String content(JsonNode message, PromptSink sink) {
    JsonNode content = message.path("content");
    if (content.isString()) {
      return content.stringValue();
    }
    if (!present(content)) {
      return "None";
    }
    if (!content.isArray()) {
      marginForJson(content, NON_TEXT_PART_MARGIN, sink);
      return "";
    }
    StringBuilder joined = new StringBuilder();
    boolean first = true;
    for (JsonNode part : content) {
      JsonNode text = part.path("text");
      if (part.path("type").asString("").equals("text") && text.isString()) {
        if (!first) {
          joined.append('\n');
        }
        joined.append(text.stringValue());
        first = false;
      } else {
        marginForJson(part, NON_TEXT_PART_MARGIN, sink);
      }
    }
    return joined.toString();
  }

  private static void header(String role, PromptSink sink) {
    sink.special(START_HEADER);
    sink.text(role);
    sink.special(END_HEADER);
  }

  private static String role(JsonNode message) {
    return message.path("role").asString("");
  }

  private static void marginForJson(JsonNode node, int extra, PromptSink sink) {
    if (present(node)) {
      sink.margin(Utf8Length.of(node.toString()) + extra);
    }
  }

  private static boolean present(JsonNode node) {
    return !node.isMissingNode() && !node.isNull();
  }

  private static boolean isTrue(JsonNode node) {
    return node.isBoolean() && node.booleanValue();
  }

  private static boolean isFalse(JsonNode node) {
    return node.isBoolean() && !node.booleanValue();
  }

  private static JsonNode stringNode(String text) {
    return JsonNodeFactory.instance.stringNode(text);
  }

  private static JsonNode nullNode() {
    return JsonNodeFactory.instance.nullNode();
  }
}
