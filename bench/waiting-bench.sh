#!/usr/bin/env bash
# The cost of waiting when nothing waits (not a test): the same chat completion through the
# limiter (memory store, limits too high to reject), without waiting, with every request allowed
# to wait (TOKEN_LIMIT_QUEUE_MAX_WAIT), and with the model's capacity set but never reached
# (UPSTREAM_MAX_IN_FLIGHT). Each configuration runs twice, alternating, to show the noise.
#   bench/waiting-bench.sh [seconds per run, default 10] [connections, default 32]
# Needs wrk. Loopback only; bounded.
source "$(dirname "$0")/common.sh" "$@"
start_fake

configuration() { # name, max wait, max in flight (0 = none)
  TOKEN_LIMIT_QUEUE_MAX_WAIT="$2" UPSTREAM_MAX_IN_FLIGHT="$3" start_service memory
  wrk -t"$THREADS" -c"$CONNECTIONS" -d5s -s bench/chat.lua \
    "http://127.0.0.1:$PORT/v1/chat/completions" >/dev/null
  run "$1" "http://127.0.0.1:$PORT/v1/chat/completions" bench/chat.lua
  kill "$SERVICE_PID"
  wait "$SERVICE_PID" 2>/dev/null || true
  SERVICE_PID=
}

for round in 1 2; do
  configuration "round $round: no waiting (seed behaviour)" 0s 0
  configuration "round $round: max-wait 5s" 5s 0
  configuration "round $round: max-wait 5s, max-in-flight 100000" 5s 100000
done
