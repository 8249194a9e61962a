#!/bin/bash
# At one connection, what does each layer add? Alternates 3-second wrk runs (the bench's post.lua)
# over: this service (memory store), a minimal Spring Boot WebFlux proxy, the same taking the
# request at Spring's HttpHandler and at Reactor Netty's routes ahead of Spring, a bare Reactor
# Netty proxy, a raw Netty proxy, nginx-proxy and the fake vLLM itself, each warmed at 32
# connections first;
# prints the median p50 of each.
#   docs/benchmarks/floor/compare.sh [rounds]    (from the project's root, after ./mvnw package)
# Needs nginx and wrk (as ../shared/bench does) and ports 18000, 18001, 18003, 18005-18009 free.
set -euo pipefail
ROUNDS=${1:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
BENCH=$ROOT/../shared/bench
JAR=${JAR:-$ROOT/target/simple-token-limiter-0.1.0-SNAPSHOT.jar}
WORK=$(mktemp -d /tmp/floor.XXXXXX)
mkdir -p "$WORK/tmp" "$WORK/logs"
(cd "$WORK" && unzip -q "$JAR" 'BOOT-INF/lib/*')
CP=$(ls "$WORK"/BOOT-INF/lib/*.jar | tr '\n' ':')
PIDS=()
stop() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  nginx -p "$WORK" -c "$BENCH/nginx/upstream.conf" -g "pid $WORK/upstream.pid;" -s stop 2>/dev/null || true
  nginx -p "$WORK" -c "$BENCH/nginx/proxy.conf" -g "pid $WORK/proxy.pid;" -s stop 2>/dev/null || true
}
trap stop EXIT
nginx -p "$WORK" -c "$BENCH/nginx/upstream.conf" -g "daemon on; worker_processes 1; pid $WORK/upstream.pid;"
nginx -p "$WORK" -c "$BENCH/nginx/proxy.conf" -g "daemon on; pid $WORK/proxy.pid;"
# One event loop for the Reactor Netty floors: their client's pooled connection then lives on the
# loop that serves the client, as the service's per-loop clients do. With Reactor Netty's default
# (four loops, one shared pool) most calls wake another loop and are woken back, 40-60 us more.
java -Dreactor.netty.ioWorkerCount=1 -cp "$CP" "$HERE/ReactorNettyProxy.java" 18005 \
  >"$WORK/logs/reactor-netty.log" 2>&1 &
PIDS+=($!)
for floor in SpringWebFluxProxy:18007 SpringHttpHandlerProxy:18008 SpringRouteProviderProxy:18009; do
  java -Dreactor.netty.ioWorkerCount=1 -cp "$CP" "$HERE/${floor%%:*}.java" --server.port="${floor##*:}" \
    --management.server.port=0 >"$WORK/logs/${floor%%:*}.log" 2>&1 &
  PIDS+=($!)
done
java -cp "$CP" "$HERE/RawNettyProxy.java" 18006 >"$WORK/logs/raw-netty.log" 2>&1 &
PIDS+=($!)
env VLLM_URL=http://127.0.0.1:18000 SERVER_PORT=18003 TOKEN_LIMIT_STORE=memory \
  MAX_TOKENS_MINUTE=2000000000 MAX_TOKENS_HOUR=2000000000 MAX_TOKENS_DAY=2000000000 \
  MAX_CONCURRENT=1000 TOKENIZER_PATH="$ROOT/../shared/tokenizers/llama3/tokenizer.json" \
  java -jar "$JAR" >"$WORK/logs/service.log" 2>&1 &
PIDS+=($!)
BODY='{"model":"llama3.2-1b","messages":[{"role":"user","content":"Hello!"}],"max_tokens":100}'
for port in 18003 18007 18008 18009 18005 18006; do
  for _ in $(seq 60); do
    curl -s -o /dev/null -w '%{http_code}' -XPOST "localhost:$port/api/v1/chat/completions" \
      -H 'X-User-ID: u1' -H 'content-type: application/json' -d "$BODY" | grep -q 200 && break
    sleep 1
  done
done
url() { echo "http://127.0.0.1:$1/api/v1/chat/completions"; }
# The service's JIT needs longer than the others to settle.
wrk -t2 -c32 -d40s -s "$BENCH/post.lua" "$(url 18003)" >/dev/null
for port in 18003 18007 18008 18009 18005 18006 18001; do wrk -t2 -c32 -d20s -s "$BENCH/post.lua" "$(url $port)" >/dev/null; done
p50() { wrk -t1 -c1 -d3s --latency -s "$BENCH/post.lua" "$(url $1)" | awk '/^ +50%/{print $2}'; }
for _ in $(seq "$ROUNDS"); do
  for port in 18003 18007 18008 18009 18005 18006 18001 18000; do echo "$(p50 $port)" >>"$WORK/p50-$port"; done
done
python3 - "$WORK" <<'PY'
import re, statistics, sys
def micros(text):
    value, unit = re.match(r'([\d.]+)(\w+)', text).groups()
    return float(value) * {'us': 1, 'ms': 1000, 's': 1e6}[unit]
for port, name in (('18003', 'this service'), ('18007', 'Spring WebFlux'),
                   ('18008', 'Spring HttpHandler'), ('18009', 'Spring NettyRouteProvider'),
                   ('18005', 'bare Reactor Netty'), ('18006', 'raw Netty'),
                   ('18001', 'nginx-proxy'), ('18000', 'direct')):
    values = [micros(line.strip()) for line in open(f'{sys.argv[1]}/p50-{port}') if line.strip()]
    print(f'{name:26} p50 median {statistics.median(values):5.0f} µs  ({" ".join(f"{v:.0f}" for v in values)})')
PY
