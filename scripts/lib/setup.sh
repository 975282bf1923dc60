# Shared by scripts/demo and scripts/test: install what is missing, then configure and build
# incrementally into build/ (or $FLEET_BUILD: scripts/test's sanitizer and fuzz tiers use their
# own folders). Source it; do not run it.

FLEET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FLEET_BUILD=${FLEET_BUILD:-"$FLEET_ROOT/build"}

# Debian 12 packages fleet builds and runs with.
FLEET_PACKAGES=(
  g++ cmake ninja-build pkg-config ccache
  libnats-dev librdkafka-dev libmsgpack-cxx-dev libboost-dev libspdlog-dev
  doctest-dev nlohmann-json3-dev libcli11-dev libcpp-httplib-dev
  libsqlite3-dev libpq-dev
  # tcmalloc (gperftools): the allocator fleet's programs link (CMakeLists.txt, FLEET_TCMALLOC).
  libgoogle-perftools-dev
  # Howard Hinnant's date library (header-only): RFC 3339 parsing and formatting.
  libhowardhinnant-date-dev
  nats-server curl jq openssl docker-compose
  # kcat: Kafka interop tests (records produced and read by a non-fleet client).
  kcat
  # PostgreSQL 15 server binaries: outbox integration tests and bench start their own instance.
  postgresql
  # Prometheus 2.42 and promtool: the alert rules, the metrics lint and a real Prometheus in the
  # tests (each starts its own on a free loopback port; the package's service is not needed).
  prometheus
  # clang 14 with libFuzzer and its sanitizer runtimes: the fuzz tier (`scripts/test --fuzz`).
  clang libclang-rt-14-dev
)

fleet_missing_packages() {
  local p
  for p in "${FLEET_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

fleet_ensure_packages() {
  local missing
  missing=$(fleet_missing_packages | tr '\n' ' ')
  [ -z "${missing// /}" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "fleet: missing Debian packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends $missing" >&2
    exit 1
  fi
  echo "fleet: installing $missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >&2
}

# fleet_build [TARGET...]: configures $FLEET_BUILD once (extra CMake arguments from the
# FLEET_CMAKE_ARGS array, e.g. -DFLEET_SANITIZE=address) and builds the targets, all by default.
# ccache, when present, shares compiled objects between checkouts of the tree (paths are taken
# relative to the checkout, so a second worktree or a rebuilt build/ compiles only what changed).
fleet_build() {
  local launcher=() targets=()
  if command -v ccache >/dev/null 2>&1; then
    export CCACHE_BASEDIR="$FLEET_ROOT" CCACHE_NOHASHDIR=true
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  fi
  if [ ! -f "$FLEET_BUILD/build.ninja" ]; then
    cmake -S "$FLEET_ROOT" -B "$FLEET_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      "${launcher[@]}" ${FLEET_CMAKE_ARGS[@]+"${FLEET_CMAKE_ARGS[@]}"} >&2
  fi
  if [ $# -gt 0 ]; then targets=(--target "$@"); fi
  cmake --build "$FLEET_BUILD" -j "$(nproc)" ${targets[@]+"${targets[@]}"} >&2
}

# Starts a nats-server with JetStream on a free loopback port and a temp store dir; sets
# FLEET_NATS_URL and registers cleanup so the server stops on exit, Ctrl-C or TERM.
fleet_start_nats() {
  FLEET_NATS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/fleet-demo-nats.XXXXXX")
  nats-server -js -a 127.0.0.1 -p -1 -sd "$FLEET_NATS_DIR" -l "$FLEET_NATS_DIR/server.log" &
  FLEET_NATS_PID=$!
  trap fleet_stop_nats EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local port="" i
  for i in $(seq 1 150); do
    port=$(sed -n 's/.*Listening for client connections on 127.0.0.1:\([0-9]*\).*/\1/p' \
      "$FLEET_NATS_DIR/server.log" 2>/dev/null | head -n1 || true)
    [ -n "$port" ] && break
    kill -0 "$FLEET_NATS_PID" 2>/dev/null || { cat "$FLEET_NATS_DIR/server.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$port" ] || { echo "fleet: nats-server did not start" >&2; exit 1; }
  export FLEET_NATS_URL="nats://127.0.0.1:$port"
  echo "fleet: nats-server (JetStream) on $FLEET_NATS_URL, store $FLEET_NATS_DIR" >&2
}

fleet_stop_nats() {
  if [ -n "${FLEET_NATS_PID:-}" ]; then
    kill "$FLEET_NATS_PID" 2>/dev/null
    wait "$FLEET_NATS_PID" 2>/dev/null || true
  fi
  if [ -n "${FLEET_NATS_DIR:-}" ]; then rm -rf "$FLEET_NATS_DIR"; fi
}

# Starts `fleet dev-kafka` (librdkafka's mock cluster, real Kafka protocol on 127.0.0.1) and
# sets FLEET_KAFKA_BROKERS and FLEET_STATE_URL (a SQLite state store beside it); stops it on
# exit. Needs fleet_build first.
fleet_start_dev_kafka() {
  FLEET_KAFKA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/fleet-dev-kafka.XXXXXX")
  "$FLEET_BUILD/cli/fleet" dev-kafka >"$FLEET_KAFKA_DIR/bootstrap" 2>"$FLEET_KAFKA_DIR/log" &
  FLEET_KAFKA_PID=$!
  trap fleet_stop_dev_kafka EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local i
  for i in $(seq 1 100); do
    [ -s "$FLEET_KAFKA_DIR/bootstrap" ] && break
    kill -0 "$FLEET_KAFKA_PID" 2>/dev/null || { cat "$FLEET_KAFKA_DIR/log" >&2; exit 1; }
    sleep 0.1
  done
  [ -s "$FLEET_KAFKA_DIR/bootstrap" ] || { echo "fleet: dev-kafka did not start" >&2; exit 1; }
  export FLEET_KAFKA_BROKERS=$(head -n1 "$FLEET_KAFKA_DIR/bootstrap")
  export FLEET_STATE_URL="sqlite:$FLEET_KAFKA_DIR/state.db"
  # The dev cluster rebalances a group in its session timeout less a second (3 s is its floor),
  # and answers an empty fetch only after the whole fetch wait (docs/operations.md).
  export FLEET_KAFKA_SESSION_TIMEOUT_MS=${FLEET_KAFKA_SESSION_TIMEOUT_MS:-3000}
  export FLEET_KAFKA_FETCH_WAIT_MS=${FLEET_KAFKA_FETCH_WAIT_MS:-10}
  echo "fleet: dev Kafka (mock cluster) on $FLEET_KAFKA_BROKERS, state $FLEET_STATE_URL" >&2
}

fleet_stop_dev_kafka() {
  if [ -n "${FLEET_KAFKA_PID:-}" ]; then
    if ! kill -0 "$FLEET_KAFKA_PID" 2>/dev/null ||
      grep -q '^State:.*zombie' "/proc/$FLEET_KAFKA_PID/status" 2>/dev/null; then
      echo "fleet: dev-kafka had stopped on its own; the end of its log:" >&2
      tail -n 20 "$FLEET_KAFKA_DIR/log" >&2
    fi
    kill "$FLEET_KAFKA_PID" 2>/dev/null
    wait "$FLEET_KAFKA_PID" 2>/dev/null || true
  fi
  if [ -n "${FLEET_KAFKA_DIR:-}" ]; then rm -rf "$FLEET_KAFKA_DIR"; fi
}

# Starts a private PostgreSQL 15 (initdb into a temp dir, trust auth, a free loopback port) and
# sets FLEET_PG_URL; stops it on exit together with nats-server. As root the server runs as the
# `postgres` user, which PostgreSQL requires.
fleet_start_postgres() {
  local bin=${FLEET_PG_BIN:-/usr/lib/postgresql/15/bin} as=()
  [ -x "$bin/initdb" ] || { echo "fleet: no PostgreSQL server in $bin" >&2; exit 1; }
  FLEET_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/fleet-pg.XXXXXX")
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$FLEET_PG_DIR"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bin/initdb" -D "$FLEET_PG_DIR/data" -U postgres -A trust -E UTF8 \
    --no-instructions >"$FLEET_PG_DIR/initdb.log" 2>&1 ||
    { cat "$FLEET_PG_DIR/initdb.log" >&2; exit 1; }
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "${as[@]}" "$bin/pg_ctl" -D "$FLEET_PG_DIR/data" -l "$FLEET_PG_DIR/server.log" -w \
    -o "-p $port -k $FLEET_PG_DIR -c listen_addresses=127.0.0.1" start >&2 ||
    { cat "$FLEET_PG_DIR/server.log" >&2; exit 1; }
  FLEET_PG_AS=("${as[@]}")
  trap 'fleet_stop_postgres; fleet_stop_nats' EXIT
  export FLEET_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "fleet: PostgreSQL on $FLEET_PG_URL, data $FLEET_PG_DIR" >&2
}

fleet_stop_postgres() {
  if [ -n "${FLEET_PG_DIR:-}" ]; then
    "${FLEET_PG_AS[@]}" "${FLEET_PG_BIN:-/usr/lib/postgresql/15/bin}/pg_ctl" \
      -D "$FLEET_PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$FLEET_PG_DIR"
  fi
}
