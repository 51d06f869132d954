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

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib.sh
source "$here/../lib.sh"
bench_init "mlflow side by side" towergate-vs-mlflow
require_positive_integers THREADS CONNECTIONS DURATION MLFLOW_WORKERS BUILD_TIMEOUT INSTALL_TIMEOUT
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a whole number of seconds, got '$WARMUP'"

# No MLflow telemetry (bench_init already keeps local traffic off proxies).
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true

# --- tools, MLflow and binaries -------------------------------------------------

require_wrk_and_curl
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

build_release_binaries "$BUILD_TIMEOUT"

# --- processes ------------------------------------------------------------------

start_mock_upstream --latency "$MOCK_LATENCY"

# One MLflow config file, read unchanged by both gateways.
write_chat_config "$work/config.yaml"

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

towergate_port="$(free_port "$mlflow_port")" || die "no free loopback port"
start_towergate "$work/config.yaml" "$towergate_port" "$GATEWAY_LOG"

declare -A addr=([mlflow]="127.0.0.1:$mlflow_port" [towergate]="127.0.0.1:$towergate_port")
declare -A pid_of=([mlflow]="$mlflow_pid" [towergate]="$towergate_pid")
declare -A log_of=([mlflow]="$work/mlflow.log" [towergate]="$work/towergate.log")

# Up to 120 s each: MLflow imports a lot.
for name in mlflow towergate; do
  wait_healthy "$name" "${addr[$name]}" "${pid_of[$name]}" "${log_of[$name]}" 120
done

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

# usage NAME: "RSS_MiB CPU_SECONDS" of NAME's whole process tree.
usage() {
  "$venv/bin/python" "$here/tree_usage.py" "${pid_of[$1]}" || die "cannot read the usage of $1"
}

# run_wrk NAME: warms NAME up, then loads it and records p50, p99, req/s,
# memory after the load and CPU time per request during it.
run_wrk() {
  local name=$1 out="$work/wrk-$1.txt"
  local url="http://${addr[$name]}/endpoints/chat/invocations"
  if ((WARMUP > 0)); then
    echo "warming up $name: ${WARMUP}s"
    wrk_checked "$url" "$work/warmup-$name.txt" "$WARMUP" "$url" --timeout 10s -s "$here/chat.lua"
  fi
  echo "running $name: ${THREADS} threads, ${CONNECTIONS} connections, ${DURATION}s"
  local before after
  before="$(usage "$name")"
  wrk_checked "$url" "$out" "$DURATION" "$url" --timeout 10s -s "$here/chat.lua"
  after="$(usage "$name")"
  read_wrk "$name" "$out"
  p50[$name]="$wrk_p50"
  p99[$name]="$wrk_p99"
  rps[$name]="$wrk_rps"
  mem[$name]="$(awk '{ print $1 }' <<<"$after")"
  cpu_us[$name]="$(awk -v b="${before#* }" -v a="${after#* }" -v n="$wrk_requests" \
    'BEGIN { printf "%.0f", (a - b) * 1000000 / n }')"
}

run_wrk mlflow
run_wrk towergate

for name in mlflow towergate; do
  kill -0 "${pid_of[$name]}" 2>/dev/null || die "$name exited during the bench: $(tail -n 30 "${log_of[$name]}")"
done

# --- report -------------------------------------------------------------------------

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
