#!/usr/bin/env bash
# Many concurrent streams: holds STREAMS_COUNT (default 10,000) SSE streams open through the gateway
# (replay backends answering at a slow tokens_per_sec) and reports the gateway's RSS per open stream
# (goal <= 20 KB). Not part of `make test`. Knobs: bench/README.md ("Many concurrent streams").
# Example: STREAMS_COUNT=10000 bash bench/streams.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SWITCHBOARD_BIN:-build/switchboard}
[[ -x $bin ]] || { echo "streams: no gateway binary at $bin (make build, or set SWITCHBOARD_BIN)" >&2; exit 1; }
command -v node >/dev/null || bash scripts/install-deps.sh --soak
count=${STREAMS_COUNT:-10000}
# Every stream holds a socket in the client, two in the gateway (client and upstream side) and one in
# a backend; the processes inherit this limit. Raising the hard limit needs CAP_SYS_RESOURCE.
want=$((2 * count + 1024))
((want >= 65536)) || want=65536
if (($(ulimit -Hn) < want)); then ulimit -Hn "$want" 2>/dev/null || true; fi
hard=$(ulimit -Hn)
ulimit -n $((hard < want ? hard : want))
fit=$((($(ulimit -n) - 600) / 2))  # the gateway's two sockets per stream, and its idle ones
if ((fit < count)); then
  echo "streams: WARNING: ulimit -n is $(ulimit -n) (hard limit; raising it needs CAP_SYS_RESOURCE), so the" \
       "gateway can hold at most about $fit streams: running $fit instead of $count" >&2
  export STREAMS_REQUESTED=$count STREAMS_COUNT=$fit
fi
echo "streams: ulimit -n $(ulimit -n); local ports $(cat /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null | tr '\t' '-')"
SWITCHBOARD_BIN=$bin exec node bench/streams.mjs
