#!/usr/bin/env bash
# Side by side: the same wrk load against MLflow's own AI Gateway
# (`mlflow gateway start`) and `towergate serve`, both given the same MLflow
# config file and the same mock OpenAI upstream. Prints p50, p99, requests/sec,
# memory and CPU for each, and the ratios towergate/mlflow.
#
# Usage (from anywhere): bash benches/mlflow_side_by_side/run.sh
# Settings (environment):
#   BENCH_THREADS=2  BENCH_CONNECTIONS=32  BENCH_DURATION=10 (seconds)
#   BENCH_WARMUP=3               seconds of unmeasured load before each run
#   BENCH_MLFLOW_WORKERS=2       gunicorn workers of the MLflow gateway (its default)
#   BENCH_GATEWAY_LOG=info       RUST_LOG for towergate (its log goes to a file)
#   BENCH_MOCK_LATENCY=0ms       the mock upstream's wait before each answer
#   BENCH_MLFLOW_SPEC='mlflow[gateway]>=3.17,<4'   what pip installs
#   BENCH_BUILD_TIMEOUT=1800     seconds allowed for each cargo build
#   BENCH_INSTALL_TIMEOUT=1800   seconds allowed for the pip install
set -euo pipefail

THREADS="${BENCH_THREADS:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
DURATION="${BENCH_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-3}"
MLFLOW_WORKERS="${BENCH_MLFLOW_WORKERS:-2}"
GATEWAY_LOG="${BENCH_GATEWAY_LOG:-info}"
MOCK_LATENCY="${BENCH_MOCK_LATENCY:-0ms}"
MLFLOW_SPEC="${BENCH_MLFLOW_SPEC:-mlflow[gateway]>=3.17,<4}"
BUILD_TIMEOUT="${BENCH_BUILD_TIMEOUT:-1800}"
INSTALL_TIMEOUT="${BENCH_INSTALL_TIMEOUT:-1800}"

die() {
  echo "mlflow side by side: error: $*" >&2
  exit 1
}

for setting in THREADS CONNECTIONS DURATION MLFLOW_WORKERS BUILD_TIMEOUT INSTALL_TIMEOUT; do
  [[ "${!setting}" =~ ^[1-9][0-9]*$ ]] || die "BENCH_$setting must be a positive integer, got '${!setting}'"
done
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a whole number of seconds, got '$WARMUP'"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

# Nothing leaves loopback: no proxies for local traffic, no MLflow telemetry.
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true

work="$(mktemp -d "${TMPDIR:-/tmp}/towergate-vs-mlflow.XXXXXX")"
pids=()   # processes to stop
groups=() # process groups to stop (MLflow: gunicorn and its workers)

# Stops every process and process group this script started (politely, then
# by force) and removes the temporary directory, however the script ends.
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local pid group
  for group in "${groups[@]}"; do
    kill -TERM -- "-$group" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for group in "${groups[@]}"; do
    for _ in $(seq 100); do
      kill -0 -- "-$group" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$group" 2>/dev/null || true
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

# --- tools, MLflow and binaries -------------------------------------------------

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk"
  export DEBIAN_FRONTEND=noninteractive
  if ! bounded 300 apt-get install -y wrk; then
    bounded 300 apt-get update
    bounded 300 apt-get install -y wrk
  fi
fi
command -v curl >/dev/null 2>&1 || die "curl is needed"
command -v setsid >/dev/null 2>&1 || die "setsid (util-linux) is needed"

venv="$here/.venv"
if [[ ! -x "$venv/bin/python" ]]; then
  echo "creating $venv"
  python3 -m venv "$venv" || die "cannot create a venv with python3"
fi
echo "installing $MLFLOW_SPEC and psutil into $venv"
install_started=$SECONDS
bounded "$INSTALL_TIMEOUT" "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "$MLFLOW_SPEC" psutil || die "pip install failed"
echo "  took $((SECONDS - install_started)) s"
mlflow_version="$("$venv/bin/python" -c 'import mlflow; print(mlflow.__version__)')" ||
  die "mlflow does not import"

echo "building towergate and towergate-mock-upstream (release)"
bounded "$BUILD_TIMEOUT" cargo build --release --quiet --bin towergate
bounded "$BUILD_TIMEOUT" cargo build --release --quiet -p towergate-testkit --bin towergate-mock-upstream
target="${CARGO_TARGET_DIR:-$root/target}/release"
[[ -x "$target/towergate" && -x "$target/towergate-mock-upstream" ]] || die "binaries not found in $target"

# --- processes ------------------------------------------------------------------

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
  >"$work/mock.out" 2>"$work/mock.err" &
mock_pid=$!
pids+=("$mock_pid")
for _ in $(seq 100); do
  grep -q '^listening on ' "$work/mock.out" && break
  kill -0 "$mock_pid" 2>/dev/null || die "the mock upstream exited: $(cat "$work/mock.err")"
  sleep 0.1
done
mock_addr="$(sed -n 's/^listening on //p' "$work/mock.out" | head -n 1)"
[[ "$mock_addr" =~ ^127\.0\.0\.1:[0-9]+$ ]] || die "the mock upstream did not report its address"

# One MLflow config file, read unchanged by both gateways.
cat >"$work/config.yaml" <<YAML
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
      config:
        openai_api_key: sk-bench-not-a-real-key
        openai_api_base: http://$mock_addr/v1
YAML

mlflow_port="$(free_port)" || die "no free loopback port"
# Its own session and process group, so the whole gunicorn tree can be
# stopped at once; its own HOME, for gunicorn's control socket.
mkdir -p "$work/mlflow-home"
HOME="$work/mlflow-home" setsid "$venv/bin/mlflow" gateway start --config-path "$work/config.yaml" \
  --host 127.0.0.1 --port "$mlflow_port" --workers "$MLFLOW_WORKERS" \
  >"$work/mlflow.out" 2>"$work/mlflow.log" </dev/null &
mlflow_pid=$!
groups+=("$mlflow_pid")
pids+=("$mlflow_pid")
for attempt in $(seq 50); do
  [[ "$(ps -o pgid= -p "$mlflow_pid" | tr -d ' ')" == "$mlflow_pid" ]] && break
  ((attempt < 50)) || die "the MLflow gateway did not get its own process group"
  sleep 0.1
done

towergate_port="$(free_port)" || die "no free loopback port"
while [[ "$towergate_port" == "$mlflow_port" ]]; do
  towergate_port="$(free_port)" || die "no free loopback port"
done
RUST_LOG="$GATEWAY_LOG" "$target/towergate" serve --config "$work/config.yaml" \
  --host 127.0.0.1 --port "$towergate_port" >"$work/towergate.out" 2>"$work/towergate.log" </dev/null &
towergate_pid=$!
pids+=("$towergate_pid")

declare -A addr=([mlflow]="127.0.0.1:$mlflow_port" [towergate]="127.0.0.1:$towergate_port")
declare -A pid_of=([mlflow]="$mlflow_pid" [towergate]="$towergate_pid")
declare -A log_of=([mlflow]="$work/mlflow.log" [towergate]="$work/towergate.log")

# wait_healthy NAME: waits (up to 120 s: MLflow imports a lot) for GET /health.
wait_healthy() {
  local name=$1 attempt
  for attempt in $(seq 1200); do
    curl --noproxy '*' -fsS --max-time 1 -o /dev/null "http://${addr[$name]}/health" 2>/dev/null && return 0
    kill -0 "${pid_of[$name]}" 2>/dev/null || die "$name exited: $(tail -n 30 "${log_of[$name]}")"
    ((attempt < 1200)) || die "$name did not answer GET /health within 120 s: $(tail -n 30 "${log_of[$name]}")"
    sleep 0.1
  done
}
wait_healthy mlflow
wait_healthy towergate

# --- one request to each, checked by content ---------------------------------------

body='{"messages":[{"role":"user","content":"hello"}]}'
for name in mlflow towergate; do
  status="$(curl --noproxy '*' -sS --max-time 30 -o "$work/probe" -w '%{http_code}' \
    -H 'content-type: application/json' --data "$body" \
    "http://${addr[$name]}/endpoints/chat/invocations")" || die "probe of $name failed"
  [[ "$status" == 200 ]] || die "probe of $name answered $status: $(cat "$work/probe")"
  grep -q '"echo: hello"' "$work/probe" || die "probe of $name lacks the reply: $(cat "$work/probe")"
done

# --- load -------------------------------------------------------------------------

declare -A p50 p99 rps mem cpu_us

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

# usage NAME: "RSS_MiB CPU_SECONDS" of NAME's whole process tree.
usage() {
  "$venv/bin/python" "$here/tree_usage.py" "${pid_of[$1]}" || die "cannot read the usage of $1"
}

# wrk_checked OUT SECONDS URL: runs wrk, fails (printing its output) on any
# socket error, non-2xx answer or no completed request.
wrk_checked() {
  local out=$1 seconds=$2 url=$3
  if ! bounded $((seconds + 60)) wrk -t "$THREADS" -c "$CONNECTIONS" -d "${seconds}s" \
    --timeout 10s --latency -s "$here/chat.lua" "$url" >"$out" 2>&1; then
    cat "$out" >&2
    die "wrk failed against $url"
  fi
  local problem=""
  grep -q 'Socket errors:' "$out" && problem="socket errors"
  grep -q 'Non-2xx or 3xx responses:' "$out" && problem="${problem:+$problem and }non-2xx responses"
  grep -Eq '^ +[1-9][0-9]* requests in ' "$out" || problem="${problem:+$problem and }no completed requests"
  if [[ -n "$problem" ]]; then
    cat "$out" >&2
    die "$url: $problem"
  fi
}

# run_wrk NAME: warms NAME up, then loads it and records p50, p99, req/s,
# memory after the load and CPU time per request during it.
run_wrk() {
  local name=$1 out="$work/wrk-$1.txt"
  local url="http://${addr[$name]}/endpoints/chat/invocations"
  if ((WARMUP > 0)); then
    echo "warming up $name: ${WARMUP}s"
    wrk_checked "$work/warmup-$name.txt" "$WARMUP" "$url"
  fi
  echo "running $name: ${THREADS} threads, ${CONNECTIONS} connections, ${DURATION}s"
  local before after
  before="$(usage "$name")"
  wrk_checked "$out" "$DURATION" "$url"
  after="$(usage "$name")"
  local v50 v99 vrps count
  v50="$(awk '$1 == "50%" { print $2 }' "$out")"
  v99="$(awk '$1 == "99%" { print $2 }' "$out")"
  vrps="$(awk '$1 == "Requests/sec:" { print $2 }' "$out")"
  count="$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$out")"
  if [[ -z "$v50" || -z "$v99" || -z "$vrps" || -z "$count" ]]; then
    cat "$out" >&2
    die "$name: cannot read p50, p99, Requests/sec or the request count from wrk's output"
  fi
  p50[$name]="$(to_ms "$v50")"
  p99[$name]="$(to_ms "$v99")"
  rps[$name]="$vrps"
  mem[$name]="$(awk '{ print $1 }' <<<"$after")"
  cpu_us[$name]="$(awk -v b="${before#* }" -v a="${after#* }" -v n="$count" \
    'BEGIN { printf "%.0f", (a - b) * 1000000 / n }')"
}

run_wrk mlflow
run_wrk towergate

for name in mlflow towergate; do
  kill -0 "${pid_of[$name]}" 2>/dev/null || die "$name exited during the bench: $(tail -n 30 "${log_of[$name]}")"
done

# --- report -------------------------------------------------------------------------

ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2fx", a / b }'
}

echo
echo "towergate vs MLflow AI Gateway $mlflow_version (${MLFLOW_WORKERS} gunicorn workers):" \
  "POST /endpoints/chat/invocations, ${THREADS} threads, ${CONNECTIONS} connections, ${DURATION}s per run" \
  "after ${WARMUP}s warm-up, $(nproc) cores, towergate RUST_LOG=$GATEWAY_LOG, mock latency $MOCK_LATENCY"
row() {
  printf '%-16s %10s %10s %12s %10s %12s\n' "$@"
}
row "gateway" "p50 (ms)" "p99 (ms)" "req/s" "RSS (MiB)" "CPU us/req"
for name in mlflow towergate; do
  row "$name" "${p50[$name]}" "${p99[$name]}" "${rps[$name]}" "${mem[$name]}" "${cpu_us[$name]}"
done
row "towergate/mlflow" \
  "$(ratio "${p50[towergate]}" "${p50[mlflow]}")" "$(ratio "${p99[towergate]}" "${p99[mlflow]}")" \
  "$(ratio "${rps[towergate]}" "${rps[mlflow]}")" "$(ratio "${mem[towergate]}" "${mem[mlflow]}")" \
  "$(ratio "${cpu_us[towergate]}" "${cpu_us[mlflow]}")"
