#!/usr/bin/env bash
# Starts and stops what the test suites need, so `./test.sh` runs anywhere with apt.
#
#   scripts/test-deps.sh start   # prints `export STELE_TEST_POSTGRES='…'` on stdout
#   scripts/test-deps.sh stop    # stops and deletes what `start` created
#
# `start` installs Debian's mmdb-bin (mmdblookup, the reference MaxMind DB reader the GeoIP tests
# compare with) when it is missing and this is root. For PostgreSQL it does nothing when
# STELE_TEST_POSTGRES is set already (a CI service, a developer's own
# server). Otherwise it installs Debian's postgresql if its binaries are missing, creates a
# throwaway cluster in a temporary directory (trust authentication, listening on 127.0.0.1 only),
# starts it on a free port and records it in .test-artifacts/test-deps.state for `stop`.
# Only the export line goes to stdout; every diagnostic goes to stderr.
#
# `start` also provides what the delivery tests need, when it is missing: Debian's python3-aiosmtpd
# (a real SMTP server) and openssl, and the npm package standardwebhooks (the reference verifier)
# in .test-artifacts/standardwebhooks. A failure there is only reported: without them those tests
# skip locally and fail under CI=true.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state_dir="$root/.test-artifacts"
state="$state_dir/test-deps.state"

log() { echo "test-deps: $*" >&2; }

pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
      echo "$dir"
    fi
  done | sort -V | tail -n 1
}

# Runs a command as the cluster's OS user (PostgreSQL refuses to run as root).
as_pg_user() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  local port
  for port in $(seq 5433 5499); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

apt_updated=0
apt_install() {
  if [[ $(id -u) -ne 0 ]]; then
    log "$* missing and this is not root; install it with apt-get"
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [[ $apt_updated -eq 0 ]]; then
    apt-get update -qq >&2
    apt_updated=1
  fi
  log "installing $* with apt"
  apt-get install -y -qq "$@" >&2
}

# Debian's python3 (not a pyenv shim on PATH) is the one python3-aiosmtpd installs into.
delivery_deps() {
  if ! /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
    apt_install python3-aiosmtpd || log "python3-aiosmtpd could not be installed; the email tests cannot run"
  fi
  if ! command -v openssl >/dev/null 2>&1; then
    apt_install openssl || log "openssl could not be installed; the STARTTLS email test cannot run"
  fi

  local spec="$root/tests/Stele.Server.Tests/Delivery/Verifier/package.json"
  local dir="$state_dir/standardwebhooks"
  if [[ -f "$dir/node_modules/standardwebhooks/package.json" ]] && cmp -s "$spec" "$dir/package.json"; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm || { log "npm could not be installed; the webhook verifier tests cannot run"; return 0; }
  fi
  log "installing the standardwebhooks npm package into $dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$spec" "$dir/package.json"
  (cd "$dir" && npm install --no-package-lock --no-audit --no-fund --loglevel=error >&2) \
    || log "npm install failed; the webhook verifier tests cannot run"
}

# mmdblookup: without it the GeoIP cross-check tests skip locally and fail under CI=true.
ensure_mmdblookup() {
  if command -v mmdblookup >/dev/null 2>&1; then
    return 0
  fi
  if [[ $(id -u) -ne 0 ]]; then
    log "mmdblookup is missing and this is not root; install the mmdb-bin package to run the GeoIP cross-check tests"
    return 0
  fi
  log "installing mmdb-bin (mmdblookup) with apt"
  apt_install mmdb-bin || log "could not install mmdb-bin; the GeoIP cross-check tests will skip (or fail under CI=true)"
}

start() {
  delivery_deps || true
  ensure_mmdblookup

  if [[ -n "${STELE_TEST_POSTGRES:-}" ]]; then
    log "STELE_TEST_POSTGRES is set; using it"
    return 0
  fi

  if [[ -f "$state" ]]; then
    # shellcheck disable=SC1090
    source "$state"
    if [[ -n "${PG_DATA:-}" ]] && as_pg_user "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
      log "reusing the cluster started earlier on port $PG_PORT"
      echo "export STELE_TEST_POSTGRES='Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres'"
      return 0
    fi
    stop
  fi

  local bin
  bin="$(pg_bin)"
  if [[ -z "$bin" ]]; then
    if [[ $(id -u) -ne 0 ]]; then
      log "PostgreSQL is not installed and this is not root; install the postgresql package or set STELE_TEST_POSTGRES"
      return 1
    fi
    log "installing postgresql with apt"
    apt_install postgresql
    bin="$(pg_bin)"
    [[ -n "$bin" ]] || { log "postgresql installed but initdb/pg_ctl not found"; return 1; }
  fi

  if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/false postgres
  fi

  local base data port
  base="$(mktemp -d /tmp/stele-test-pg.XXXXXX)"
  data="$base/data"
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres: "$base"
  fi
  port="$(free_port)" || { log "no free port in 5433..5499"; return 1; }

  mkdir -p "$state_dir"
  cat >"$state" <<STATE
PG_BIN='$bin'
PG_BASE='$base'
PG_DATA='$data'
PG_PORT='$port'
STATE

  log "creating a throwaway cluster in $data"
  as_pg_user "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null 2>&1 \
    || as_pg_user "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C >&2
  # Only 127.0.0.1 over TCP, no Unix socket in a shared directory; fsync stays on (the suites test durability paths).
  as_pg_user "$bin/pg_ctl" -D "$data" -l "$base/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$base' -c max_connections=200" start >&2 \
    || { log "the cluster did not start; its log:"; cat "$base/server.log" >&2 || true; return 1; }

  local tries=0
  until as_pg_user "$bin/pg_isready" -h 127.0.0.1 -p "$port" -q; do
    tries=$((tries + 1))
    if [[ $tries -gt 60 ]]; then
      log "the cluster did not become ready"
      return 1
    fi
    sleep 0.5
  done

  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') ready on 127.0.0.1:$port"
  echo "export STELE_TEST_POSTGRES='Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres'"
}

stop() {
  if [[ ! -f "$state" ]]; then
    return 0
  fi
  # shellcheck disable=SC1090
  source "$state"
  if [[ -n "${PG_DATA:-}" && -d "$PG_DATA" ]]; then
    log "stopping the cluster on port ${PG_PORT:-?}"
    as_pg_user "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [[ -n "${PG_BASE:-}" && "$PG_BASE" == /tmp/stele-test-pg.* ]]; then
    rm -rf "$PG_BASE"
  fi
  rm -f "$state"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
