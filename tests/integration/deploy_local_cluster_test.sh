#!/usr/bin/env bash
# deploy/local.sh start-cluster end to end: a six-node Redis Cluster (three masters, one replica
# each) carrying the main Redis and both buses, and one process per engine, on free loopback
# ports; every /health and the per-shard /messagebus/status, `redis-cli --cluster check`, market
# data flowing from the hub's process through its shards and out through another process
# (`nautilus replay`), the registry (`nautilus status`), then a clean teardown.
set -euo pipefail
bin="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

export NAUTILUS_BIN="$bin"
export RUN_DIR; RUN_DIR="$(mktemp -d /tmp/nautilus-deploy-cluster-test.XXXXXX)"
# Six node ports whose cluster bus ports (+10000) are free too, and an engine port offset,
# all distinct and bindable now (below the ephemeral range, so no outgoing connection takes
# one meanwhile).
read -r REDIS_CLUSTER_PORTS PORT_OFFSET < <(/usr/bin/python3 - $("$bin" engines | awk '{print $2}') <<'PY'
import random, socket, sys
engine = [int(p) for p in sys.argv[1:]]
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(200):
    base = random.randrange(12000, 19000, 10)
    nodes = list(range(base, base + 6))
    offset = random.randrange(20000, 30000) - 8000
    want = nodes + [p + 10000 for p in nodes] + [p + offset for p in engine]
    if len(set(want)) == len(want) and all(free(p) for p in want):
        print(",".join(map(str, nodes)), offset)
        sys.exit(0)
sys.exit("no free ports")
PY
)
REDIS_CLUSTER_PORTS="${REDIS_CLUSTER_PORTS//,/ }"
export REDIS_CLUSTER_PORTS PORT_OFFSET
export SPEED=600  # bars every 0.1 s (see deploy_local_test.sh)
first="${REDIS_CLUSTER_PORTS%% *}"
seeds=""; for p in $REDIS_CLUSTER_PORTS; do seeds="${seeds:+$seeds,}127.0.0.1:$p"; done

# shellcheck source=deploy_test_common.sh
source "$root/tests/integration/deploy_test_common.sh"

"$root/deploy/local.sh" start-cluster || fail "start-cluster"

redis-cli --cluster check "127.0.0.1:$first" >"$RUN_DIR/check.txt" 2>&1 || fail "cluster check: $(cat "$RUN_DIR/check.txt")"
grep -q "All 16384 slots covered" "$RUN_DIR/check.txt" || fail "slots: $(cat "$RUN_DIR/check.txt")"
[ "$(redis-cli -p "$first" cluster info | tr -d '\r' | sed -n 's/^cluster_size://p')" = 3 ] || fail "not 3 masters"

get() { curl -sf --max-time 30 "$@"; }
while read -r name port _; do
  p=$((port + PORT_OFFSET))
  health=$(get "http://localhost:$p/health") || fail "$name /health"
  grep -q '"status":"healthy"' <<<"$health" || fail "$name unhealthy: $health"
  status=$(get "http://localhost:$p/messagebus/status") || fail "$name /messagebus/status"
  grep -q '"connected":true' <<<"$status" || fail "$name bus not connected: $status"
  # One entry per shard (12 market data, 4 logic) and the masters they sit on.
  grep -q '"name":"marketdata.11"' <<<"$status" || fail "$name: no 12th market-data shard: $status"
  grep -q '"name":"logic.3"' <<<"$status" || fail "$name: no 4th logic shard: $status"
  grep -q '"nodes":\[' <<<"$status" || fail "$name: no nodes list: $status"
  echo "ok: $name on :$p"
done < <("$bin" engines)

env_cluster=(REDIS_CLUSTER="$seeds" MARKETDATA_REDIS_CLUSTER="$seeds" ENGINE_LOGIC_REDIS_CLUSTER="$seeds")
# Bars written by the hub's process into their symbols' shards, read back by another process.
for _ in $(seq 1 120); do
  out=$(env "${env_cluster[@]}" "$bin" replay --bus marketdata --from - --topic 'market_data.*.bar' --limit 5 2>&1) || true
  [ "$(grep -c '"topic": *"market_data\.[A-Z]*\.bar"' <<<"$out")" -eq 5 ] && break
  sleep 0.5
done
[ "$(grep -c '"topic": *"market_data\.[A-Z]*\.bar"' <<<"$out")" -eq 5 ] || fail "replay saw: $out"
# The registry, on the cluster too, lists every engine.
count=$("$bin" engines | wc -l)
reg=$(env "${env_cluster[@]}" "$bin" status)
grep -q "$count engine(s) registered in the cluster at" <<<"$reg" || fail "registry: $reg"

"$root/deploy/local.sh" stop
for f in "$RUN_DIR"/*.pid; do [ -e "$f" ] && fail "pid file left: $f"; done
redis-cli -p "$first" ping >/dev/null 2>&1 && fail "cluster node :$first still up"
echo "deploy/local.sh start-cluster: all checks passed"
