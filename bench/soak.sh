#!/usr/bin/env bash
# Fault soak: SOAK_REQUESTS (default 1,000,000) plain and streaming chat requests from 64 concurrent
# clients through the gateway to replay backends that fail about once per 1,000 requests in every way
# they can (killed and restarted, hang, 5xx, dropped connection, mid-stream cut at an event / inside a
# line / inside a UTF-8 character, slow trickle), then checks every answer, every decision record, the
# gateway's exit and its RSS. Not part of `make test`. Knobs and figures: bench/README.md ("Fault soak")
# and docs/reliability.md. Example: SOAK_REQUESTS=100000 bash bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SWITCHBOARD_BIN:-build/switchboard}
[[ -x $bin ]] || { echo "soak: no gateway binary at $bin (make build, or set SWITCHBOARD_BIN)" >&2; exit 1; }
command -v node >/dev/null && command -v sqlite3 >/dev/null || bash scripts/install-deps.sh --soak
# 64 clients + the gateway's client and upstream sockets + restarts: well within 4096, but some
# shells default to 1024.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
SWITCHBOARD_BIN=$bin exec node bench/soak.mjs
