package io.simpletokenlimiter.proxy;

/** The two generation endpoints, and where vLLM serves each. */
enum Endpoint {
  CHAT("/v1/chat/completions"),
  COMPLETIONS("/v1/completions");

  private final String upstreamPath;

  Endpoint(String upstreamPath) {
    this.upstreamPath = upstreamPath;
  }

  String upstreamPath() {
    return upstreamPath;
  }
}
