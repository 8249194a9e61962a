# Shared by the benchmark scripts (sourced, not run): arguments, the test classpath, the fake
# vLLM, the service and wrk runs. Loopback only; every process started here is stopped on exit.
#   usage in a script: source "$(dirname "$0")/common.sh" "$@"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DURATION="${1:-15}"
CONNECTIONS="${2:-32}"
THREADS=2
PORT="${BENCH_PORT:-18080}"
REDIS_PORT="${BENCH_REDIS_PORT:-16399}"
OUT="$(mktemp -d)"
# BENCH_BUILD_DIR: a build directory of its own, beside other builds of the same tree.
BUILD_DIR="${BENCH_BUILD_DIR:-target}"

./mvnw -q -B -o -Djacoco.skip=true -DbuildDir="$BUILD_DIR" test-compile
./mvnw -q -B -o -DbuildDir="$BUILD_DIR" dependency:build-classpath \
  -Dmdep.outputFile="$OUT/cp.txt" >/dev/null
CP="$BUILD_DIR/classes:$BUILD_DIR/test-classes:$(cat "$OUT/cp.txt")"

cleanup() {
  [[ -n "${SERVICE_PID:-}" ]] && kill "$SERVICE_PID" 2>/dev/null || true
  [[ -n "${FAKE_PID:-}" ]] && kill "$FAKE_PID" 2>/dev/null || true
  [[ -n "${REDIS_PID:-}" ]] && kill "$REDIS_PID" 2>/dev/null || true
}
trap cleanup EXIT

start_fake() { # the fake vLLM of the tests, answering at once with 16 tokens; sets FAKE_URL
  : >"$OUT/fake.log"
  java -Xmx512m -cp "$CP" io.simpletokenlimiter.testing.vllm.FakeVllmServer 16 \
    >"$OUT/fake.log" 2>&1 &
  FAKE_PID=$!
  for _ in $(seq 50); do grep -q '^http' "$OUT/fake.log" && break; sleep 0.2; done
  FAKE_URL="$(grep -m1 '^http' "$OUT/fake.log")"
}

start_service() { # store: memory or redis; sets SERVICE_PID once it answers
  # Limits high enough that the benchmark measures the service, not 429s.
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
}

run() { # name url script
  echo "== $1 ($CONNECTIONS connections, ${DURATION}s)"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION"s --latency -s "$3" "$2" | tee "$OUT/wrk.txt" \
    | grep -E 'Requests/sec|^ +(50|90|99)%|Non-2xx|Socket errors|requests in'
}
