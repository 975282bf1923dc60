#!/usr/bin/env bash
# fleet under the operators' own tools: a real nats-server, fleet-test-worker processes serving
# /metrics, and Prometheus 2.42 / promtool from the Debian package `prometheus`.
#
#   prometheus.sh lint      FLEET FLEET_TEST_WORKER
#   prometheus.sh names     FLEET FLEET_TEST_WORKER
#   prometheus.sh alerts    FLEET FLEET_TEST_WORKER
#   prometheus.sh relay     FLEET FLEET_TEST_WORKER
#   prometheus.sh sagas     FLEET FLEET_TEST_WORKER FLEET_WORKER
#
# lint:   a live worker's /metrics (after handled events and dead letters) and a live outbox
#         relay's /metrics pass `promtool check metrics` without a single complaint.
# names:  every metric name the Grafana dashboard (compose/grafana/dashboards/fleet.json), the
#         alert rules (compose/prometheus/alerts.yml) and the metrics table of docs/operations.md
#         use is one a live worker or the live outbox relay exports.
# alerts: a Prometheus (temp data dir, free loopback port, 1 s scrape and evaluation) scrapes two
#         workers and an outbox relay and loads the real alert rules with every `for:` cut to
#         1 s. 11 dead letters fire FleetDeadLettersPiling; draining the DLQ resolves it. One
#         query per metric family the docs promise answers with the value the workers were
#         driven to. A worker that stops answering fires FleetWorkerNotReady; a relay that stops,
#         FleetOutboxRelayDown.
# relay:  `fleet outbox relay --metrics-addr` on a real PostgreSQL 15: its /metrics counts the
#         rows it relayed, the publishes that failed, the backlog `fleet outbox status` counts,
#         the age of the oldest waiting row and the lag of relayed rows from their append.
# sagas:  the demo's order saga (fleet-worker roles orders, inventory, payment, shipping) under a
#         Prometheus: sagas by status, queried through its HTTP API, match the orders placed
#         (3 completed; 2 declined by payment, compensated and failed).
set -euo pipefail

mode=$1
fleet=$2
worker=$3
fleet_worker=${4:-}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/fleet-prometheus.XXXXXX")
pids=()

cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "prometheus.sh $mode: FAIL: $*" >&2
  exit 1
}

# eventually DESCRIPTION COMMAND...: runs COMMAND until it succeeds; fails after 30 s.
eventually() {
  local what=$1 _
  shift
  for _ in $(seq 1 300); do
    "$@" && return 0
    sleep 0.1
  done
  fail "never: $what"
}

free_port() {
  local p
  while :; do
    p=$((10000 + RANDOM % 22000)) # below the ephemeral range (32768-)
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || break
  done
  echo "$p"
}

# --- fleet: nats-server and workers -------------------------------------------------------------

start_nats() {
  nats-server -js -a 127.0.0.1 -p -1 -sd "$work/nats" -l "$work/nats.log" &
  pids+=($!)
  local port=""
  find_port() {
    port=$(sed -n 's/.*Listening for client connections on 127.0.0.1:\([0-9]*\).*/\1/p' \
      "$work/nats.log" 2>/dev/null | head -n1)
    [ -n "$port" ] && grep -q "Server is ready" "$work/nats.log"
  }
  eventually "nats-server is ready" find_port
  export FLEET_NATS_URL="nats://127.0.0.1:$port"
}

# start_worker ROLE [BINARY]: a worker (fleet-test-worker unless BINARY) of ROLE with /metrics
# on a free port; sets metrics_addr and worker_pid.
start_worker() {
  local role=$1 binary=${2:-$worker} log="$work/worker-$1.log"
  FLEET_TEST_EFFECTS="$work/effects" "$binary" --role "$role" --backoff-ms 20 \
    --metrics-addr 127.0.0.1:0 >"$log" 2>&1 &
  worker_pid=$!
  pids+=("$worker_pid")
  started() {
    kill -0 "$worker_pid" 2>/dev/null || fail "the $role worker exited: $(cat "$log")"
    grep -q '"worker started"' "$log" 2>/dev/null
  }
  eventually "the $role worker starts" started
  metrics_addr=$(sed -n 's/.*"metrics":"\([^"]*\)".*/\1/p' "$log" | head -n1)
  [ -n "$metrics_addr" ] || fail "no metrics address in the $role worker's log: $(cat "$log")"
}

# start_relay DB [FLAGS...]: `fleet outbox relay` on DB with /metrics on a free port; sets
# relay_addr and relay_pid.
start_relay() {
  local db=$1 log="$work/relay.log"
  shift
  "$fleet" outbox relay --db "$db" --metrics-addr 127.0.0.1:0 "$@" >"$log" 2>&1 &
  relay_pid=$!
  pids+=("$relay_pid")
  relay_started() {
    kill -0 "$relay_pid" 2>/dev/null || fail "the relay exited: $(cat "$log")"
    grep -q 'outbox relay: started' "$log" 2>/dev/null
  }
  eventually "the outbox relay starts" relay_started
  relay_addr=$(sed -n 's/.*outbox relay: started .*; metrics \([0-9.:]*\).*/\1/p' "$log" | head -n1)
  [ -n "$relay_addr" ] || fail "no metrics address in the relay's log: $(cat "$log")"
}

# relay_metric NAME: the value of an unlabelled sample in the relay's /metrics ("" if absent).
relay_metric() {
  curl -sf "http://$relay_addr/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

relay_metric_is() { [ "$(relay_metric "$1")" = "$2" ]; }

# publish SUBJECT DATA COUNT: COUNT bench.Payload events, each confirmed by the broker.
publish() {
  "$fleet" publish --subject "$1" --type bench.Payload --data "{\"seq\":1,\"data\":\"$2\"}" \
    --count "$3" >"$work/publish.out" 2>&1 || fail "fleet publish: $(cat "$work/publish.out")"
}

# scraped_total ADDR METRIC ROLE: the sum of METRIC's samples with role="ROLE" in a scrape.
scraped_total() {
  curl -sf "http://$1/metrics" |
    awk -v m="$2" -v r="role=\"$3\"" 'index($0, m "{") == 1 && index($0, r) { s += $NF }
      END { print s + 0 }'
}

scraped_equals() { [ "$(scraped_total "$1" "$2" "$3")" = "$4" ]; }

# A worker of role `permanent` that handled 5 events and dead-lettered 3 (handled, failed,
# dead-lettered counters, the latency histogram, consumer backlog and DLQ depth all present).
busy_worker() {
  start_nats
  start_worker permanent
  publish tests.permanent.good ok 5
  publish tests.permanent.bad bad 3
  eventually "5 handled" scraped_equals "$metrics_addr" fleet_messages_handled_total permanent 5
  eventually "3 dead-lettered" \
    scraped_equals "$metrics_addr" fleet_messages_dead_lettered_total permanent 3
  curl -sf "http://$metrics_addr/metrics" >"$work/scrape.txt" || fail "GET /metrics"
}

# --- lint ---------------------------------------------------------------------------------------

# busy_worker, and an outbox relay (SQLite, empty) that answered a scrape: relay-scrape.txt.
busy_worker_and_relay() {
  busy_worker
  start_relay "sqlite:$work/outbox.db"
  curl -sf "http://$relay_addr/metrics" >"$work/relay-scrape.txt" || fail "GET relay /metrics"
  grep -q '^fleet_outbox_pending_rows 0$' "$work/relay-scrape.txt" ||
    fail "the relay reports no empty backlog: $(cat "$work/relay-scrape.txt")"
}

lint() {
  busy_worker_and_relay
  local out scrape
  for scrape in scrape relay-scrape; do
    out=$(promtool check metrics <"$work/$scrape.txt" 2>&1) ||
      fail "promtool check metrics exited non-zero on $scrape.txt: $out"
    [ -z "$out" ] || fail "promtool check metrics complains about $scrape.txt:"$'\n'"$out"
    echo "prometheus.sh lint: promtool check metrics accepts" \
      "$(grep -vc '^#' "$work/$scrape.txt") samples of $scrape.txt"
  done
}

# --- names --------------------------------------------------------------------------------------

# Metric names a scrape exports: every sample's name, and every declared family (a histogram
# family stands for its _bucket, _sum and _count series).
exported_names() {
  {
    grep -v '^#' "$1" | sed 's/[{ ].*//'
    awk '$1 == "#" && $2 == "TYPE" {
           print $3
           if ($4 == "histogram") { print $3 "_bucket"; print $3 "_sum"; print $3 "_count" } }' "$1"
  } | sort -u
}

names() {
  busy_worker_and_relay
  { exported_names "$work/scrape.txt" && exported_names "$work/relay-scrape.txt"; } |
    sort -u >"$work/exported"
  local dashboard="$root/compose/grafana/dashboards/fleet.json"
  local -A sources
  # PromQL of every panel target and of the template variables.
  sources[dashboard]=$(jq -r '(.. | objects | select(has("expr")) | .expr),
    (.templating.list[] | .definition // empty)' "$dashboard") ||
    fail "cannot read $dashboard"
  sources[alerts]=$(grep -v '^ *#' "$root/compose/prometheus/alerts.yml")
  # The metrics table: rows start with "| `fleet_".
  sources[docs]=$(grep '^| `fleet_' "$root/docs/operations.md")
  local source name used missing=""
  for source in dashboard alerts docs; do
    used=$(grep -o 'fleet_[a-z_]*[a-z]' <<<"${sources[$source]}" | sort -u)
    [ -n "$used" ] || fail "$source uses no fleet metric at all"
    for name in $used; do
      grep -qx "$name" "$work/exported" || missing+=" $source:$name"
    done
    echo "prometheus.sh names: $source uses $(wc -w <<<"$used") fleet metrics"
  done
  [ -z "$missing" ] || fail "not exported by fleet-worker or the outbox relay:$missing"$'\n'"exported: $(tr '\n' ' ' <"$work/exported")"
  echo "prometheus.sh names: every one is exported by a live worker or the outbox relay"
}

# --- alerts -------------------------------------------------------------------------------------

prom_port=""

# query PROMQL: the result vector of an instant query, as JSON.
query() {
  curl -sf "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" |
    jq -c '.data.result'
}

# value PROMQL: the single value of an instant query ("" when the result is empty).
value() { query "$1" | jq -r 'if length == 1 then .[0].value[1] else "" end'; }

value_is() { [ "$(value "$1")" = "$2" ]; }

# alert NAME: the active alerts of that name (state pending or firing), as JSON.
alerts_named() {
  curl -sf "http://127.0.0.1:$prom_port/api/v1/alerts" |
    jq -c --arg n "$1" '[.data.alerts[] | select(.labels.alertname == $n)]'
}

firing() {
  [ "$(alerts_named "$1" | jq --arg s "${2:-}" \
    '[.[] | select(.state == "firing" and ($s == "" or .labels.service == $s))] | length')" -ge 1 ]
}

# firing_roles_are NAME ROLES: NAME fires for exactly these roles (comma-separated, sorted).
firing_roles_are() {
  [ "$(alerts_named "$1" |
    jq -r '[.[] | select(.state == "firing") | .labels.role] | sort | join(",")')" = "$2" ]
}

not_active() { [ "$(alerts_named "$1" | jq length)" = 0 ]; }

start_prometheus() {
  # The real rules, every `for:` cut to 1 s so the test does not wait minutes.
  sed -E 's/^( *for:) .*/\1 1s/' "$root/compose/prometheus/alerts.yml" >"$work/alerts.yml"
  grep -q 'for: 1s' "$work/alerts.yml" || fail "no 'for:' in alerts.yml to shorten"
  cat >"$work/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [alerts.yml]
scrape_configs:
  - job_name: fleet-workers
    static_configs:
      - targets: ["$permanent_addr"]
        labels: {service: permanent}
      - targets: ["$record_addr"]
        labels: {service: record}
  - job_name: fleet-outbox-relay
    static_configs:
      - targets: ["$relay_addr"]
EOF
  promtool check config "$work/prometheus.yml" >"$work/promtool.out" 2>&1 ||
    fail "test config: $(cat "$work/promtool.out")"
  prom_port=$(free_port)
  prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
  pids+=($!)
  local prom_pid=$!
  ready() {
    kill -0 "$prom_pid" 2>/dev/null || fail "prometheus exited: $(tail -n5 "$work/prometheus.log")"
    curl -sf "http://127.0.0.1:$prom_port/-/ready" >/dev/null
  }
  eventually "prometheus is ready" ready
}

alerts() {
  start_nats
  start_worker permanent
  permanent_addr=$metrics_addr
  start_worker record
  record_addr=$metrics_addr
  local record_pid=$worker_pid
  start_relay "sqlite:$work/outbox.db"
  start_prometheus
  eventually "both workers are up" value_is 'sum(up{job="fleet-workers"})' 2
  eventually "the outbox relay is up" value_is 'up{job="fleet-outbox-relay"}' 1
  value_is 'fleet_outbox_pending_rows' 0 || fail "relay backlog: $(query fleet_outbox_pending_rows)"

  # Two rounds each, so Prometheus sees every counter rise (a rate needs two samples).
  publish tests.record.a ok 10
  publish tests.permanent.good ok 4
  publish tests.permanent.bad bad 1
  eventually "10 handled by record, seen by Prometheus" \
    value_is 'sum(fleet_messages_handled_total{role="record"})' 10
  eventually "1 dead letter, seen by Prometheus" \
    value_is 'sum(fleet_messages_dead_lettered_total{role="permanent"})' 1
  not_active FleetDeadLettersPiling || fail "FleetDeadLettersPiling with 1 dead letter"
  publish tests.record.a ok 20
  publish tests.permanent.good ok 4
  publish tests.permanent.bad bad 10
  eventually "30 handled by record" value_is 'sum(fleet_messages_handled_total{role="record"})' 30
  eventually "11 dead letters" \
    value_is 'sum(fleet_messages_dead_lettered_total{role="permanent",error_class="permanent"})' 11

  eventually "FleetDeadLettersPiling fires" firing FleetDeadLettersPiling
  alerts_named FleetDeadLettersPiling | jq -e '.[0].annotations.summary == "11 messages in the DLQ"' \
    >/dev/null || fail "summary: $(alerts_named FleetDeadLettersPiling)"
  echo "prometheus.sh alerts: FleetDeadLettersPiling firing at 11 dead letters"

  # One query per metric family of docs/operations.md.
  value_is 'max(fleet_dlq_depth)' 11 || fail "DLQ depth: $(value 'max(fleet_dlq_depth)')"
  value_is 'sum(fleet_messages_handled_total{role="permanent"})' 8 || fail "permanent handled 8"
  value_is 'sum by (role) (fleet_messages_failed_total{role="permanent"})' 11 ||
    fail "failed: $(query 'fleet_messages_failed_total')"
  [ "$(query 'fleet_messages_failed_total{role="record"}')" = "[]" ] || fail "record failed"
  local rate
  rate=$(value 'sum(rate(fleet_messages_handled_total{role="record"}[1m]))')
  awk -v r="$rate" 'BEGIN { exit !(r > 0) }' || fail "handled rate of record: '$rate'"
  eventually "FleetErrorRate fires for permanent" firing_roles_are FleetErrorRate permanent
  local p99
  p99=$(value 'histogram_quantile(0.99, sum by (le) (rate(fleet_handler_duration_seconds_bucket{role="record"}[1m])))')
  awk -v q="$p99" 'BEGIN { exit !(q > 0 && q <= 10) }' || fail "p99 of record: '$p99'"
  value_is 'sum(fleet_handler_duration_seconds_count{role="record"})' 30 || fail "histogram count"
  value_is 'sum(fleet_handler_duration_seconds_bucket{role="record",le="+Inf"})' 30 ||
    fail "histogram +Inf bucket"
  eventually "record's durable has no backlog" \
    value_is 'sum(fleet_consumer_pending{role="record"}) + sum(fleet_consumer_ack_pending{role="record"})' 0
  [ "$(query 'fleet_consumer_pending{role="record"}' | jq 'length')" = 1 ] ||
    fail "consumer pending of record: $(query 'fleet_consumer_pending')"
  eventually "nothing in flight" value_is 'sum(fleet_in_flight)' 0
  [ "$(query 'fleet_in_flight' | jq 'length')" = 2 ] || fail "in flight: $(query fleet_in_flight)"
  echo "prometheus.sh alerts: handled rate $rate/s, record p99 ${p99}s, backlog 0, in flight 0"

  # Drain the DLQ: the alert resolves.
  "$fleet" dlq purge --yes >"$work/purge.out" 2>&1 || fail "fleet dlq purge: $(cat "$work/purge.out")"
  eventually "the DLQ depth reaches Prometheus as 0" value_is 'max(fleet_dlq_depth)' 0
  eventually "FleetDeadLettersPiling resolves" not_active FleetDeadLettersPiling
  echo "prometheus.sh alerts: FleetDeadLettersPiling resolved after fleet dlq purge"

  # A worker that stops answering.
  not_active FleetWorkerNotReady || fail "FleetWorkerNotReady while both answer"
  { kill -KILL "$record_pid" && wait "$record_pid"; } 2>/dev/null || true
  eventually "FleetWorkerNotReady fires for record" firing FleetWorkerNotReady record
  [ "$(alerts_named FleetWorkerNotReady | jq length)" = 1 ] ||
    fail "only record is down: $(alerts_named FleetWorkerNotReady)"
  echo "prometheus.sh alerts: FleetWorkerNotReady firing for the killed worker"

  not_active FleetOutboxRelayDown || fail "FleetOutboxRelayDown while the relay answers"
  { kill -KILL "$relay_pid" && wait "$relay_pid"; } 2>/dev/null || true
  eventually "FleetOutboxRelayDown fires" firing FleetOutboxRelayDown
  echo "prometheus.sh alerts: FleetOutboxRelayDown firing for the killed relay"
}

# --- relay --------------------------------------------------------------------------------------

# On a real PostgreSQL 15 with fleet's outbox schema (created by `fleet outbox status`):
#   - 4 rows for a stream that exists, appended 10 s ago: relayed, each with a lag of >= 10 s;
#   - 1 row for a subject no stream takes: refused once, flagged (--max-attempts 1);
#   - 2 rows not due for centuries, appended 60 s and 30 s ago: the waiting backlog;
#   - 1 row flagged and 2 sent earlier: counted, never touched.
relay() {
  # shellcheck source=/dev/null
  source "$root/scripts/lib/setup.sh"
  fleet_start_postgres 2>"$work/postgres.log" || fail "PostgreSQL: $(cat "$work/postgres.log")"
  trap 'fleet_stop_postgres; cleanup' EXIT
  local db=$FLEET_PG_URL status
  start_nats
  "$fleet" streams add RELAYTEST --subjects 'tests.relay.>' >"$work/streams.out" 2>&1 ||
    fail "fleet streams add: $(cat "$work/streams.out")"
  "$fleet" outbox status --db "$db" >"$work/status.out" 2>&1 ||
    fail "fleet outbox status: $(cat "$work/status.out")"
  psql -q -v ON_ERROR_STOP=1 "$db" >"$work/psql.out" 2>&1 <<'SQL' || fail "insert: $(cat "$work/psql.out")"
\set now '(extract(epoch FROM clock_timestamp()) * 1000)::bigint'
INSERT INTO fleet_outbox (event_id, subject, headers, body, created_at, available_at, flagged_at, sent_at) VALUES
  ('r1', 'tests.relay.a', '', '\x00', :now - 10000, 0, NULL, NULL),
  ('r2', 'tests.relay.a', '', '\x00', :now - 10000, 0, NULL, NULL),
  ('r3', 'tests.relay.a', '', '\x00', :now - 10000, 0, NULL, NULL),
  ('r4', 'tests.relay.a', '', '\x00', :now - 10000, 0, NULL, NULL),
  ('x1', 'tests.nostream.a', '', '\x00', :now, 0, NULL, NULL),
  ('w1', 'tests.relay.a', '', '\x00', :now - 60000, 9000000000000, NULL, NULL),
  ('w2', 'tests.relay.a', '', '\x00', :now - 30000, 9000000000000, NULL, NULL),
  ('f1', 'tests.relay.a', '', '\x00', :now, 0, 1700000000000, NULL),
  ('s1', 'tests.relay.a', '', '\x00', :now, 0, NULL, 1700000000000),
  ('s2', 'tests.relay.a', '', '\x00', :now, 0, NULL, 1700000000000);
SQL
  start_relay "$db" --max-attempts 1 --retry-delay 0
  eventually "4 rows relayed" relay_metric_is fleet_outbox_relayed_total 4
  eventually "the unroutable row flagged" relay_metric_is fleet_outbox_flagged_total 1
  curl -sf "http://$relay_addr/metrics" >"$work/relay-scrape.txt" || fail "GET relay /metrics"
  metric() { awk -v m="$1" '$1 == m { print $2 }' "$work/relay-scrape.txt"; }
  [ "$(metric fleet_outbox_pending_rows)" = 2 ] ||
    fail "pending rows: '$(metric fleet_outbox_pending_rows)'"
  [ "$(metric fleet_outbox_flagged_rows)" = 2 ] ||
    fail "flagged rows: '$(metric fleet_outbox_flagged_rows)'"
  status=$("$fleet" outbox status --db "$db" --json | jq -r '"\(.pending) \(.flagged)"')
  [ "$status" = "2 2" ] || fail "fleet outbox status says '$status' (pending flagged), expected '2 2'"
  local failures age lag_count lag_sum lag_5s
  failures=$(metric fleet_outbox_publish_failures_total)
  [ "${failures:-0}" -ge 1 ] || fail "publish failures: '$failures'"
  age=$(metric fleet_outbox_oldest_pending_age_seconds)
  awk -v a="$age" 'BEGIN { exit !(a >= 60 && a < 3600) }' || fail "oldest pending age: '$age'"
  lag_count=$(metric fleet_outbox_relay_lag_seconds_count)
  lag_sum=$(metric fleet_outbox_relay_lag_seconds_sum)
  lag_5s=$(metric 'fleet_outbox_relay_lag_seconds_bucket{le="5"}')
  [ "$lag_count" = 4 ] || fail "lag count: '$lag_count'"
  [ "$lag_5s" = 0 ] || fail "rows appended 10 s ago counted as relayed within 5 s: '$lag_5s'"
  awk -v s="$lag_sum" 'BEGIN { exit !(s >= 40) }' || fail "lag sum: '$lag_sum'"
  curl -sf "http://$relay_addr/readyz" >/dev/null || fail "the relay is not ready"
  echo "prometheus.sh relay: relayed 4, flagged 1 after $failures failure(s), backlog 2 pending /" \
    "2 flagged as fleet outbox status says, oldest waiting ${age}s, lag sum ${lag_sum}s over 4 rows"
}

# --- sagas --------------------------------------------------------------------------------------

sagas() {
  [ -x "$fleet_worker" ] || fail "give the fleet-worker binary as the 4th argument"
  start_nats
  local role
  for role in inventory payment shipping; do start_worker "$role" "$fleet_worker"; done
  start_worker orders "$fleet_worker"
  local orders_addr=$metrics_addr
  # 3 orders within the payment limit (FLEET_DEMO_AMOUNT_LIMIT, 50,000 cents) and 2 above it.
  : >"$work/orders.jsonl"
  local i amount
  for i in 1 2 3 4 5; do
    amount=1000
    [ "$i" -gt 3 ] && amount=90000
    printf '{"order_id":"o-%s","customer_id":"c-1","sku":"sku-1","quantity":1,"amount_cents":%s,"region":"north"}\n' \
      "$i" "$amount" >>"$work/orders.jsonl"
  done
  "$fleet" publish --subject orders.placed --type orders.OrderPlaced --file "$work/orders.jsonl" \
    >"$work/publish.out" 2>&1 || fail "fleet publish: $(cat "$work/publish.out")"

  prom_port=$(free_port)
  cat >"$work/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: fleet-workers
    static_configs:
      - targets: ["$orders_addr"]
        labels: {service: orders}
YAML
  prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
  pids+=($!)
  local prom_pid=$!
  ready() {
    kill -0 "$prom_pid" 2>/dev/null || fail "prometheus exited: $(tail -n5 "$work/prometheus.log")"
    curl -sf "http://127.0.0.1:$prom_port/-/ready" >/dev/null
  }
  eventually "prometheus is ready" ready
  eventually "the orchestrator is up" value_is 'up{job="fleet-workers"}' 1

  by_status() {
    query 'sum by (status) (fleet_sagas_ended_total{role="orders"})' |
      jq -r 'map("\(.metric.status)=\(.value[1])") | sort | join(",")'
  }
  by_status_is() { [ "$(by_status)" = "$1" ]; }
  eventually "5 sagas ended: 3 completed, 2 failed" by_status_is "completed=3,failed=2"
  value_is 'sum(fleet_sagas_started_total{role="orders",saga="order_fulfilment"})' 5 ||
    fail "started: $(query fleet_sagas_started_total)"
  eventually "no saga active" value_is 'sum(fleet_sagas_active{role="orders"})' 0
  echo "prometheus.sh sagas: Prometheus counts 5 started, $(by_status), 0 active"
}

case "$mode" in
  lint) lint ;;
  names) names ;;
  alerts) alerts ;;
  relay) relay ;;
  sagas) sagas ;;
  *) fail "unknown mode (lint, names, alerts, relay, sagas)" ;;
esac
