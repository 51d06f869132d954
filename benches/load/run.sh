#!/usr/bin/env bash
# End-to-end load bench: the same wrk load against the mock upstream directly
# and through `towergate serve`, for complete and streamed chat completions.
# Prints p50, p99 and requests/sec for each, and towergate/direct ratios.
#
# Usage (from the repository root): bash benches/load/run.sh
# Settings (environment):
#   BENCH_THREADS=2  BENCH_CONNECTIONS=32  BENCH_DURATION=10 (seconds)
#   BENCH_GATEWAY_LOG=info       RUST_LOG for the gateway (its log goes to a file)
#   BENCH_MOCK_LATENCY=0ms       the mock upstream's wait before each answer
#   BENCH_MOCK_CHUNK_INTERVAL=0ms  the mock upstream's wait between streamed events
#   BENCH_BUILD_TIMEOUT=1800     seconds allowed for each cargo build
set -euo pipefail

THREADS="${BENCH_THREADS:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
DURATION="${BENCH_DURATION:-10}"
GATEWAY_LOG="${BENCH_GATEWAY_LOG:-info}"
MOCK_LATENCY="${BENCH_MOCK_LATENCY:-0ms}"
MOCK_CHUNK_INTERVAL="${BENCH_MOCK_CHUNK_INTERVAL:-0ms}"
BUILD_TIMEOUT="${BENCH_BUILD_TIMEOUT:-1800}"

die() {
  echo "load bench: error: $*" >&2
  exit 1
}

for setting in THREADS CONNECTIONS DURATION BUILD_TIMEOUT; do
  [[ "${!setting}" =~ ^[1-9][0-9]*$ ]] || die "BENCH_$setting must be a positive integer, got '${!setting}'"
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

work="$(mktemp -d "${TMPDIR:-/tmp}/towergate-load.XXXXXX")"
pids=()

# Stops every process this script started (politely, then by force) and
# removes the temporary directory, however the script ends.
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a command in the background, killed after $1 seconds, and waits for
# it; the script's traps still fire while it runs.
bounded() {
  local seconds=$1
  shift
  timeout "$seconds" "$@" &
  local pid=$! status=0
  pids+=("$pid")
  wait "$pid" || status=$?
  unset 'pids[-1]'
  return "$status"
}

# --- tools and binaries -------------------------------------------------------

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk"
  export DEBIAN_FRONTEND=noninteractive
  if ! bounded 300 apt-get install -y wrk; then
    bounded 300 apt-get update
    bounded 300 apt-get install -y wrk
  fi
fi
command -v curl >/dev/null 2>&1 || die "curl is needed"

echo "building towergate and towergate-mock-upstream (release)"
bounded "$BUILD_TIMEOUT" cargo build --release --quiet --bin towergate
bounded "$BUILD_TIMEOUT" cargo build --release --quiet -p towergate-testkit --bin towergate-mock-upstream
target="${CARGO_TARGET_DIR:-$root/target}/release"
[[ -x "$target/towergate" && -x "$target/towergate-mock-upstream" ]] || die "binaries not found in $target"

# --- processes ----------------------------------------------------------------

# A loopback port nothing answers on.
free_port() {
  local port
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

"$target/towergate-mock-upstream" --port 0 --latency "$MOCK_LATENCY" \
  --chunk-interval "$MOCK_CHUNK_INTERVAL" >"$work/mock.out" 2>"$work/mock.err" &
mock_pid=$!
pids+=("$mock_pid")
for _ in $(seq 100); do
  grep -q '^listening on ' "$work/mock.out" && break
  kill -0 "$mock_pid" 2>/dev/null || die "the mock upstream exited: $(cat "$work/mock.err")"
  sleep 0.1
done
mock_addr="$(sed -n 's/^listening on //p' "$work/mock.out" | head -n 1)"
[[ "$mock_addr" =~ ^127\.0\.0\.1:[0-9]+$ ]] || die "the mock upstream did not report its address"

gateway_port="$(free_port)" || die "no free loopback port"
cat >"$work/gateway.yaml" <<YAML
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
      config:
        openai_api_key: sk-bench
        openai_api_base: http://$mock_addr/v1
server:
  host: 127.0.0.1
  port: $gateway_port
YAML

RUST_LOG="$GATEWAY_LOG" NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost" \
  "$target/towergate" serve --config "$work/gateway.yaml" --host 127.0.0.1 --port "$gateway_port" \
  >"$work/gateway.out" 2>"$work/gateway.log" &
gateway_pid=$!
pids+=("$gateway_pid")
gateway_addr="127.0.0.1:$gateway_port"
for attempt in $(seq 300); do
  curl --noproxy '*' -fsS --max-time 1 -o /dev/null "http://$gateway_addr/health" 2>/dev/null && break
  kill -0 "$gateway_pid" 2>/dev/null || die "towergate exited: $(tail -n 20 "$work/gateway.log")"
  ((attempt < 300)) || die "towergate did not answer GET /health within 30 s: $(tail -n 20 "$work/gateway.log")"
  sleep 0.1
done

# --- one request of each kind, checked by content ---------------------------------

body() {
  printf '{"model":"chat","messages":[{"role":"user","content":"Say hello."}],"stream":%s}' "$1"
}

for addr in "$mock_addr" "$gateway_addr"; do
  for stream in false true; do
    status="$(curl --noproxy '*' -sS --max-time 10 -o "$work/probe" -w '%{http_code}' \
      -H 'content-type: application/json' --data "$(body "$stream")" \
      "http://$addr/v1/chat/completions")" || die "probe of $addr failed"
    [[ "$status" == 200 ]] || die "probe of $addr (stream: $stream) answered $status: $(cat "$work/probe")"
    grep -q 'echo:' "$work/probe" || die "probe of $addr (stream: $stream) lacks the reply: $(cat "$work/probe")"
    if [[ "$stream" == true ]]; then
      grep -q '^data: \[DONE\]' "$work/probe" || die "stream from $addr lacks data: [DONE]: $(cat "$work/probe")"
    fi
  done
done

# --- load -----------------------------------------------------------------------

declare -A p50 p99 rps

# wrk's latency ("812.00us", "1.20ms", "2.00s", "1.00m") in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000
    else if (v ~ /ms$/) n = n
    else if (v ~ /s$/) n *= 1000
    else if (v ~ /m$/) n *= 60000
    else if (v ~ /h$/) n *= 3600000
    printf "%.3f", n
  }'
}

# run_wrk KEY ADDR STREAM: loads ADDR's /v1/chat/completions and records
# p50, p99 and req/s under KEY; fails on any error or non-2xx answer.
run_wrk() {
  local key=$1 addr=$2 stream=$3 out="$work/wrk-$1.txt"
  echo "running $key: ${THREADS} threads, ${CONNECTIONS} connections, ${DURATION}s"
  if ! BENCH_STREAM="$stream" BENCH_MODEL=chat bounded $((DURATION + 60)) \
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --timeout 5s --latency \
    -s "$here/chat.lua" "http://$addr/v1/chat/completions" >"$out" 2>&1; then
    cat "$out" >&2
    die "wrk failed for $key"
  fi
  local problem=""
  grep -q 'Socket errors:' "$out" && problem="socket errors"
  grep -q 'Non-2xx or 3xx responses:' "$out" && problem="${problem:+$problem and }non-2xx responses"
  grep -Eq '^ +[1-9][0-9]* requests in ' "$out" || problem="${problem:+$problem and }no completed requests"
  if [[ -n "$problem" ]]; then
    cat "$out" >&2
    die "$key: $problem"
  fi
  local v50 v99 vrps
  v50="$(awk '$1 == "50%" { print $2 }' "$out")"
  v99="$(awk '$1 == "99%" { print $2 }' "$out")"
  vrps="$(awk '$1 == "Requests/sec:" { print $2 }' "$out")"
  if [[ -z "$v50" || -z "$v99" || -z "$vrps" ]]; then
    cat "$out" >&2
    die "$key: cannot read p50, p99 or Requests/sec from wrk's output"
  fi
  p50[$key]="$(to_ms "$v50")"
  p99[$key]="$(to_ms "$v99")"
  rps[$key]="$vrps"
}

for mode in chat stream; do
  stream=0
  [[ "$mode" == stream ]] && stream=1
  run_wrk "$mode-direct" "$mock_addr" "$stream"
  run_wrk "$mode-towergate" "$gateway_addr" "$stream"
done

kill -0 "$gateway_pid" 2>/dev/null || die "towergate exited during the bench: $(tail -n 20 "$work/gateway.log")"

# --- report ---------------------------------------------------------------------

ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2fx", a / b }'
}

echo
echo "towergate load bench: ${THREADS} threads, ${CONNECTIONS} connections, ${DURATION}s per run," \
  "$(nproc) cores, gateway RUST_LOG=$GATEWAY_LOG, mock latency $MOCK_LATENCY"
printf '%-8s %-16s %10s %10s %12s\n' "request" "target" "p50 (ms)" "p99 (ms)" "req/s"
for mode in chat stream; do
  d="$mode-direct" t="$mode-towergate"
  printf '%-8s %-16s %10s %10s %12s\n' "$mode" "direct" "${p50[$d]}" "${p99[$d]}" "${rps[$d]}"
  printf '%-8s %-16s %10s %10s %12s\n' "$mode" "towergate" "${p50[$t]}" "${p99[$t]}" "${rps[$t]}"
  printf '%-8s %-16s %10s %10s %12s\n' "$mode" "towergate/direct" \
    "$(ratio "${p50[$t]}" "${p50[$d]}")" "$(ratio "${p99[$t]}" "${p99[$d]}")" \
    "$(ratio "${rps[$t]}" "${rps[$d]}")"
done
