#!/usr/bin/env bash
# Smoke test of docker-compose.yml: build and start the stack, wait until the warehouse holds
# tweets and the dashboard's API serves them, then tear everything down (volumes too).
set -euo pipefail
cd "$(dirname "$0")/.."

project=${COMPOSE_PROJECT_NAME:-starling-compose-test}
export STARLING_DASHBOARD_PORT=${STARLING_DASHBOARD_PORT:-18080}
# With a token the dashboard turns its SQL console on; every call below carries it.
export STARLING_DASHBOARD_TOKEN=${STARLING_DASHBOARD_TOKEN:-compose-test-token}
timeout=${COMPOSE_TEST_TIMEOUT:-900}
dc() { docker compose -p "$project" "$@"; }

ok=0
cleanup() {
  if [ "$ok" != 1 ]; then
    dc ps -a || true
    dc logs --no-color --tail 80 || true
  fi
  dc down -v --remove-orphans >/dev/null 2>&1 || true
}
trap cleanup EXIT

dc up --build -d
deadline=$((SECONDS + timeout))
wait_for() { # description, command...
  local what=$1; shift
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then echo "compose-test: timed out waiting for $what" >&2; return 1; fi
    sleep 2
  done
}
tweets() { dc exec -T clickhouse clickhouse-client -q "SELECT count() FROM starling.tweets" </dev/null; }
has_tweets() { [ "$(tweets)" -gt 0 ]; }
wait_for "tweets in the warehouse" has_tweets
url="http://127.0.0.1:$STARLING_DASHBOARD_PORT"
api() { curl -fsS -H "Authorization: Bearer $STARLING_DASHBOARD_TOKEN" "$@"; }
export -f api
export url
wait_for "the dashboard API" api "$url/api/summary"
wait_for "hashtags from the dashboard API" bash -c "api '$url/api/hashtags/top' | grep -q '\"term\"'"
# The page and the API refuse a caller without the token.
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/api/summary")" = 401 ] || { echo "compose-test: the API answered without the token" >&2; exit 1; }
# Pipeline health from the broker: the ETL's consumer group and its lag.
wait_for "the etl group in the pipeline view" bash -c "api '$url/api/pipeline' | grep -q '\"id\":\"etl\"'"
# The SQL console, as ClickHouse's read-only user: a SELECT runs, a DROP does not.
console() { api -H 'Content-Type: application/json' -X POST --data "$1" "$url/api/console/query"; }
console '{"sql":"SELECT count() AS n FROM tweets"}' | grep -q '"rows"' || { echo "compose-test: the SQL console did not answer a SELECT" >&2; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $STARLING_DASHBOARD_TOKEN" -H 'Content-Type: application/json' \
  -X POST --data '{"sql":"DROP TABLE tweets"}' "$url/api/console/query")
[ "$code" = 400 ] || { echo "compose-test: DROP TABLE answered $code, not 400" >&2; exit 1; }
echo "compose-test: warehouse holds $(tweets) tweets; dashboard answers at $url (pipeline view, SQL console read-only)"
echo "compose-test: $(api "$url/api/summary")"
ok=1
