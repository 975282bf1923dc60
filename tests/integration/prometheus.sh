#!/usr/bin/env bash
# fleet under the operators' own tools: a real nats-server, fleet-test-worker processes serving
# /metrics, and Prometheus 2.42 / promtool from the Debian package `prometheus`.
#
#   prometheus.sh lint      FLEET FLEET_TEST_WORKER
#   prometheus.sh names     FLEET FLEET_TEST_WORKER
#   prometheus.sh alerts    FLEET FLEET_TEST_WORKER
#   prometheus.sh outbox    FLEET FLEET_TEST_WORKER
#
# lint:   a live worker's /metrics (after handled events and dead letters) passes
#         `promtool check metrics` without a single complaint.
# names:  every metric name the Grafana dashboard (compose/grafana/dashboards/fleet.json), the
#         alert rules (compose/prometheus/alerts.yml) and the metrics table of docs/operations.md
#         use is one a live worker exports.
# alerts: a Prometheus (temp data dir, free loopback port, 1 s scrape and evaluation) scrapes two
#         workers and loads the real alert rules with every `for:` cut to 1 s. 11 dead letters
#         fire FleetDeadLettersPiling; draining the DLQ resolves it. One query per metric family
#         the docs promise answers with the value the workers were driven to. A worker that stops
#         answering fires FleetWorkerNotReady.
# outbox: the dashboard's outbox-backlog SQL, run on a real PostgreSQL 15 with fleet's outbox
#         schema, counts what `fleet outbox status` counts.
set -euo pipefail

mode=$1
fleet=$2
worker=$3
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
    p=$((20000 + RANDOM % 40000))
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

# start_worker ROLE: a fleet-test-worker of ROLE with /metrics on a free port; sets
# metrics_addr and worker_pid.
start_worker() {
  local role=$1 log="$work/worker-$1.log"
  FLEET_TEST_EFFECTS="$work/effects" "$worker" --role "$role" --backoff-ms 20 \
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

lint() {
  busy_worker
  local out
  out=$(promtool check metrics <"$work/scrape.txt" 2>&1) ||
    fail "promtool check metrics exited non-zero: $out"
  [ -z "$out" ] || fail "promtool check metrics complains:"$'\n'"$out"
  echo "prometheus.sh lint: promtool check metrics accepts $(grep -vc '^#' "$work/scrape.txt") samples"
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
  busy_worker
  exported_names "$work/scrape.txt" >"$work/exported"
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
  [ -z "$missing" ] || fail "not exported by fleet-worker:$missing"$'\n'"exported: $(tr '\n' ' ' <"$work/exported")"
  echo "prometheus.sh names: every one is exported by a live worker"
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
  start_prometheus
  eventually "both workers are up" value_is 'sum(up{job="fleet-workers"})' 2

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
}

# --- outbox -------------------------------------------------------------------------------------

# The dashboard's outbox panel runs its SQL on the outbox's PostgreSQL: against fleet's own schema
# (created by `fleet outbox status`) it counts what `fleet outbox status` counts.
outbox() {
  # shellcheck source=/dev/null
  source "$root/scripts/lib/setup.sh"
  fleet_start_postgres 2>"$work/postgres.log" || fail "PostgreSQL: $(cat "$work/postgres.log")"
  trap 'fleet_stop_postgres; cleanup' EXIT
  local db=$FLEET_PG_URL sql status panel
  "$fleet" outbox status --db "$db" >"$work/status.out" 2>&1 ||
    fail "fleet outbox status: $(cat "$work/status.out")"
  # 3 pending, 1 flagged, 2 sent.
  psql -q -v ON_ERROR_STOP=1 "$db" >"$work/psql.out" 2>&1 <<'SQL' || fail "insert: $(cat "$work/psql.out")"
INSERT INTO fleet_outbox (event_id, subject, headers, body, flagged_at, sent_at) VALUES
  ('e1', 'orders.placed', '{}', '\x00', NULL, NULL),
  ('e2', 'orders.placed', '{}', '\x00', NULL, NULL),
  ('e3', 'orders.placed', '{}', '\x00', NULL, NULL),
  ('e4', 'orders.placed', '{}', '\x00', 1700000000000, NULL),
  ('e5', 'orders.placed', '{}', '\x00', NULL, 1700000000000),
  ('e6', 'orders.placed', '{}', '\x00', NULL, 1700000000000);
SQL
  sql=$(jq -r '.panels[] | select(.title == "Outbox backlog") | .targets[0].rawSql' \
    "$root/compose/grafana/dashboards/fleet.json")
  if [ -z "$sql" ] || [ "$sql" = null ]; then
    fail "no Outbox backlog panel with rawSql in the dashboard"
  fi
  panel=$(psql -At -F ' ' -v ON_ERROR_STOP=1 "$db" -c "$sql" 2>&1) || fail "panel SQL: $panel"
  status=$("$fleet" outbox status --db "$db" --json | jq -r '"\(.pending) \(.flagged)"')
  [ "$panel" = "3 1" ] || fail "panel says '$panel' (pending flagged), expected '3 1'"
  [ "$panel" = "$status" ] || fail "panel says '$panel', fleet outbox status '$status'"
  echo "prometheus.sh outbox: the dashboard's outbox panel and fleet outbox status agree: $panel"
}

case "$mode" in
  lint) lint ;;
  names) names ;;
  alerts) alerts ;;
  outbox) outbox ;;
  *) fail "unknown mode (lint, names, alerts, outbox)" ;;
esac
