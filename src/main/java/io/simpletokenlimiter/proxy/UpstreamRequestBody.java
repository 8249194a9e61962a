package io.simpletokenlimiter.proxy;

import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/** The body sent to vLLM: the client's, with the served model name and the granted budget. */
final class UpstreamRequestBody {

  private UpstreamRequestBody() {}

  /**
   * The budget vLLM obeys is exactly the one reserved, whichever field the client used; a stream
   * always asks for usage in every chunk, so that a cut stream is charged what was produced.
   */
  static byte[] write(
      JsonMapper json, CompletionRequest request, String upstreamModel, long grantedPerChoice) {
    ObjectNode body = request.body();
    body.put("model", upstreamModel);
    body.put("max_tokens", grantedPerChoice);
    if (request.endpoint() == Endpoint.CHAT && body.has("max_completion_tokens")) {
      body.put("max_completion_tokens", grantedPerChoice);
    } else {
      body.remove("max_completion_tokens");
    }
    if (request.stream()) {
      ObjectNode options =
          body.get("stream_options") instanceof ObjectNode given
              ? given
              : body.putObject("stream_options");
      options.put("include_usage", true);
      options.put("continuous_usage_stats", true);
    }
    return json.writeValueAsBytes(body);
  }
}
