#!/usr/bin/env bash
# Limiter store benchmark (not a test): requests/s and latency of the same chat completion
# through the service with the in-memory store and with the Redis store, and the Redis commands
# each request costs (INFO commandstats, reset before the measured run). Loopback only; bounded.
#   bench/limiter-bench.sh [seconds per run, default 15] [connections, default 32]
# Needs wrk and redis-server/redis-cli on PATH. Builds nothing but the test classes, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-15}"
CONNECTIONS="${2:-32}"
THREADS=2
PORT="${BENCH_PORT:-18080}"
REDIS_PORT="${BENCH_REDIS_PORT:-16399}"
OUT="$(mktemp -d)"

./mvnw -q -B -o -Djacoco.skip=true test-compile
./mvnw -q -B -o dependency:build-classpath -Dmdep.outputFile="$OUT/cp.txt" >/dev/null
CP="target/classes:target/test-classes:$(cat "$OUT/cp.txt")"

cleanup() {
  [[ -n "${SERVICE_PID:-}" ]] && kill "$SERVICE_PID" 2>/dev/null || true
  [[ -n "${FAKE_PID:-}" ]] && kill "$FAKE_PID" 2>/dev/null || true
  [[ -n "${REDIS_PID:-}" ]] && kill "$REDIS_PID" 2>/dev/null || true
}
trap cleanup EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$OUT" --logfile "$OUT/redis.log" &
REDIS_PID=$!
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

: >"$OUT/fake.log"
java -Xmx512m -cp "$CP" io.simpletokenlimiter.testing.vllm.FakeVllmServer 16 >"$OUT/fake.log" 2>&1 &
FAKE_PID=$!
for _ in $(seq 50); do grep -q '^http' "$OUT/fake.log" && break; sleep 0.2; done
FAKE_URL="$(grep -m1 '^http' "$OUT/fake.log")"

start_service() { # store
  VLLM_URL="$FAKE_URL" PORT="$PORT" LOG_LEVEL=WARN TOKEN_LIMIT_STORE="$1" \
    REDIS_HOST=127.0.0.1 REDIS_PORT="$REDIS_PORT" \
    MAX_TOKENS_MINUTE=1000000000 MAX_TOKENS_HOUR=1000000000 MAX_TOKENS_DAY=1000000000 \
    MAX_CONCURRENT=100000 \
    java -Xmx1g -XX:+UseG1GC -cp "$CP" io.simpletokenlimiter.TokenLimiterApplication \
    >"$OUT/service-$1.log" 2>&1 &
  SERVICE_PID=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$PORT/api/v1/health" >/dev/null && break
    sleep 0.3
  done
  # Warm-up (JIT) with both scripts, not reported: 5 s was not enough on two shared cores.
  for script in bench/chat.lua bench/chat-many-users.lua; do
    wrk -t"$THREADS" -c"$CONNECTIONS" -d8s -s "$script" \
      "http://127.0.0.1:$PORT/v1/chat/completions" >/dev/null
  done
}

stop_service() {
  kill "$SERVICE_PID"
  wait "$SERVICE_PID" 2>/dev/null || true
  SERVICE_PID=
}

run() { # name url script
  echo "== $1 ($CONNECTIONS connections, ${DURATION}s)"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION"s --latency -s "$3" "$2" | tee "$OUT/wrk.txt" \
    | grep -E 'Requests/sec|^ +(50|90|99)%|Non-2xx|Socket errors|requests in'
}

redis_run() { # name script
  redis-cli -p "$REDIS_PORT" config resetstat >/dev/null
  run "$1" "http://127.0.0.1:$PORT/v1/chat/completions" "$2"
  local requests
  requests="$(grep -Eo '^ +[0-9]+ requests in' "$OUT/wrk.txt" | grep -Eo '[0-9]+')"
  redis-cli -p "$REDIS_PORT" info commandstats | tr -d '\r' | grep '^cmdstat_' \
    | awk -F'[:=,]' -v n="$requests" \
      '{ printf "   redis %-10s %6.2f calls/request  %6.1f us/call\n", substr($1, 9), $3 / n, $7 }'
}

run "direct to fake vLLM" "$FAKE_URL/v1/chat/completions" bench/chat.lua

start_service memory
run "memory store, one user" "http://127.0.0.1:$PORT/v1/chat/completions" bench/chat.lua
run "memory store, 10,000 users" "http://127.0.0.1:$PORT/v1/chat/completions" \
  bench/chat-many-users.lua
stop_service

start_service redis
redis_run "redis store, one user" bench/chat.lua
redis_run "redis store, 10,000 users" bench/chat-many-users.lua
stop_service
