#!/usr/bin/env bash
# Connection security: fleet and fleet-worker against a nats-server that requires a user and
# password, one that requires a token, then one that serves TLS with a CA made here with openssl.
#
#   nats_security.sh FLEET FLEET_WORKER
#
# Checks: no credentials -> refused; credentials from the environment -> connected; the password
# appears neither in --help, nor in the worker's log, nor in an error message; FLEET_NATS_TOKEN
# -> connected; TLS with FLEET_NATS_CA -> connected, without it -> refused; mutual TLS with
# FLEET_NATS_CERT/KEY -> connected, without them -> refused.
set -euo pipefail

fleet=$1
worker=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/fleet-security.XXXXXX")
server_pid=""
password="pw-$RANDOM$RANDOM-secret"

cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "nats_security: FAIL: $*" >&2
  exit 1
}

free_port() {
  local p
  while :; do
    p=$((10000 + RANDOM % 22000)) # below the ephemeral range (32768-)
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || break
  done
  echo "$p"
}

# start_server ARGS...: nats-server with JetStream on a free port; sets url.
start_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
  fi
  local port i try
  # A port found free can be taken before the server binds it: a server that exits before it
  # is ready gets another port (three tries).
  for try in 1 2 3; do
    port=$(free_port)
    rm -rf "$work/store" "$work/server.log"
    nats-server -js -a 127.0.0.1 -p "$port" -sd "$work/store" -l "$work/server.log" "$@" &
    server_pid=$!
    # Ready once it says so (a TLS server with JetStream can take seconds on a loaded machine).
    for i in $(seq 1 300); do
      grep -q "Server is ready" "$work/server.log" 2>/dev/null && break
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    if grep -q "Server is ready" "$work/server.log" 2>/dev/null; then
      url="nats://127.0.0.1:$port"
      return
    fi
    kill -0 "$server_pid" 2>/dev/null || { wait "$server_pid" 2>/dev/null || true; continue; }
    break
  done
  tail -n 5 "$work/server.log" >&2 2>/dev/null || true
  fail "nats-server $* did not start"
}

# --- user and password
start_server --user fleet --pass "$password"

if "$fleet" streams --nats "$url" >"$work/out" 2>&1; then fail "connected without credentials"; fi
grep -qi "authorization" "$work/out" || fail "no authorization error: $(cat "$work/out")"

FLEET_NATS_USER=fleet FLEET_NATS_PASSWORD=wrong "$fleet" streams --nats "$url" >"$work/out" 2>&1 &&
  fail "connected with a wrong password"

FLEET_NATS_USER=fleet FLEET_NATS_PASSWORD=$password "$fleet" streams --nats "$url" \
  >"$work/out" 2>&1 || fail "fleet streams with credentials: $(cat "$work/out")"

# A password inside the URL must not come back in an error message.
if "$fleet" streams --nats "nats://fleet:$password@127.0.0.1:1" >"$work/out" 2>&1; then
  fail "connected to port 1"
fi
grep -q "$password" "$work/out" && fail "password in an error message: $(cat "$work/out")"

FLEET_NATS_PASSWORD=$password "$worker" --help >"$work/help" 2>&1 || true
grep -q "$password" "$work/help" && fail "password in --help"
grep -q -- "--nats-password" "$work/help" || fail "--help does not list --nats-password"

FLEET_NATS_USER=fleet FLEET_NATS_PASSWORD=$password FLEET_ROLE=payment \
  "$worker" --nats "$url" >"$work/worker.log" 2>&1 &
worker_pid=$!
for _ in $(seq 1 150); do
  grep -q '"worker started"' "$work/worker.log" && break
  kill -0 "$worker_pid" 2>/dev/null || break
  sleep 0.1
done
kill "$worker_pid" 2>/dev/null || true
wait "$worker_pid" 2>/dev/null || true
grep -q '"worker started"' "$work/worker.log" || fail "worker did not start: $(cat "$work/worker.log")"
grep -q "$password" "$work/worker.log" && fail "password in the worker log"

# --- token
start_server --auth "$password"
if "$fleet" streams --nats "$url" >"$work/out" 2>&1; then fail "connected without the token"; fi
FLEET_NATS_TOKEN=$password "$fleet" streams --nats "$url" >"$work/out" 2>&1 ||
  fail "fleet streams with the token: $(cat "$work/out")"

# --- TLS: a CA and a server certificate for 127.0.0.1, made now
(
  cd "$work"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=fleet test CA" \
    -keyout ca.key -out ca.pem
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr
  printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
    -extfile san.ext -out server.pem
  openssl req -newkey rsa:2048 -nodes -subj "/CN=fleet-worker" -keyout client.key -out client.csr
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
    -out client.pem
) >"$work/openssl.log" 2>&1 || fail "openssl: $(cat "$work/openssl.log")"

start_server --tls --tlscert "$work/server.pem" --tlskey "$work/server.key"

FLEET_NATS_CA=$work/ca.pem "$fleet" streams --nats "$url" >"$work/out" 2>&1 ||
  fail "fleet streams over TLS with the CA: $(cat "$work/out")"
if "$fleet" streams --nats "$url" >"$work/out" 2>&1; then
  fail "connected to a TLS-only server without TLS"
fi
if "$fleet" streams --nats "$url" --nats-tls >"$work/out" 2>&1; then
  fail "trusted a certificate from an unknown CA"
fi

# --- mutual TLS: the server also wants a client certificate from the CA
start_server --tlsverify --tlscert "$work/server.pem" --tlskey "$work/server.key" \
  --tlscacert "$work/ca.pem"
FLEET_NATS_CA=$work/ca.pem FLEET_NATS_CERT=$work/client.pem FLEET_NATS_KEY=$work/client.key \
  "$fleet" streams --nats "$url" >"$work/out" 2>&1 ||
  fail "fleet streams with a client certificate: $(cat "$work/out")"
if FLEET_NATS_CA=$work/ca.pem "$fleet" streams --nats "$url" >"$work/out" 2>&1; then
  fail "connected to a mutual-TLS server without a client certificate"
fi

echo "nats_security: PASS" >&2
