# Shared by the end-to-end benches (benches/*/run.sh), which source it after
# `set -euo pipefail`: setup and cleanup, bounded commands, wrk and the
# release binaries, free loopback ports, the mock upstream, a towergate
# serving an MLflow config, health waits, and reading wrk's output.
# Everything stays on 127.0.0.1.

bench_lib_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# die MESSAGE...: prints the error, prefixed by the bench's name, and exits 1.
die() {
  echo "${bench_name:-bench}: error: $*" >&2
  exit 1
}

# bench_init NAME TMP_PREFIX: names the bench in its errors, moves to the
# repository root ($root), keeps local traffic off proxies, makes the
# temporary directory $work and stops whatever the bench starts (listed in
# $pids, or as process groups in $groups) however the script ends.
bench_init() {
  bench_name=$1
  root="$(cd "$bench_lib_dir/.." && pwd)"
  cd "$root"
  export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"
  work="$(mktemp -d "${TMPDIR:-/tmp}/$2.XXXXXX")"
  pids=()   # processes to stop
  groups=() # process groups to stop
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# Stops every process and process group the bench started (politely, then
# by force) and removes the temporary directory.
bench_cleanup() {
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

# require_positive_integers SETTING...: each SETTING (a variable set from
# BENCH_SETTING) must be a positive integer.
require_positive_integers() {
  local setting
  for setting in "$@"; do
    [[ "${!setting}" =~ ^[1-9][0-9]*$ ]] || die "BENCH_$setting must be a positive integer, got '${!setting}'"
  done
}

# bounded SECONDS COMMAND...: runs COMMAND in the background, killed after
# SECONDS, and waits for it; the script's traps still fire while it runs.
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

# Installs wrk with apt-get if it is missing; curl must be there.
require_wrk_and_curl() {
  if ! command -v wrk >/dev/null 2>&1; then
    echo "installing wrk"
    export DEBIAN_FRONTEND=noninteractive
    if ! bounded 300 apt-get install -y wrk; then
      bounded 300 apt-get update
      bounded 300 apt-get install -y wrk
    fi
  fi
  command -v curl >/dev/null 2>&1 || die "curl is needed"
}

# build_release_binaries SECONDS: builds towergate and the mock upstream
# with --release, each build bounded by SECONDS, and sets $target to
# their directory.
build_release_binaries() {
  echo "building towergate and towergate-mock-upstream (release)"
  bounded "$1" cargo build --release --quiet -p towergate-cli --no-default-features --bin towergate
  bounded "$1" cargo build --release --quiet -p towergate-testkit --bin towergate-mock-upstream
  target="${CARGO_TARGET_DIR:-$root/target}/release"
  [[ -x "$target/towergate" && -x "$target/towergate-mock-upstream" ]] || die "binaries not found in $target"
}

# free_port [TAKEN...]: prints a loopback port nothing answers on, none of TAKEN.
free_port() {
  local port
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 30000))
    case " $* " in *" $port "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

# start_mock_upstream [ARGS...]: starts towergate-mock-upstream on a free
# loopback port with ARGS and sets $mock_pid and $mock_addr (127.0.0.1:PORT).
start_mock_upstream() {
  "$target/towergate-mock-upstream" --port 0 "$@" >"$work/mock.out" 2>"$work/mock.err" &
  mock_pid=$!
  pids+=("$mock_pid")
  for _ in $(seq 100); do
    grep -q '^listening on ' "$work/mock.out" && break
    kill -0 "$mock_pid" 2>/dev/null || die "the mock upstream exited: $(cat "$work/mock.err")"
    sleep 0.1
  done
  mock_addr="$(sed -n 's/^listening on //p' "$work/mock.out" | head -n 1)"
  [[ "$mock_addr" =~ ^127\.0\.0\.1:[0-9]+$ ]] || die "the mock upstream did not report its address"
}

# write_chat_config FILE [CACHED]: an MLflow gateway config with one
# endpoint, `chat` (llm/v1/chat, openai), on the mock upstream. Given CACHED,
# it adds an endpoint of that name, the same as `chat` but caching answers
# for 10 minutes (`cache: {ttl: 10m}`, the process's memory store).
write_chat_config() {
  local file=$1 cached=${2:-}
  echo "endpoints:" >"$file"
  chat_endpoint chat >>"$file"
  [[ -n "$cached" ]] || return 0
  chat_endpoint "$cached" >>"$file"
  printf '    cache:\n      ttl: 10m\n' >>"$file"
}

# chat_endpoint NAME: one llm/v1/chat endpoint on the mock upstream, as YAML.
chat_endpoint() {
  cat <<YAML
  - name: $1
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
      config:
        openai_api_key: sk-bench-not-a-real-key
        openai_api_base: http://$mock_addr/v1
YAML
}

# start_towergate CONFIG PORT RUST_LOG: runs `towergate serve` on
# 127.0.0.1:PORT, its log in $work/towergate.log, and sets $towergate_pid.
start_towergate() {
  RUST_LOG="$3" "$target/towergate" serve --config "$1" --host 127.0.0.1 --port "$2" \
    >"$work/towergate.out" 2>"$work/towergate.log" </dev/null &
  towergate_pid=$!
  pids+=("$towergate_pid")
}

# wait_healthy NAME ADDR PID LOG SECONDS: waits up to SECONDS for GET /health
# at ADDR; fails, with the end of LOG, if it does not come or PID exits.
wait_healthy() {
  local name=$1 addr=$2 pid=$3 log=$4 seconds=$5 attempt
  local attempts=$((seconds * 10))
  for attempt in $(seq "$attempts"); do
    curl --noproxy '*' -fsS --max-time 1 -o /dev/null "http://$addr/health" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || die "$name exited: $(tail -n 30 "$log")"
    ((attempt < attempts)) || die "$name did not answer GET /health within $seconds s: $(tail -n 30 "$log")"
    sleep 0.1
  done
}

# wrk_checked LABEL OUT SECONDS URL WRK_OPTION...: runs wrk against URL with
# $THREADS threads and $CONNECTIONS connections for SECONDS, its output in
# OUT; fails (printing that output) on any socket error, non-2xx answer or
# no completed request.
wrk_checked() {
  local label=$1 out=$2 seconds=$3 url=$4
  shift 4
  if ! bounded $((seconds + 60)) wrk -t "$THREADS" -c "$CONNECTIONS" -d "${seconds}s" \
    --latency "$@" "$url" >"$out" 2>&1; then
    cat "$out" >&2
    die "wrk failed for $label"
  fi
  local problem=""
  grep -q 'Socket errors:' "$out" && problem="socket errors"
  grep -q 'Non-2xx or 3xx responses:' "$out" && problem="${problem:+$problem and }non-2xx responses"
  grep -Eq '^ +[1-9][0-9]* requests in ' "$out" || problem="${problem:+$problem and }no completed requests"
  if [[ -n "$problem" ]]; then
    cat "$out" >&2
    die "$label: $problem"
  fi
}

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

# read_wrk LABEL OUT: sets $wrk_p50 and $wrk_p99 (ms), $wrk_rps and
# $wrk_requests from wrk's output in OUT.
read_wrk() {
  local label=$1 out=$2 v50 v99
  v50="$(awk '$1 == "50%" { print $2 }' "$out")"
  v99="$(awk '$1 == "99%" { print $2 }' "$out")"
  wrk_rps="$(awk '$1 == "Requests/sec:" { print $2 }' "$out")"
  wrk_requests="$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$out")"
  if [[ -z "$v50" || -z "$v99" || -z "$wrk_rps" || -z "$wrk_requests" ]]; then
    cat "$out" >&2
    die "$label: cannot read p50, p99, Requests/sec or the request count from wrk's output"
  fi
  wrk_p50="$(to_ms "$v50")"
  wrk_p99="$(to_ms "$v99")"
}

# ratio A B: A/B as "1.23x", or "n/a" when B is 0.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2fx", a / b }'
}
