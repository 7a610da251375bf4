#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds each: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
# New inputs go to BUILD_DIR/corpus/<target> (the seeds in fuzz/corpus/<target> are only read),
# crashes to BUILD_DIR/artifacts/<target>/, each run's log to BUILD_DIR/logs/<target>.log.
# Exit status: 0 when no target found anything, 1 otherwise (after running all of them).
set -uo pipefail
build=${1:?usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]}
seconds=${2:-60}
shift 2 || true
here=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
((${#targets[@]})) || targets=(chat_request client_apis answer_translators sse config outcomes routerbench_csv
                           upstream_response http_request guard_text)
status=0
for t in "${targets[@]}"; do
  bin="$build/fuzz_$t"
  [[ -x $bin ]] || { echo "fuzz: $bin is not built" >&2; status=1; continue; }
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t" "$build/logs"
  dict=()
  [[ -f $here/dict/$t.dict ]] && dict=(-dict="$here/dict/$t.dict")
  echo "fuzz: $t for ${seconds}s"
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$t/" "${dict[@]}" \
      "$build/corpus/$t" "$here/corpus/$t" >"$build/logs/$t.log" 2>&1; then
    echo "fuzz: $t: $(grep -E '^stat::number_of_executed_units' "$build/logs/$t.log" | awk '{print $2}') execs, nothing found"
  else
    echo "fuzz: $t FOUND A PROBLEM; see $build/logs/$t.log and $build/artifacts/$t/" >&2
    grep -E 'ERROR|FUZZ_CHECK|SUMMARY' "$build/logs/$t.log" | head -5 >&2
    status=1
  fi
done
exit $status
