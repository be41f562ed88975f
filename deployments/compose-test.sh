#!/usr/bin/env bash
# Smoke test of docker-compose.yml: build and start the stack, wait until the warehouse holds
# tweets and the dashboard's API serves them, then tear everything down (volumes too).
set -euo pipefail
cd "$(dirname "$0")/.."

project=${COMPOSE_PROJECT_NAME:-starling-compose-test}
export STARLING_DASHBOARD_PORT=${STARLING_DASHBOARD_PORT:-18080}
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
wait_for "the dashboard API" curl -fsS "$url/api/summary"
wait_for "hashtags from the dashboard API" bash -c "curl -fsS '$url/api/hashtags/top' | grep -q '\"term\"'"
echo "compose-test: warehouse holds $(tweets) tweets; dashboard answers at $url"
echo "compose-test: $(curl -fsS "$url/api/summary")"
ok=1
