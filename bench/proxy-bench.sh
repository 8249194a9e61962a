#!/usr/bin/env bash
# Proxy overhead benchmark (not a test): requests/s and latency percentiles of a chat completion
# sent straight to a fast fake vLLM, and the same through the limiter. Loopback only; bounded.
#   bench/proxy-bench.sh [seconds per run, default 15] [connections, default 32]
# Needs wrk (apt-get install -y wrk). Builds nothing but the test classes, offline.
source "$(dirname "$0")/common.sh" "$@"
start_fake
start_service memory

# Warm-up (JIT) through the proxy, not reported.
wrk -t"$THREADS" -c"$CONNECTIONS" -d5s -s bench/chat.lua \
  "http://127.0.0.1:$PORT/v1/chat/completions" >/dev/null

run "direct to fake vLLM, non-stream" "$FAKE_URL/v1/chat/completions" bench/chat.lua
run "through limiter, non-stream" "http://127.0.0.1:$PORT/v1/chat/completions" bench/chat.lua
run "direct to fake vLLM, stream" "$FAKE_URL/v1/chat/completions" bench/chat-stream.lua
run "through limiter, stream" "http://127.0.0.1:$PORT/v1/chat/completions" bench/chat-stream.lua
