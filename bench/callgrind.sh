#!/usr/bin/env bash
# Instructions per request of the gateway (callgrind): deterministic where bench/run.sh's CPU times
# are not, so it shows what a change saves on a busy machine. Starts the benchmark upstream (nginx,
# bench/nginx-upstream.conf.in) and the gateway of bench/gateway.yaml.in under valgrind's callgrind,
# sends CALLGRIND_WARMUP requests, zeroes the counters, sends CALLGRIND_REQUESTS more (bench/load.mjs:
# an exact count over CALLGRIND_CONNECTIONS keep-alive connections), waits for the decision writer
# to store them, dumps the counters and prints the instructions per request of the whole process
# (all threads) and of the top functions (inclusive).
# Tools: valgrind, nginx (bash scripts/install-deps.sh --bench) and node.
# Knobs: CALLGRIND_REQUESTS (2000), CALLGRIND_WARMUP (300), CALLGRIND_CONNECTIONS (8),
# CALLGRIND_OUT (bench/out/callgrind.out), CALLGRIND_TOP (40), SWITCHBOARD_BIN.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
bin=${SWITCHBOARD_BIN:-build/switchboard}
n=${CALLGRIND_REQUESTS:-2000}
warm=${CALLGRIND_WARMUP:-300}
conc=${CALLGRIND_CONNECTIONS:-8}
out=${CALLGRIND_OUT:-bench/out/callgrind.out}
top=${CALLGRIND_TOP:-40}
die() { echo "callgrind: error: $*" >&2; exit 1; }
command -v valgrind >/dev/null || die "valgrind not found (apt-get install valgrind)"
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || die "nginx not found (bash scripts/install-deps.sh --bench)"
[[ -x $bin ]] || die "no gateway binary at $bin"
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-callgrind.XXXXXX")
chmod 755 "$tmp"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
port=$((20000 + RANDOM % 40000))
sed -e "s|@PREFIX@|$tmp|g" -e "s|@UPSTREAM_PORT@|$port|g" bench/nginx-upstream.conf.in >"$tmp/upstream.conf"
"$nginx_bin" -c "$tmp/upstream.conf" -p "$tmp" >"$tmp/upstream.out" 2>&1 &
pids+=($!)
sed -e "s|@PREFIX@|$tmp|g" -e "s|@WORKERS@|1|g" -e "s|@UPSTREAM_PORT@|$port|g" bench/gateway.yaml.in >"$tmp/gateway.yaml"
mkdir -p "$(dirname "$out")"
rm -f "$out"
: >"$tmp/gateway.log"  # exists before the loop below reads it
valgrind --tool=callgrind --callgrind-out-file="$out" --dump-instr=no --collect-jumps=no \
  "$bin" serve --config "$tmp/gateway.yaml" >"$tmp/gateway.log" 2>&1 &
gw=$!
pids+=("$gw")
gport=
for _ in $(seq 600); do
  gport=$(sed -n 's/.*switchboard listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$tmp/gateway.log" | head -1)
  [[ -n $gport ]] && break
  kill -0 "$gw" 2>/dev/null || { cat "$tmp/gateway.log" >&2; die "gateway exited"; }
  sleep 0.1
done
[[ -n $gport ]] || { cat "$tmp/gateway.log" >&2; die "gateway did not start"; }
url="http://127.0.0.1:$gport"
node bench/load.mjs "$url" "$warm" "$conc" >/dev/null || die "warm-up failed"
sleep 2  # the decision writer stores the warm-up's records (it wakes every 50 ms)
callgrind_control -z "$gw" >/dev/null 2>&1
node bench/load.mjs "$url" "$n" "$conc" >/dev/null || die "load failed"
sleep 2
callgrind_control -d "$gw" >/dev/null 2>&1
kill -TERM "$gw"; wait "$gw" 2>/dev/null || true
pids=("${pids[@]:0:1}")
# The dump asked for after zeroing is "$out.1" (callgrind numbers its dumps); "$out" is the rest,
# written at exit.
dump=$out.1
[[ -f $dump ]] || die "no callgrind dump at $dump"
total=$(awk '/^summary:|^totals:/ { print $2; exit }' "$dump")
echo "callgrind: $n requests after $warm warm-up, $conc connections: $(awk -v t="$total" -v n="$n" 'BEGIN { printf "%.1f", t / n / 1000 }')k instructions/request ($total in all; $dump)"
callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | awk -v n="$n" -v top="$top" '
  /^-+$/ { sec++ } sec >= 3 && $1 ~ /^[0-9,]+$/ && shown < top { v = $1; gsub(",", "", v); $1 = ""; printf "%8.2fk %s\n", v / n / 1000, $0; shown++ }'
