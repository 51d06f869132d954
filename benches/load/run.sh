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

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib.sh
source "$here/../lib.sh"
bench_init "load bench" towergate-load
require_positive_integers THREADS CONNECTIONS DURATION BUILD_TIMEOUT

# --- tools and binaries -------------------------------------------------------

require_wrk_and_curl
build_release_binaries "$BUILD_TIMEOUT"

# --- processes ----------------------------------------------------------------

start_mock_upstream --latency "$MOCK_LATENCY" --chunk-interval "$MOCK_CHUNK_INTERVAL"

gateway_port="$(free_port)" || die "no free loopback port"
write_chat_config "$work/gateway.yaml"
start_towergate "$work/gateway.yaml" "$gateway_port" "$GATEWAY_LOG"
gateway_addr="127.0.0.1:$gateway_port"
wait_healthy towergate "$gateway_addr" "$towergate_pid" "$work/towergate.log" 30

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

# run_wrk KEY ADDR STREAM: loads ADDR's /v1/chat/completions and records
# p50, p99 and req/s under KEY; fails on any error or non-2xx answer.
run_wrk() {
  local key=$1 addr=$2 stream=$3 out="$work/wrk-$1.txt"
  echo "running $key: ${THREADS} threads, ${CONNECTIONS} connections, ${DURATION}s"
  BENCH_STREAM="$stream" BENCH_MODEL=chat wrk_checked "$key" "$out" "$DURATION" \
    "http://$addr/v1/chat/completions" --timeout 5s -s "$here/chat.lua"
  read_wrk "$key" "$out"
  p50[$key]="$wrk_p50"
  p99[$key]="$wrk_p99"
  rps[$key]="$wrk_rps"
}

for mode in chat stream; do
  stream=0
  [[ "$mode" == stream ]] && stream=1
  run_wrk "$mode-direct" "$mock_addr" "$stream"
  run_wrk "$mode-towergate" "$gateway_addr" "$stream"
done

kill -0 "$towergate_pid" 2>/dev/null || die "towergate exited during the bench: $(tail -n 20 "$work/towergate.log")"

# --- report ---------------------------------------------------------------------

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
