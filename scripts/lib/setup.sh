# Shared by scripts/demo and scripts/test: install what is missing, then configure and build
# incrementally into build/. Source it; do not run it.

FLEET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FLEET_BUILD="$FLEET_ROOT/build"

# Debian 12 packages fleet builds and runs with.
FLEET_PACKAGES=(
  g++ cmake ninja-build pkg-config
  libnats-dev librdkafka-dev libmsgpack-cxx-dev libboost-dev libspdlog-dev
  doctest-dev nlohmann-json3-dev libcli11-dev libsqlite3-dev
  nats-server curl jq openssl docker-compose
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

fleet_build() {
  if [ ! -f "$FLEET_BUILD/build.ninja" ]; then
    cmake -S "$FLEET_ROOT" -B "$FLEET_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
  fi
  cmake --build "$FLEET_BUILD" -j "$(nproc)" >&2
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
