#!/usr/bin/env bash
# The web UI's set-up and checks. Installs what it needs when it is missing: the npm packages
# (npm ci, from the committed lockfile) and, for the browser tests, Debian's Chromium.
#
#   scripts/web.sh build     npm ci when needed, then the production build into web/dist
#   scripts/web.sh lint      type check (against the generated API types) and eslint
#   scripts/web.sh test      Vitest, then the Playwright flows against the real server
#                            (target/debug/wanllmdb-server built with --all-features, which
#                            includes the UI) on SQLite and, when TEST_DATABASE_URL is set,
#                            once more on PostgreSQL + S3
#   scripts/web.sh bench     initial JavaScript size and time to interactive (make bench)
set -euo pipefail
cd "$(dirname "$0")/.."

deps() {
  # npm ci only when the lockfile changed since the last install.
  if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
    npm --prefix web ci --no-audit --no-fund
  fi
}

chromium() {
  if [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; then return; fi
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "web: installing Debian's chromium for the browser tests"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
  if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    echo "web: chromium is still missing at ${CHROMIUM:-/usr/bin/chromium}" >&2
    exit 1
  fi
}

server() {
  ${CARGO:-cargo} build --workspace --all-features --bins
  export WANLLMDB_SERVER="$PWD/target/debug/wanllmdb-server"
}

case "${1:-}" in
  build)
    deps
    npm --prefix web run build
    ;;
  lint)
    deps
    npm --prefix web run typecheck
    npm --prefix web run lint
    ;;
  test)
    deps
    chromium
    npm --prefix web test
    # The server embeds web/dist: build it first.
    npm --prefix web run build
    server
    backends=(sqlite)
    if [ -n "${TEST_DATABASE_URL:-}" ]; then backends+=(postgres); fi
    node web/e2e/run.mjs "${backends[@]}"
    ;;
  bench)
    deps
    chromium
    npm --prefix web run build
    ${CARGO:-cargo} build --release -p wanllmdb-server --features ui
    ${CARGO:-cargo} build --release -p wanllmdb-cli
    WANLLMDB_SERVER="$PWD/target/release/wanllmdb-server" WANLLMDB_CLI="$PWD/target/release/wanllmdb" \
      node web/e2e/bench.mjs
    ;;
  *)
    echo "usage: scripts/web.sh build|lint|test|bench" >&2
    exit 2
    ;;
esac
