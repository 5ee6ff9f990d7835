#!/usr/bin/env bash
# Starts, stops or wraps the services the test suite needs:
#   - PostgreSQL: a throwaway cluster under target/services/pg on a free port (initdb as a
#     non-root user when run as root, since PostgreSQL refuses to run as root).
#   - Garage (S3): a single-node store under target/services/garage on free ports, with a layout,
#     a key and a bucket made by this script. The binary is built once with `cargo install` into
#     target/tools (about 10 minutes on 2 cores) and reused afterwards.
# `TEST_DATABASE_URL` set beforehand points the tests at an existing PostgreSQL instead, and
# `TEST_S3_ENDPOINT` (with TEST_S3_REGION, TEST_S3_BUCKET, TEST_S3_ACCESS_KEY, TEST_S3_SECRET_KEY)
# at an existing S3-compatible store.
#
#   scripts/services.sh start          start what is not running; write target/services/env
#   scripts/services.sh stop           stop what start started
#   scripts/services.sh run -- CMD...  start, run CMD with the services' environment, then stop
#                                      whatever this call started
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD/target/services
envfile=$root/env
pgdir=$root/pg
gdir=$root/garage
GARAGE_VERSION=2.5.0
tools=$PWD/target/tools
garage=$tools/bin/garage

die() {
  echo "services: $*" >&2
  exit 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) "$(pg_config --bindir 2>/dev/null || true)"; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return 0
    fi
  done
  die "PostgreSQL server binaries (initdb, pg_ctl) not found. Install them (Debian: apt-get install postgresql) or set TEST_DATABASE_URL to an existing server."
}

# Runs a command as the cluster's owner: ourselves, or a non-root user when we are root.
as_owner() {
  if [ "$(id -u)" -ne 0 ]; then
    "$@"
  else
    runuser -u "$pg_user" -- "$@"
  fi
}

pg_running() {
  [ -f "$pgdir/data/postmaster.pid" ] && [ -f "$pgdir/port" ] && as_owner "$bindir/pg_ctl" -D "$pgdir/data" status >/dev/null 2>&1
}

start_postgres() {
  if [ -n "${TEST_DATABASE_URL:-}" ]; then
    echo "services: PostgreSQL: using TEST_DATABASE_URL"
    return 0
  fi
  bindir=$(pg_bindir)
  pg_user=$(id -un)
  if [ "$(id -u)" -eq 0 ]; then
    pg_user=postgres
    if ! id -u "$pg_user" >/dev/null 2>&1; then
      pg_user=wanllmdb-pg
      id -u "$pg_user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$pg_user" \
        || die "running as root and cannot create a non-root user for PostgreSQL"
    fi
  fi
  mkdir -p "$pgdir"
  [ "$(id -u)" -eq 0 ] && chown "$pg_user" "$pgdir"
  if pg_running; then
    echo "services: PostgreSQL already running on port $(cat "$pgdir/port")"
  else
    if [ ! -f "$pgdir/data/PG_VERSION" ]; then
      rm -rf "$pgdir/data"
      as_owner "$bindir/initdb" -D "$pgdir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$pgdir/initdb.log" 2>&1 \
        || die "initdb failed; see $pgdir/initdb.log: $(tail -3 "$pgdir/initdb.log")"
    fi
    local port
    port=$(free_port)
    as_owner "$bindir/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
      -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null || die "PostgreSQL did not start; see $pgdir/server.log: $(tail -5 "$pgdir/server.log")"
    echo "$port" >"$pgdir/port"
    touch "$pgdir/started-by-us"
    echo "services: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') started on 127.0.0.1:$port (data in $pgdir/data)"
  fi
  echo "TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$(cat "$pgdir/port")/postgres" >>"$envfile"
}

stop_postgres() {
  [ -f "$pgdir/started-by-us" ] || return 0
  bindir=$(pg_bindir)
  pg_user=$(stat -c %U "$pgdir")
  as_owner "$bindir/pg_ctl" -D "$pgdir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -f "$pgdir/started-by-us" "$pgdir/port"
  echo "services: PostgreSQL stopped"
}

garage_running() {
  [ -f "$gdir/pid" ] && kill -0 "$(cat "$gdir/pid")" 2>/dev/null && [ -f "$gdir/env" ]
}

install_garage() {
  if [ -x "$garage" ] && "$garage" --version 2>/dev/null | grep -q "$GARAGE_VERSION"; then
    return 0
  fi
  command -v cargo >/dev/null || die "cargo is needed to build Garage"
  echo "services: building Garage $GARAGE_VERSION into $tools (once; about 10 minutes on 2 cores)"
  mkdir -p "$tools"
  cargo install garage --locked --version "$GARAGE_VERSION" --root "$tools" >"$tools/garage-install.log" 2>&1 \
    || die "building Garage failed; see $tools/garage-install.log: $(tail -5 "$tools/garage-install.log")"
}

g() {
  "$garage" -c "$gdir/garage.toml" "$@"
}

# Stops a half-set-up Garage, then fails with the message.
garage_fail() {
  [ -f "$gdir/pid" ] && kill "$(cat "$gdir/pid")" 2>/dev/null
  rm -f "$gdir/pid"
  die "$@"
}

start_garage() {
  if [ -n "${TEST_S3_ENDPOINT:-}" ]; then
    echo "services: S3: using TEST_S3_ENDPOINT"
    return 0
  fi
  if garage_running; then
    echo "services: Garage already running ($(grep ENDPOINT "$gdir/env"))"
    cat "$gdir/env" >>"$envfile"
    return 0
  fi
  install_garage
  rm -rf "$gdir"
  mkdir -p "$gdir"
  local s3_port rpc_port admin_port secret
  s3_port=$(free_port)
  rpc_port=$(free_port)
  admin_port=$(free_port)
  secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
  cat >"$gdir/garage.toml" <<TOML
metadata_dir = "$gdir/meta"
data_dir = "$gdir/data"
db_engine = "lmdb"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc_port"
rpc_public_addr = "127.0.0.1:$rpc_port"
rpc_secret = "$secret"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3_port"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$admin_port"
TOML
  "$garage" -c "$gdir/garage.toml" server >"$gdir/server.log" 2>&1 &
  echo $! >"$gdir/pid"
  local i node=""
  for i in $(seq 1 120); do
    if g status >/dev/null 2>&1; then
      node=$(g node id -q 2>/dev/null) && break
    fi
    kill -0 "$(cat "$gdir/pid")" 2>/dev/null || garage_fail "Garage exited; see $gdir/server.log: $(tail -5 "$gdir/server.log")"
    sleep 0.5
  done
  [ -n "$node" ] || garage_fail "Garage did not answer within 60 s; see $gdir/server.log"
  node=${node%%@*}
  {
    g layout assign -z dc1 -c 10GB "$node"
    g layout apply --version 1
  } >"$gdir/setup.log" 2>&1 || garage_fail "Garage layout setup failed; see $gdir/setup.log: $(tail -5 "$gdir/setup.log")"
  local key_id secret_key
  key_id=GK$(python3 -c 'import secrets; print(secrets.token_hex(12))')
  secret_key=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
  for i in $(seq 1 30); do
    if g key import --yes -n wanllmdb-test "$key_id" "$secret_key" >>"$gdir/setup.log" 2>&1; then break; fi
    sleep 0.5
  done
  {
    g key allow --create-bucket wanllmdb-test
    g bucket create wanllmdb-test
    g bucket allow --read --write --owner wanllmdb-test --key wanllmdb-test
  } >>"$gdir/setup.log" 2>&1 || garage_fail "Garage key/bucket setup failed; see $gdir/setup.log: $(tail -5 "$gdir/setup.log")"
  cat >"$gdir/env" <<ENV
TEST_S3_ENDPOINT=http://127.0.0.1:$s3_port
TEST_S3_REGION=garage
TEST_S3_BUCKET=wanllmdb-test
TEST_S3_ACCESS_KEY=$key_id
TEST_S3_SECRET_KEY=$secret_key
TEST_S3_DATA_DIR=$gdir/data
ENV
  touch "$gdir/started-by-us"
  cat "$gdir/env" >>"$envfile"
  echo "services: Garage $GARAGE_VERSION started, S3 on 127.0.0.1:$s3_port (data in $gdir)"
}

stop_garage() {
  [ -f "$gdir/started-by-us" ] || return 0
  if [ -f "$gdir/pid" ]; then
    kill "$(cat "$gdir/pid")" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$(cat "$gdir/pid")" 2>/dev/null || break; sleep 0.25; done
  fi
  rm -f "$gdir/started-by-us" "$gdir/pid" "$gdir/env"
  echo "services: Garage stopped"
}

start() {
  mkdir -p "$root"
  : >"$envfile"
  start_postgres
  start_garage
}

stop() {
  # Best effort, also as the EXIT trap of a failed command: errexit is still on there, and a
  # bare `return` in a trap handler returns the failed command's status (so returns say 0).
  set +e
  stop_postgres
  stop_garage
  rm -f "$envfile"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  run)
    shift
    [ "${1:-}" = "--" ] && shift
    [ $# -gt 0 ] || die "usage: $0 run -- COMMAND..."
    started_here=0
    if [ ! -f "$pgdir/started-by-us" ] && [ ! -f "$gdir/started-by-us" ]; then started_here=1; fi
    start
    if [ "$started_here" -eq 1 ]; then trap stop EXIT; fi
    set -a
    # shellcheck disable=SC1090
    . "$envfile"
    set +a
    "$@"
    ;;
  *) die "usage: $0 start|stop|run -- COMMAND..." ;;
esac
