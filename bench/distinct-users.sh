#!/usr/bin/env bash
# The in-memory store under 200,000 distinct user ids at a small heap (issue: hostile traffic):
# one small request per user, then the heap after a full GC, the store's gauges and the health
# endpoint's latency. Usage: bench/distinct-users.sh [heap, default 512m] [users, default 200000]
source "$(dirname "$0")/common.sh" 15 64
HEAP="${3:-${HEAP:-512m}}"
export USERS="${4:-${USERS:-200000}}"
start_fake
VLLM_URL="$FAKE_URL" PORT="$PORT" LOG_LEVEL=WARN TOKEN_LIMIT_STORE=memory \
  MAX_TOKENS_MINUTE=1000000 MAX_TOKENS_HOUR=1000000 MAX_TOKENS_DAY=1000000 \
  java -Xmx"$HEAP" -XX:+UseG1GC -cp "$CP" io.simpletokenlimiter.TokenLimiterApplication \
  >"$OUT/service.log" 2>&1 &
SERVICE_PID=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/api/v1/health" >/dev/null && break
  sleep 0.3
done
echo "== $USERS distinct users, -Xmx$HEAP"
start=$(date +%s)
# Each wrk thread stops after its share of users; the duration only bounds a run that stalls.
(wrk -t2 -c64 -d600s --latency -s bench/distinct-users.lua "http://127.0.0.1:$PORT" || true) \
  | grep -E 'Requests/sec|requests in|Non-2xx|Socket errors|^ +(50|99)%' || true
echo "took $(( $(date +%s) - start )) s"
metrics="$(curl -s "http://127.0.0.1:$PORT/actuator/prometheus")"
grep -E '^limiter_memory_users(_max)? |^limiter_memory_users_refused_total ' <<<"$metrics" || true
grep -E '^http_server_requests_seconds_count\{.*status="(200|503)".*chat' <<<"$metrics" | head -4 || true
jcmd "$SERVICE_PID" GC.run >/dev/null
jcmd "$SERVICE_PID" GC.heap_info | grep -E 'garbage-first heap|used' | head -2
echo -n "health after: "
curl -s -o /dev/null -w '%{http_code} in %{time_total}s\n' "http://127.0.0.1:$PORT/api/v1/health"
curl -s -o /dev/null -w 'a known user: %{http_code} in %{time_total}s\n' \
  -H 'Content-Type: application/json' -H 'X-User-ID: u0-1' \
  -d '{"model":"llama3.2-1b","messages":[{"role":"user","content":"Hi"}],"max_tokens":4}' \
  "http://127.0.0.1:$PORT/api/v1/chat/completions"
