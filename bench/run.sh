#!/usr/bin/env bash
# Throughput/latency benchmark: wrk against (a) nginx as a plain keep-alive reverse proxy and (b) the
# gateway, both in front of the same fast upstream (nginx answering a fixed chat.completion). Prints
# requests/s, p50, p99 and process CPU time per request for both, the gateway/nginx ratios and the
# machine's load; writes bench/out/latest.json.
# Run it with `make bench` (installs wrk + nginx-light, builds, then runs this). Knobs: see bench/README.md.
# A benchmark, not a test: the goals are reported, and only fail the run when BENCH_STRICT=1.
set -euo pipefail
shopt -s inherit_errexit  # a failure inside $(...) stops the script too
export LC_ALL=C           # '.' as the decimal point everywhere
cd "$(dirname "$0")/.."

bin=${SWITCHBOARD_BIN:-build/switchboard}
seconds=${BENCH_SECONDS:-10}
warmup=${BENCH_WARMUP:-2}
workers=${BENCH_WORKERS:-1}
wrk_threads=${BENCH_THREADS:-1}
connections=${BENCH_CONNECTIONS:-32}
rounds=${BENCH_ROUNDS:-3}
out=${BENCH_OUT:-bench/out/latest.json}
strict=${BENCH_STRICT:-0}
keep_tmp=${BENCH_KEEP_TMP:-0}
settle=${BENCH_SETTLE:-5}  # longest wait (s) for a server to go idle before/after a measured run
niceness=${BENCH_NICE:-}  # e.g. -10 (root only): run all bench processes at this priority, against busy machines
min_ratio=0.60   # goal: gateway throughput >= 60% of nginx's
max_p99_ms=1.00  # goal: gateway p99 at most 1 ms above nginx's

die() { echo "bench: error: $*" >&2; exit 1; }
for knob in seconds warmup workers wrk_threads connections rounds settle; do
  [[ ${!knob} =~ ^[0-9]+$ ]] || die "$knob must be a whole number, got '${!knob}'"
done
((seconds > 0 && workers > 0 && wrk_threads > 0 && rounds > 0)) || die "seconds, workers, threads, rounds must be > 0"
((connections >= wrk_threads)) || die "BENCH_CONNECTIONS must be >= BENCH_THREADS"
nice_cmd=()
if [[ -n $niceness ]]; then
  [[ $niceness =~ ^-?[0-9]+$ ]] || die "BENCH_NICE must be a whole number, got '$niceness'"
  [[ -z $(nice -n "$niceness" true 2>&1) ]] || die "cannot run at niceness $niceness (negative values need root)"
  nice_cmd=(nice -n "$niceness")
fi

nginx_bin=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
[[ -x $nginx_bin ]] || die "nginx not found (bash scripts/install-deps.sh --bench)"
command -v wrk >/dev/null || die "wrk not found (bash scripts/install-deps.sh --bench)"
command -v curl >/dev/null || die "curl not found"
clk_tck=$(getconf CLK_TCK)
[[ $clk_tck =~ ^[0-9]+$ && $clk_tck -gt 0 ]] || die "getconf CLK_TCK gave '$clk_tck'"
[[ -r /proc/loadavg && -r /proc/stat && -r /proc/$$/stat ]] || die "needs Linux /proc"
[[ -x $bin ]] || die "no gateway binary at $bin (make build, or set SWITCHBOARD_BIN)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-bench.XXXXXX")
chmod 755 "$tmp"  # nginx workers may run as another user when started by root
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ $keep_tmp == 1 ]]; then echo "bench: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

used_ports=" "
free_port() {  # sets $port to one nobody listens on; not bulletproof, so callers retry when the bind fails
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 40000))
    [[ $used_ports == *" $port "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      used_ports+="$port "
      return 0
    fi
  done
  die "no free port found"
}

render() {  # template output: replace @NAME@ placeholders
  sed -e "s|@PREFIX@|$tmp|g" -e "s|@WORKERS@|$workers|g" \
    -e "s|@UPSTREAM_PORT@|${upstream_port:-}|g" -e "s|@PROXY_PORT@|${proxy_port:-}|g" "$1" >"$2"
}

body='{"model":"bench-route","messages":[{"role":"user","content":"ping"}]}'
probe() {  # url -> HTTP status of one chat request ("000" when nothing answers)
  curl -s -o "$tmp/probe.out" -w '%{http_code}' --max-time 2 -X POST -H 'content-type: application/json' \
    --data "$body" "$1/v1/chat/completions" 2>/dev/null || true
}

declare -A nginx_master  # nginx name (upstream, proxy) -> pid of its master process

# start_nginx NAME TEMPLATE PORTVAR: picks a free port into PORTVAR, starts nginx in the background and
# waits until it answers; retries with another port when the bind fails.
start_nginx() {
  local name=$1 template=$2 portvar=$3 attempt pid
  for attempt in 1 2 3 4 5; do
    free_port
    printf -v "$portvar" '%s' "$port"
    render "$template" "$tmp/$name.conf"
    "$nginx_bin" -q -t -c "$tmp/$name.conf" -p "$tmp" >"$tmp/$name-test.log" 2>&1 ||
      { cat "$tmp/$name-test.log" >&2; die "$name: bad nginx config"; }
    "${nice_cmd[@]}" "$nginx_bin" -c "$tmp/$name.conf" -p "$tmp" >"$tmp/$name.out" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      [[ $(probe "http://127.0.0.1:${!portvar}") != 000 ]] && { pids+=("$pid"); nginx_master[$name]=$pid; return 0; }
      sleep 0.05
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    grep -qs "Address already in use" "$tmp/$name-error.log" "$tmp/$name.out" && continue
    cat "$tmp/$name-error.log" "$tmp/$name.out" >&2 2>/dev/null || true
    die "$name: nginx did not start"
  done
  die "$name: no free port after 5 attempts"
}

start_gateway() {
  render bench/gateway.yaml.in "$tmp/gateway.yaml"
  "${nice_cmd[@]}" "$bin" serve --config "$tmp/gateway.yaml" >"$tmp/gateway.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  gateway_pid=$pid
  for _ in $(seq 200); do
    gateway_port=$(sed -n 's/.*switchboard listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$tmp/gateway.log" | head -1)
    [[ -n $gateway_port ]] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  cat "$tmp/gateway.log" >&2
  die "gateway did not start ($bin serve --config $tmp/gateway.yaml)"
}

check_target() {  # name url: one request must come back 200 with a chat.completion
  local status
  status=$(probe "$2")
  if [[ $status != 200 ]] || ! grep -q '"chat.completion"' "$tmp/probe.out"; then
    echo "bench: $1 answered HTTP $status:" >&2
    head -c 2000 "$tmp/probe.out" >&2 || true
    echo >&2
    die "$1 does not serve chat completions at $2"
  fi
}

# --- process CPU time -----------------------------------------------------------------------------
# /proc/PID/stat of a process (thread group) holds utime and stime summed over all its threads, in clock
# ticks (getconf CLK_TCK). Fields are read after the last ')' so a command name with spaces cannot shift
# them: st[0] is field 3 (state), st[1] field 4 (ppid), st[11]/st[12] fields 14/15 (utime/stime),
# st[13]/st[14] fields 16/17 (cutime/cstime: children that were waited for).
read_stat() {  # PID -> array st; status 1 when the process is gone
  local line
  { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
  read -r -a st <<<"${line##*) }"
}

children_of() {  # PID -> pids of its child processes, one per line
  local f line
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    read -r -a st <<<"${line##*) }"
    [[ ${st[1]} == "$1" ]] && { f=${f#/proc/}; echo "${f%/stat}"; }
  done
  return 0
}

server_pids() {  # target -> the processes whose CPU is that server's: the gateway process (all its threads),
  # or an nginx's master and its workers
  case $1 in
    gateway) echo "$gateway_pid" ;;
    nginx-proxy) echo "${nginx_master[proxy]}" $(children_of "${nginx_master[proxy]}") ;;
    upstream) echo "${nginx_master[upstream]}" $(children_of "${nginx_master[upstream]}") ;;
    *) die "unknown target $1" ;;
  esac
}

cpu_ticks() {  # VAR PID... -> VAR = sum of utime+stime of the processes, in clock ticks
  local _var=$1 _p _sum=0
  shift
  for _p; do
    read_stat "$_p" || die "process $_p exited during the benchmark"
    _sum=$((_sum + st[11] + st[12]))
  done
  printf -v "$_var" '%d' "$_sum"
}

machine_ticks() {  # -> m_busy, m_total: all CPUs' busy (user, nice, system, irq, softirq) and total ticks
  local _cpu u n s idle iow irq sirq steal _rest
  read -r _cpu u n s idle iow irq sirq steal _rest </proc/stat
  m_busy=$((u + n + s + irq + sirq))
  m_total=$((u + n + s + idle + iow + irq + sirq + steal))
}

wait_idle() {  # PID...: wait (at most $settle s) until they use <= 1 clock tick in 0.2 s
  local prev now i
  cpu_ticks prev "$@"
  for ((i = 0; i < settle * 5; i++)); do
    sleep 0.2
    cpu_ticks now "$@"
    ((now - prev <= 1)) && return 0
    prev=$now
  done
  return 0
}

# run_wrk NAME TARGET URL SECONDS OUTFILE -> prints one line:
#   rps p50_ms p99_ms requests target_ticks upstream_ticks wrk_ticks machine_busy machine_total window_s
#   settle_s load1 nprocs
# The CPU window: the target is first left to go idle (wait_idle), then its processes' CPU, the upstream's,
# /proc/stat and the time are read; wrk runs; after wrk exits the target gets up to $settle s to finish
# work it queued (the gateway's decision writer), then everything is read again. Dies on non-2xx or
# socket errors, or when the target's set of processes changed.
run_wrk() {
  local name=$1 target=$2 url=$3 secs=$4 file=$5 parsed
  local -a spids upids
  local spids_after c0 c1 u0 u1 w0 w1 b0 b1 T0 T1 t0 t_end t1 load1
  read -r -a spids <<<"$(server_pids "$target")"
  read -r -a upids <<<"$(server_pids upstream)"
  wait_idle "${spids[@]}"  # e.g. the gateway's decision writer still catching up on an earlier run
  read_stat "$BASHPID"; w0=$((st[13] + st[14]))  # wrk is this subshell's child: its CPU lands in cutime/cstime
  machine_ticks; b0=$m_busy; T0=$m_total
  cpu_ticks c0 "${spids[@]}"; cpu_ticks u0 "${upids[@]}"
  t0=$EPOCHREALTIME
  "${nice_cmd[@]}" wrk -t"$wrk_threads" -c"$connections" -d"${secs}s" --latency -s bench/chat.lua \
    "$url/v1/chat/completions" >"$file" 2>&1 || { cat "$file" >&2; die "wrk failed against $name"; }
  t_end=$EPOCHREALTIME
  read_stat "$BASHPID"; w1=$((st[13] + st[14]))
  read -r load1 _ </proc/loadavg
  wait_idle "${spids[@]}"
  cpu_ticks c1 "${spids[@]}"; cpu_ticks u1 "${upids[@]}"
  machine_ticks; b1=$m_busy; T1=$m_total
  t1=$EPOCHREALTIME
  spids_after=$(server_pids "$target")
  [[ $spids_after == "${spids[*]}" ]] || die "$name: processes changed during the run (${spids[*]} -> $spids_after)"
  parsed=$(awk '
    function ms(v,   n) {  # wrk prints times as 812.00us, 1.23ms, 2.01s, 1.50m, 1.00h
      n = v + 0
      if (v ~ /us$/) return n / 1000
      if (v ~ /ms$/) return n
      if (v ~ /s$/) return n * 1000
      if (v ~ /m$/) return n * 60000
      if (v ~ /h$/) return n * 3600000
      return -1
    }
    /^[ \t]*50(\.0+)?%/ { p50 = ms($2) }
    /^[ \t]*99(\.0+)?%/ { p99 = ms($2) }
    / requests in / { n = $1 }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    /Socket errors:/ { gsub(",", ""); sock = $4 + $6 + $8 + $10 }
    /^Requests\/sec:/ { rps = $2 }
    END {
      if (rps == "" || p50 == "" || p99 == "" || p50 < 0 || p99 < 0 || n + 0 == 0) { print "unparsed"; exit }
      printf "%s %.3f %.3f %d %d %d\n", rps, p50, p99, n, bad + 0, sock + 0
    }' "$file")
  if [[ $parsed == unparsed ]]; then cat "$file" >&2; die "could not parse wrk output for $name"; fi
  local rps p50 p99 n bad sock
  read -r rps p50 p99 n bad sock <<<"$parsed"
  if ((bad > 0 || sock > 0)); then
    cat "$file" >&2
    [[ $name == gateway* ]] && { echo "--- gateway log (tail) ---" >&2; tail -n 20 "$tmp/gateway.log" >&2; }
    die "$name: $bad non-2xx responses and $sock socket errors out of $n requests"
  fi
  echo "$rps $p50 $p99 $n $((c1 - c0)) $((u1 - u0)) $((w1 - w0)) $((b1 - b0)) $((T1 - T0))" \
    "$(awk -v a="$t0" -v b="$t1" -v e="$t_end" 'BEGIN { printf "%.3f %.3f", b - a, b - e }') $load1 ${#spids[@]}"
}

median() {  # numbers... -> median (mean of the middle two for an even count)
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
minmax() {  # numbers... -> "min max"
  printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s %s", lo, hi }'
}

# --- start everything ---------------------------------------------------------------------------
start_nginx upstream bench/nginx-upstream.conf.in upstream_port
start_nginx proxy bench/nginx-proxy.conf.in proxy_port
start_gateway
targets=(nginx-proxy gateway)
declare -A url=([nginx-proxy]="http://127.0.0.1:$proxy_port" [gateway]="http://127.0.0.1:$gateway_port")
check_target upstream "http://127.0.0.1:$upstream_port"
for t in "${targets[@]}"; do check_target "$t" "${url[$t]}"; done
read -r -a v <<<"$(server_pids nginx-proxy)"
((${#v[@]} == workers + 1)) || die "nginx-proxy: expected a master and $workers worker(s), found pids ${v[*]}"
[[ $(readlink "/proc/$gateway_pid/exe") == "$(readlink -f "$bin")" ]] ||
  die "pid $gateway_pid is not $bin (CPU would be read from the wrong process)"

cpu_model=$(awk -F: '/^model name/ { sub(/^[ \t]+/, "", $2); print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
[[ -n $cpu_model ]] || cpu_model=$(uname -m)
cores=$(nproc)
nginx_version=$("$nginx_bin" -v 2>&1 | sed 's|.*nginx/||')
wrk_version=$(wrk -v 2>&1 | awk 'NR == 1 { print $2 }' || true)
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
echo "bench: machine: $cores cores, $cpu_model; nginx $nginx_version, wrk $wrk_version; load average $load; CLK_TCK $clk_tck"
echo "bench: upstream 127.0.0.1:$upstream_port (1 worker, pids $(server_pids upstream)); nginx-proxy :$proxy_port" \
  "(pids $(server_pids nginx-proxy)) and gateway :$gateway_port (pid $gateway_pid)" \
  "($workers worker(s)/thread(s) each); wrk -t$wrk_threads -c$connections, ${seconds}s x $rounds round(s)"

if ((warmup > 0)); then
  for t in "${targets[@]}"; do run_wrk "$t (warm-up)" "$t" "${url[$t]}" "$warmup" "$tmp/warmup-$t.txt" >/dev/null; done
  echo "bench: warmed up (${warmup}s each)"
fi

# Per target, space-separated lists with one value per round.
declare -A rps_list p50_list p99_list req_list ticks_list cpu_list cores_list up_list settle_list
load_list=""; others_list=""
for ((r = 1; r <= rounds; r++)); do
  order=("${targets[@]}")
  ((r % 2 == 0)) && order=(gateway nginx-proxy)  # alternate who goes first, so drift hits both alike
  for t in "${order[@]}"; do
    res=$(run_wrk "$t" "$t" "${url[$t]}" "$seconds" "$tmp/round$r-$t.txt")  # exits here if run_wrk failed
    read -r rps p50 p99 n ticks uticks wticks busy total window settle_s load1 nprocs <<<"$res"
    # CPU per request (us) of the target and of the upstream; the target's CPU in cores over the window;
    # the CPU used by everything else on the machine (compiles, ...), in % of all cores.
    read -r cpu_us cores_used up_us others <<<"$(awk -v c="$ticks" -v u="$uticks" -v w="$wticks" -v b="$busy" \
      -v T="$total" -v n="$n" -v hz="$clk_tck" -v win="$window" 'BEGIN {
        printf "%.2f %.3f %.2f %.1f", c / hz / n * 1e6, c / hz / win, u / hz / n * 1e6, (b - c - u - w) / T * 100 }')"
    rps_list[$t]+="$rps "; p50_list[$t]+="$p50 "; p99_list[$t]+="$p99 "; req_list[$t]+="$n "
    ticks_list[$t]+="$ticks "; cpu_list[$t]+="$cpu_us "; cores_list[$t]+="$cores_used "; up_list[$t]+="$up_us "
    settle_list[$t]+="$settle_s "; load_list+="$load1 "; others_list+="$others "
    printf 'bench: round %d %-12s %9.1f req/s  p50 %7.3f ms  p99 %7.3f ms  CPU %7.2f us/req (%d ticks, %.2f cores, %d procs)  load %s, others %s%% CPU\n' \
      "$r" "$t" "$rps" "$p50" "$p99" "$cpu_us" "$ticks" "$cores_used" "$nprocs" "$load1" "$others"
  done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ---------------------------------------------------------------------------------------
declare -A rps_med p50_med p99_med cpu_med cores_med up_med
for t in "${targets[@]}"; do
  read -r -a v <<<"${rps_list[$t]}"; rps_med[$t]=$(median "${v[@]}")
  read -r -a v <<<"${p50_list[$t]}"; p50_med[$t]=$(median "${v[@]}")
  read -r -a v <<<"${p99_list[$t]}"; p99_med[$t]=$(median "${v[@]}")
  read -r -a v <<<"${cpu_list[$t]}"; cpu_med[$t]=$(median "${v[@]}")
  read -r -a v <<<"${cores_list[$t]}"; cores_med[$t]=$(median "${v[@]}")
  read -r -a v <<<"${up_list[$t]}"; up_med[$t]=$(median "${v[@]}")
done
read -r -a v <<<"$load_list"; load_med=$(median "${v[@]}" | awk '{ printf "%.2f", $1 }'); read -r load_min load_max <<<"$(minmax "${v[@]}")"
read -r -a v <<<"$others_list"; others_med=$(median "${v[@]}" | awk '{ printf "%.1f", $1 }'); read -r others_min others_max <<<"$(minmax "${v[@]}")"
ratio=$(awk -v g="${rps_med[gateway]}" -v n="${rps_med[nginx-proxy]}" 'BEGIN { printf "%.3f", g / n }')
cpu_ratio=$(awk -v g="${cpu_med[gateway]}" -v n="${cpu_med[nginx-proxy]}" 'BEGIN { printf "%.3f", g / n }')
p99_diff=$(awk -v g="${p99_med[gateway]}" -v n="${p99_med[nginx-proxy]}" 'BEGIN { printf "%.3f", g - n }')
tput_ok=$(awk -v r="$ratio" -v m="$min_ratio" 'BEGIN { print (r >= m) ? "true" : "false" }')
p99_ok=$(awk -v d="$p99_diff" -v m="$max_p99_ms" 'BEGIN { print (d <= m) ? "true" : "false" }')
verdict() { [[ $1 == true ]] && echo "met" || echo "MISSED"; }

# Stop the gateway the way an operator would (SIGTERM, graceful drain) and check it exits cleanly.
kill -TERM "$gateway_pid" 2>/dev/null || true
for _ in $(seq 100); do kill -0 "$gateway_pid" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$gateway_pid" 2>/dev/null && echo "WARNING: the gateway did not stop within 10 s of SIGTERM" >&2
gateway_exit=0
wait "$gateway_pid" 2>/dev/null || gateway_exit=$?
for i in "${!pids[@]}"; do [[ ${pids[$i]} == "$gateway_pid" ]] && unset 'pids[i]'; done  # reaped: never kill it again
if ((gateway_exit != 0)); then
  echo "WARNING: the gateway exited with status $gateway_exit after SIGTERM; log tail:" >&2
  tail -n 5 "$tmp/gateway.log" >&2
fi

gateway_errors=$(grep -ciE '\[(error|critical|warning)\]' "$tmp/gateway.log" || true)
if ((gateway_errors > 0)); then
  echo "note: the gateway logged $gateway_errors warning/error line(s); first ones:"
  grep -iE '\[(error|critical|warning)\]' "$tmp/gateway.log" | head -n 5
fi

echo
echo "Switchboard gateway vs nginx reverse proxy (median of $rounds x ${seconds}s; wrk -t$wrk_threads -c$connections; $workers worker(s) each)"
echo "machine: nproc=$cores, cpu=$cpu_model"
printf '%-12s %12s %9s %9s %12s %10s\n' target "requests/s" "p50 ms" "p99 ms" "CPU us/req" "CPU cores"
for t in "${targets[@]}"; do
  printf '%-12s %12.1f %9.3f %9.3f %12.2f %10.2f\n' "$t" "${rps_med[$t]}" "${p50_med[$t]}" "${p99_med[$t]}" \
    "${cpu_med[$t]}" "${cores_med[$t]}"
done
printf 'throughput gateway/nginx:      %.2f  (goal >= %.2f: %s)\n' "$ratio" "$min_ratio" "$(verdict "$tput_ok")"
printf 'CPU per request gateway/nginx: %.2f\n' "$cpu_ratio"
printf 'p99 gateway - nginx:           %+.3f ms  (goal <= %.2f ms: %s)\n' "$p99_diff" "$max_p99_ms" "$(verdict "$p99_ok")"
printf 'upstream CPU per request (not counted above): %.2f us behind nginx-proxy, %.2f us behind the gateway\n' \
  "${up_med[nginx-proxy]}" "${up_med[gateway]}"
printf 'load average: %s at start, %s at end; 1-min value after each measured run: median %s (min %s, max %s)\n' \
  "$load" "$load_end" "$load_med" "$load_min" "$load_max"
printf 'CPU used by other processes during the runs: median %s%% of %d cores (min %s%%, max %s%%)\n' \
  "$others_med" "$cores" "$others_min" "$others_max"

json_str() { printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"; }
json_arr() { local a; read -r -a a <<<"$1"; printf '[%s]' "$(IFS=,; echo "${a[*]}")"; }
mkdir -p "$(dirname "$out")"
{
  printf '{\n'
  printf '  "timestamp": %s,\n' "$(json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
  printf '  "git_commit": %s,\n' "$(json_str "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)")"
  printf '  "machine": {"nproc": %d, "cpu_model": %s, "clk_tck": %d, "load_average_at_start": %s, "load_average_at_end": %s, "nginx": %s, "wrk": %s},\n' \
    "$cores" "$(json_str "$cpu_model")" "$clk_tck" "$(json_str "$load")" "$(json_str "$load_end")" \
    "$(json_str "$nginx_version")" "$(json_str "$wrk_version")"
  printf '  "settings": {"seconds": %d, "warmup_seconds": %d, "rounds": %d, "workers": %d, "wrk_threads": %d, "connections": %d, "niceness": %d, "settle_max_seconds": %d, "statistic": "median"},\n' \
    "$seconds" "$warmup" "$rounds" "$workers" "$wrk_threads" "$connections" "${niceness:-0}" "$settle"
  printf '  "targets": {\n'
  sep=","
  for t in "${targets[@]}"; do
    [[ $t == "${targets[-1]}" ]] && sep=""
    printf '    "%s": {"requests_per_sec": %s, "p50_ms": %s, "p99_ms": %s, "cpu_us_per_request": %s, "cpu_cores": %s, "upstream_cpu_us_per_request": %s,\n' \
      "$t" "${rps_med[$t]}" "${p50_med[$t]}" "${p99_med[$t]}" "${cpu_med[$t]}" "${cores_med[$t]}" "${up_med[$t]}"
    printf '      "rounds": {"requests_per_sec": %s, "p50_ms": %s, "p99_ms": %s, "requests": %s, "cpu_ticks": %s, "cpu_us_per_request": %s, "cpu_cores": %s, "upstream_cpu_us_per_request": %s, "settle_seconds": %s}}%s\n' \
      "$(json_arr "${rps_list[$t]}")" "$(json_arr "${p50_list[$t]}")" "$(json_arr "${p99_list[$t]}")" \
      "$(json_arr "${req_list[$t]}")" "$(json_arr "${ticks_list[$t]}")" "$(json_arr "${cpu_list[$t]}")" \
      "$(json_arr "${cores_list[$t]}")" "$(json_arr "${up_list[$t]}")" "$(json_arr "${settle_list[$t]}")" "$sep"
  done
  printf '  },\n'
  printf '  "throughput_ratio": %s,\n' "$ratio"
  printf '  "cpu_per_request_ratio": %s,\n' "$cpu_ratio"
  printf '  "p99_diff_ms": %s,\n' "$p99_diff"
  printf '  "load": {"load1_after_each_run": %s, "load1_median": %s, "others_cpu_percent_each_run": %s, "others_cpu_percent_median": %s},\n' \
    "$(json_arr "$load_list")" "$load_med" "$(json_arr "$others_list")" "$others_med"
  printf '  "goals": {"min_throughput_ratio": %s, "max_p99_diff_ms": %s, "throughput_met": %s, "p99_met": %s},\n' \
    "$min_ratio" "$max_p99_ms" "$tput_ok" "$p99_ok"
  printf '  "gateway_log_warnings": %d,\n' "$gateway_errors"
  printf '  "gateway_exit_status": %d\n' "$gateway_exit"
  printf '}\n'
} >"$out"
echo "results: $out"

if [[ $strict == 1 && ($tput_ok != true || $p99_ok != true) ]]; then
  echo "bench: goal missed (BENCH_STRICT=1)" >&2
  exit 3
fi
