#!/usr/bin/env bash
# End-to-end load bench: the same wrk load against the mock upstream directly
# and through `towergate serve`, for complete and streamed chat completions,
# and through an endpoint that caches its answers (every request after the
# first is a hit). Prints p50, p99 and requests/sec for each, and
# towergate/direct ratios.
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
write_chat_config "$work/gateway.yaml" cached
start_towergate "$work/gateway.yaml" "$gateway_port" "$GATEWAY_LOG"
gateway_addr="127.0.0.1:$gateway_port"
wait_healthy towergate "$gateway_addr" "$towergate_pid" "$work/towergate.log" 30

# --- one request of each kind, checked by content ---------------------------------

# body MODEL STREAM: a small chat completion for MODEL.
body() {
  printf '{"model":"%s","messages":[{"role":"user","content":"Say hello."}],"stream":%s}' "$1" "$2"
}

# probe ADDR MODEL STREAM [BODY]: POSTs BODY (by default `body MODEL STREAM`)
# to ADDR's /v1/chat/completions, the answer in $work/probe and its headers
# in $work/probe.headers; fails unless it is a 200 with the mock's reply
# (and, for a stream, its data: [DONE]).
probe() {
  local addr=$1 model=$2 stream=$3 data=${4:-} status what
  [[ -n "$data" ]] || data="$(body "$model" "$stream")"
  what="probe of $addr (model: $model, stream: $stream)"
  status="$(curl --noproxy '*' -sS --max-time 10 -o "$work/probe" -D "$work/probe.headers" \
    -w '%{http_code}' -H 'content-type: application/json' --data "$data" \
    "http://$addr/v1/chat/completions")" || die "$what failed"
  [[ "$status" == 200 ]] || die "$what answered $status: $(cat "$work/probe")"
  grep -q 'echo:' "$work/probe" || die "$what lacks the reply: $(cat "$work/probe")"
  if [[ "$stream" == true ]]; then
    grep -q '^data: \[DONE\]' "$work/probe" || die "$what lacks data: [DONE]: $(cat "$work/probe")"
  fi
  return 0
}

# expect_cache VERDICT WHAT: the last probe's x-towergate-cache must be VERDICT.
expect_cache() {
  local got
  got="$(tr -d '\r' <"$work/probe.headers" | awk -F': *' 'tolower($1) == "x-towergate-cache" { print $2 }')"
  [[ "$got" == "$1" ]] || die "$2 answered x-towergate-cache: '${got}', expected '$1'"
}

for addr in "$mock_addr" "$gateway_addr"; do
  for stream in false true; do
    probe "$addr" chat "$stream"
  done
done

# The cached endpoint: the first probe stores its answer; a second one, complete
# or streamed, is answered from the cache.
probe "$gateway_addr" cached false
expect_cache miss "the first probe of the cached endpoint"
for stream in false true; do
  probe "$gateway_addr" cached "$stream"
  expect_cache hit "a second probe of the cached endpoint (stream: $stream)"
done

# The loads' request to the cached endpoint (chat.lua's body; the cache key
# ignores field order, spacing and `stream`), sent once so that the cached
# loads measure hits only: wrk's latency correction would otherwise spread
# the first request's miss (the mock's whole latency) over their p99.
load_body='{"model":"cached","messages":[{"role":"system","content":"You are terse."},'
load_body+='{"role":"user","content":"Say hello to the load bench in a few words."}],'
load_body+='"max_tokens":32,"stream":false}'
probe "$gateway_addr" cached false "$load_body"
expect_cache miss "chat.lua's request to the cached endpoint, before the loads,"

# --- load -----------------------------------------------------------------------

declare -A p50 p99 rps

# run_wrk KEY ADDR MODEL STREAM: loads ADDR's /v1/chat/completions with
# chat.lua's request for MODEL and records p50, p99 and req/s under KEY;
# fails on any error or non-2xx answer.
run_wrk() {
  local key=$1 addr=$2 model=$3 stream=$4 out="$work/wrk-$1.txt"
  echo "running $key: ${THREADS} threads, ${CONNECTIONS} connections, ${DURATION}s"
  BENCH_STREAM="$stream" BENCH_MODEL="$model" wrk_checked "$key" "$out" "$DURATION" \
    "http://$addr/v1/chat/completions" --timeout 5s -s "$here/chat.lua"
  read_wrk "$key" "$out"
  p50[$key]="$wrk_p50"
  p99[$key]="$wrk_p99"
  rps[$key]="$wrk_rps"
}

for mode in chat stream; do
  stream=0
  [[ "$mode" == stream ]] && stream=1
  run_wrk "$mode-direct" "$mock_addr" chat "$stream"
  run_wrk "$mode-towergate" "$gateway_addr" chat "$stream"
  # Same request to the cached endpoint, stored above: every request a hit.
  run_wrk "$mode-cached" "$gateway_addr" cached "$stream"
done

kill -0 "$towergate_pid" 2>/dev/null || die "towergate exited during the bench: $(tail -n 20 "$work/towergate.log")"

# Still stored after the loads: the cached rows measured hits.
probe "$gateway_addr" cached false "$load_body"
expect_cache hit "chat.lua's request to the cached endpoint, after the loads,"

# --- report ---------------------------------------------------------------------

echo
echo "towergate load bench: ${THREADS} threads, ${CONNECTIONS} connections, ${DURATION}s per run," \
  "$(nproc) cores, gateway RUST_LOG=$GATEWAY_LOG, mock latency $MOCK_LATENCY"
row() {
  printf '%-14s %-16s %10s %10s %12s\n' "$@"
}
# ratio_row REQUEST KEY DIRECT: KEY's p50, p99 and req/s over DIRECT's.
ratio_row() {
  row "$1" "towergate/direct" "$(ratio "${p50[$2]}" "${p50[$3]}")" \
    "$(ratio "${p99[$2]}" "${p99[$3]}")" "$(ratio "${rps[$2]}" "${rps[$3]}")"
}
row "request" "target" "p50 (ms)" "p99 (ms)" "req/s"
for mode in chat stream; do
  d="$mode-direct" t="$mode-towergate" c="$mode-cached"
  cached_request=cached
  [[ "$mode" == stream ]] && cached_request=cached-stream
  row "$mode" "direct" "${p50[$d]}" "${p99[$d]}" "${rps[$d]}"
  row "$mode" "towergate" "${p50[$t]}" "${p99[$t]}" "${rps[$t]}"
  ratio_row "$mode" "$t" "$d"
  row "$cached_request" "towergate" "${p50[$c]}" "${p99[$c]}" "${rps[$c]}"
  ratio_row "$cached_request" "$c" "$d"
done
echo
echo "cached, cached-stream: the same request to an endpoint with cache: {ttl: 10m}, stored by" \
  "one request beforehand, so every request is a hit answered from the gateway's memory without" \
  "an upstream call (streams: the stored complete answer, cut into chunks); ratios against the" \
  "same direct runs."
if [[ "$MOCK_LATENCY" =~ ^0+(ns|us|ms|s)?$ ]]; then
  echo "The mock answers at once, so the cached ratios are the gateway's own cost of a hit."
else
  echo "A hit skips the mock's $MOCK_LATENCY wait, so the cached rows can beat the direct ones."
fi
