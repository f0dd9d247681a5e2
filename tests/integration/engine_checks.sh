# Sourced by the deployment tests (deploy_local_test.sh, tests/docker/compose_test.sh), which
# define fail() and get() (curl with their timeout): what one engine of a deployment on the
# single-server buses must answer.

# check_engine NAME PORT MARKETDATA_ENDPOINT: healthy, on Redis, its bus connected to the
# MarketData Redis at host:port, and its other standard endpoints answering.
check_engine() {
  local name=$1 port=$2 md=$3 health status path
  health=$(get "http://localhost:$port/health") || fail "$name /health"
  grep -q '"status":"healthy"' <<<"$health" || fail "$name unhealthy: $health"
  grep -q '"backend":"redis_streams"' <<<"$health" || fail "$name not on Redis: $health"
  status=$(get "http://localhost:$port/messagebus/status") || fail "$name /messagebus/status"
  grep -q '"connected":true' <<<"$status" || fail "$name bus not connected: $status"
  grep -q "\"endpoint\":\"$md\"" <<<"$status" || fail "$name: wrong marketdata bus: $status"
  for path in /messagebus/subscriptions /metrics /hardware/status; do
    get "http://localhost:$port$path" >/dev/null || fail "$name $path"
  done
}
