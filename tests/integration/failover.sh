#!/usr/bin/env bash
# Failover: the order saga demo keeps every order while a NATS server dies mid-run.
#
#   failover.sh FLEET_DEMO cluster   3-node cluster (scripts/cluster), streams and buckets R3; the
#                                    node with the most clients is SIGKILLed and restarted
#   failover.sh FLEET_DEMO single    one nats-server, stopped (SIGTERM) and started again on the
#                                    same port and store
#
# Passes when fleet-demo exits 0 and its summary says lost 0, no failed publish, no rule
# violation, nothing dead-lettered (with the default max attempts), every placed order ended;
# and at least one worker logged a reconnect. Nothing here
# asserts how long anything took.
set -euo pipefail

demo=$1
mode=${2:-cluster}
root=$(cd "$(dirname "$0")/../.." && pwd)
orders=400
work=$(mktemp -d "${TMPDIR:-/tmp}/fleet-failover.XXXXXX")
cluster=("$root/scripts/cluster" --dir "$work/cluster")
server_pid=""

cleanup() {
  [ -n "${demo_pid:-}" ] && kill "$demo_pid" 2>/dev/null || true
  if [ "$mode" = cluster ]; then
    "${cluster[@]}" down >/dev/null 2>&1 || true
  elif [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "${passed:-0}" = 1 ]; then rm -rf "$work"; else echo "failover: kept $work" >&2; fi
}
trap cleanup EXIT

fail() {
  echo "failover: FAIL: $*" >&2
  echo "--- demo stderr (tail)" >&2
  tail -n 20 "$work/demo.err" >&2 || true
  exit 1
}

# One nats-server with JetStream on a fixed port, so a restart comes back at the same address.
single_port=""
start_single() {
  nats-server -js -a 127.0.0.1 -p "$single_port" -sd "$work/store" -l "$work/server.log" &
  server_pid=$!
  local i
  for i in $(seq 1 150); do
    (exec 3<>"/dev/tcp/127.0.0.1/$single_port") 2>/dev/null && return 0
    sleep 0.1
  done
  fail "nats-server did not listen on $single_port"
}

if [ "$mode" = cluster ]; then
  urls=$("${cluster[@]}" up)
  replicas=3
else
  while :; do
    single_port=$((10000 + RANDOM % 22000)) # below the ephemeral range (32768-)
    (exec 3<>"/dev/tcp/127.0.0.1/$single_port") 2>/dev/null || break
  done
  start_single
  urls="nats://127.0.0.1:$single_port"
  replicas=1
fi

# A fixed offered load keeps orders flowing while the server is down and comes back. While a
# stream elects a new leader (seconds) publishes are refused ("no responders"); a worker holds
# the message whose follow-ups were refused and publishes them again, so the outage costs no
# attempt: the default max attempts hold, and nothing may be dead-lettered.
# A saga step's timeout is raised: a step stalled by the election would time out and
# compensate, which the demo's rules count as a violation. (The workers inherit this.)
export FLEET_DEMO_STEP_TIMEOUT_MS=60000
"$demo" --json --keep-logs --nats "$urls" --stream-replicas "$replicas" --orders "$orders" \
  --rate 40 --stall-seconds 90 --summary-db "$work/summary.db" \
  >"$work/summary.json" 2>"$work/demo.err" &
demo_pid=$!

# Mid-run: once orders are being placed.
for _ in $(seq 1 600); do
  grep -q "placed [1-9]" "$work/demo.err" 2>/dev/null && break
  kill -0 "$demo_pid" 2>/dev/null || fail "fleet-demo ended before placing orders"
  sleep 0.1
done
sleep 2

if [ "$mode" = cluster ]; then
  "${cluster[@]}" status >&2 || true
  victim=$("${cluster[@]}" status | awk '{print $NF, $1}' | sort -rn | head -n1 | awk '{print $2}')
  victim=${victim#n}
  echo "failover: SIGKILL node n$victim" >&2
  "${cluster[@]}" kill "$victim"
  sleep 3
  echo "failover: restart node n$victim" >&2
  "${cluster[@]}" start "$victim"
else
  echo "failover: stop nats-server" >&2
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  sleep 3
  echo "failover: start nats-server" >&2
  start_single
fi

status=0
wait "$demo_pid" || status=$?
demo_pid=""
summary=$(cat "$work/summary.json")
echo "failover: summary $summary" >&2
[ -n "$summary" ] || fail "no summary"
field() { jq -r "$1" <<<"$summary"; }
[ "$(field .lost)" = 0 ] || fail "lost $(field .lost)"
[ "$(field .placed)" = "$orders" ] || fail "placed $(field .placed) of $orders"
[ "$(field .publish_failed)" = 0 ] || fail "publish_failed $(field .publish_failed)"
[ "$(field .rule_violations)" = 0 ] || fail "rule violations $(field .rule_violations)"
[ "$(field .dead_lettered)" = 0 ] || fail "dead-lettered $(field .dead_lettered) during the outage"
ended=$(($(field .completed) + $(field .compensated)))
[ "$ended" = "$orders" ] || fail "ended $ended of $orders"
[ "$status" = 0 ] || fail "fleet-demo exited $status"
logs=$(field .worker_logs)
grep -q '"msg":"nats reconnected"' "$logs"/*.log || fail "no worker logged a reconnect ($logs)"
grep -h '"msg":"nats \(dis\|re\)connected"' "$logs"/*.log | head -n 4 >&2
rm -rf "$logs"
passed=1
echo "failover: PASS ($mode)" >&2
