#!/usr/bin/env bash
# Limiter store benchmark (not a test): requests/s and latency of the same chat completion
# through the service with the in-memory store and with the Redis store, and the Redis commands
# each request costs (INFO commandstats, reset before the measured run). Loopback only; bounded.
#   bench/limiter-bench.sh [seconds per run, default 15] [connections, default 32]
# Needs wrk and redis-server/redis-cli on PATH. Builds nothing but the test classes, offline.
source "$(dirname "$0")/common.sh" "$@"

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$OUT" --logfile "$OUT/redis.log" &
REDIS_PID=$!
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

start_fake

warm_up() {
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
warm_up
run "memory store, one user" "http://127.0.0.1:$PORT/v1/chat/completions" bench/chat.lua
run "memory store, 10,000 users" "http://127.0.0.1:$PORT/v1/chat/completions" \
  bench/chat-many-users.lua
stop_service

start_service redis
warm_up
redis_run "redis store, one user" bench/chat.lua
redis_run "redis store, 10,000 users" bench/chat-many-users.lua
stop_service
