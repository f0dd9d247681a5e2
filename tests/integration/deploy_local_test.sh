#!/usr/bin/env bash
# deploy/local.sh end to end: three redis-server and one process per engine on free loopback
# ports; every /health and /messagebus/status, the redis-cli checks of docs/OPERATIONS.md, market data
# flowing from the hub's process into the MarketData bus and out through another process
# (`nautilus replay`), then a clean teardown.
set -euo pipefail
bin="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export NAUTILUS_BIN="$bin"
export RUN_DIR; RUN_DIR="$(mktemp -d /tmp/nautilus-deploy-test.XXXXXX)"
export REDIS_MAIN_PORT; REDIS_MAIN_PORT=$(free_port)
export REDIS_MARKETDATA_PORT; REDIS_MARKETDATA_PORT=$(free_port)
export REDIS_LOGIC_PORT; REDIS_LOGIC_PORT=$(free_port)
# An offset at which every engine of the build can listen (each default port + offset free).
ports_free() { /usr/bin/python3 -c '
import socket, sys
for p in map(int, sys.argv[1:]):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        sys.exit(1)
    finally:
        s.close()' "$@"; }
engine_ports=$("$bin" engines | awk '{print $2}')
# Nothing is bound yet when the ports are chosen, so the three Redis ports and every engine port
# are checked together: an engine must not be handed a port a Redis is about to take (CI once
# gave the strategy engine the main Redis's port).
distinct() { [ "$(printf '%s\n' "$@" | sort -u | wc -l)" -eq "$#" ]; }
for _ in $(seq 50); do
  PORT_OFFSET=$(( $(free_port) - 8800 ))
  # shellcheck disable=SC2086 # one argument per port
  all=$(for p in $engine_ports; do echo $((p + PORT_OFFSET)); done; \
        echo "$REDIS_MAIN_PORT $REDIS_MARKETDATA_PORT $REDIS_LOGIC_PORT")
  # shellcheck disable=SC2086
  distinct $all && ports_free $all && break
  REDIS_MAIN_PORT=$(free_port); REDIS_MARKETDATA_PORT=$(free_port); REDIS_LOGIC_PORT=$(free_port)
done
export PORT_OFFSET
# 600x: bars every 0.1 s, so data flows at once, without fourteen processes replaying as fast
# as they can on two cores (at 0, as fast as possible, an engine's /health once took over 30 s).
export SPEED=600

# shellcheck source=deploy_test_common.sh
source "$root/tests/integration/deploy_test_common.sh"

"$root/deploy/local.sh" start || fail "start"

# Each request gets 30 s: these check what the endpoints say, not how fast (bench/ measures
# that), and under ThreadSanitizer twelve processes replaying as fast as they can share two cores.
get() { curl -sf --max-time 30 "$@"; }
# shellcheck source=engine_checks.sh
source "$root/tests/integration/engine_checks.sh"
while read -r name port _; do
  p=$((port + PORT_OFFSET))
  check_engine "$name" "$p" "127.0.0.1:$REDIS_MARKETDATA_PORT"
  echo "ok: $name on :$p"
done < <("$bin" engines)

# The troubleshooting commands of docs/OPERATIONS.md, pointed at this deployment's ports.
[ "$(redis-cli -p "$REDIS_MAIN_PORT" ping)" = "PONG" ] || fail "redis-cli ping"
redis-cli -p "$REDIS_LOGIC_PORT" XLEN nautilus:engine_communication | grep -Eq '^[0-9]+$' || fail "XLEN"
redis-cli -p "$REDIS_LOGIC_PORT" XRANGE nautilus:engine_communication - + >/dev/null || fail "XRANGE"

# Market data written by the hub's process... (within a minute: under ThreadSanitizer, twelve
# engine processes starting on two cores, the hub's loading its history among them, take tens
# of seconds before the first record is out; a release build takes well under one.)
for _ in $(seq 1 600); do
  n=$(redis-cli -p "$REDIS_MARKETDATA_PORT" XLEN nautilus:market_data)
  [ "$n" -gt 0 ] && break
  sleep 0.1
done
[ "$n" -gt 0 ] || fail "no market data in the MarketData bus"
# ...read by another process, once five bars are there (trades come first; under a sanitizer
# the hub needs a while to get through a minute of them).
for _ in $(seq 1 60); do
  out=$(REDIS_PORT=$REDIS_MAIN_PORT MARKETDATA_REDIS_PORT=$REDIS_MARKETDATA_PORT \
        ENGINE_LOGIC_REDIS_PORT=$REDIS_LOGIC_PORT \
        "$bin" replay --bus marketdata --from - --topic 'market_data.*.bar' --limit 5)
  [ "$(grep -c '"topic": *"market_data\.[A-Z]*\.bar"' <<<"$out")" -eq 5 ] && break
  sleep 0.5
done
[ "$(grep -c '"topic": *"market_data\.[A-Z]*\.bar"' <<<"$out")" -eq 5 ] || fail "replay saw: $out"
# The registry in the main Redis lists every engine.
reg=$(REDIS_PORT=$REDIS_MAIN_PORT "$bin" status)
grep -q "marketdata" <<<"$reg" || fail "registry: $reg"

"$root/deploy/local.sh" stop
for f in "$RUN_DIR"/*.pid; do [ -e "$f" ] && fail "pid file left: $f"; done
redis-cli -p "$REDIS_MAIN_PORT" ping >/dev/null 2>&1 && fail "main redis still up"
echo "deploy/local.sh: all checks passed"
