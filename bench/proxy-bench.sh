#!/usr/bin/env bash
# Proxy overhead benchmark (not a test): requests/s and latency percentiles of a chat completion
# sent straight to a fast fake vLLM, and the same through the limiter. Loopback only; bounded.
#   bench/proxy-bench.sh [seconds per run, default 15] [connections, default 32]
# Needs wrk (apt-get install -y wrk). Builds nothing but the test classes, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-15}"
CONNECTIONS="${2:-32}"
THREADS=2
PORT="${BENCH_PORT:-18080}"
OUT="$(mktemp -d)"

./mvnw -q -B -o -Djacoco.skip=true test-compile
./mvnw -q -B -o dependency:build-classpath -Dmdep.outputFile="$OUT/cp.txt" >/dev/null
CP="target/classes:target/test-classes:$(cat "$OUT/cp.txt")"

cleanup() {
  [[ -n "${SERVICE_PID:-}" ]] && kill "$SERVICE_PID" 2>/dev/null || true
  [[ -n "${FAKE_PID:-}" ]] && kill "$FAKE_PID" 2>/dev/null || true
}
trap cleanup EXIT

: >"$OUT/fake.log"
java -Xmx512m -cp "$CP" io.simpletokenlimiter.testing.vllm.FakeVllmServer 16 >"$OUT/fake.log" 2>&1 &
FAKE_PID=$!
for _ in $(seq 50); do grep -q '^http' "$OUT/fake.log" && break; sleep 0.2; done
FAKE_URL="$(grep -m1 '^http' "$OUT/fake.log")"

# Limits high enough that the benchmark measures the proxy, not 429s.
VLLM_URL="$FAKE_URL" PORT="$PORT" LOG_LEVEL=WARN \
  MAX_TOKENS_MINUTE=1000000000 MAX_TOKENS_HOUR=1000000000 MAX_TOKENS_DAY=1000000000 \
  MAX_CONCURRENT=100000 \
  java -Xmx1g -XX:+UseG1GC -cp "$CP" io.simpletokenlimiter.TokenLimiterApplication \
  >"$OUT/service.log" 2>&1 &
SERVICE_PID=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/api/v1/health" >/dev/null && break
  sleep 0.3
done

run() { # name url script
  echo "== $1 ($CONNECTIONS connections, ${DURATION}s)"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION"s --latency -s "$3" "$2" \
    | grep -E 'Requests/sec|^ +(50|90|99)%|Non-2xx|Socket errors|requests in'
}

# Warm-up (JIT) through the proxy, not reported.
wrk -t"$THREADS" -c"$CONNECTIONS" -d5s -s bench/chat.lua \
  "http://127.0.0.1:$PORT/v1/chat/completions" >/dev/null

run "direct to fake vLLM, non-stream" "$FAKE_URL/v1/chat/completions" bench/chat.lua
run "through limiter, non-stream" "http://127.0.0.1:$PORT/v1/chat/completions" bench/chat.lua
run "direct to fake vLLM, stream" "$FAKE_URL/v1/chat/completions" bench/chat-stream.lua
run "through limiter, stream" "http://127.0.0.1:$PORT/v1/chat/completions" bench/chat-stream.lua
