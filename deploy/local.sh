#!/usr/bin/env bash
# The docker-compose topologies on one machine without Docker: three redis-server (main,
# MarketData bus, Engine Logic bus; AOF on), or a Redis Cluster of three masters with one
# replica each carrying all three, and one `nautilus engine <name> --bus redis` process per
# engine of this build.
#
#   deploy/local.sh start          # three Redis servers and the engines; waits for every /health
#   deploy/local.sh start-cluster  # the same on a six-node Redis Cluster
#   deploy/local.sh status         # what runs, and each engine's /health
#   deploy/local.sh stop           # SIGTERM the engines (they drain), then shut Redis down
#
# Environment (defaults in brackets): NAUTILUS_BIN [build/release/apps/nautilus/nautilus],
# RUN_DIR [/tmp/nautilus-local] for pids, logs and AOF files, REDIS_MAIN_PORT [6379],
# REDIS_MARKETDATA_PORT [6380], REDIS_LOGIC_PORT [6381], REDIS_CLUSTER_PORTS
# ["7000 7001 7002 7003 7004 7005"] (each node's cluster bus is its port + 10000),
# PORT_OFFSET [0] added to engine ports, SPEED [60] sample replay speed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
bin="${NAUTILUS_BIN:-$root/build/release/apps/nautilus/nautilus}"
run_dir="${RUN_DIR:-/tmp/nautilus-local}"
main_port="${REDIS_MAIN_PORT:-6379}"
md_port="${REDIS_MARKETDATA_PORT:-6380}"
logic_port="${REDIS_LOGIC_PORT:-6381}"
cluster_ports="${REDIS_CLUSTER_PORTS:-7000 7001 7002 7003 7004 7005}"
offset="${PORT_OFFSET:-0}"
speed="${SPEED:-60}"

export REDIS_HOST=127.0.0.1 REDIS_PORT="$main_port"
export MARKETDATA_REDIS_HOST=127.0.0.1 MARKETDATA_REDIS_PORT="$md_port"
export ENGINE_LOGIC_REDIS_HOST=127.0.0.1 ENGINE_LOGIC_REDIS_PORT="$logic_port"

# The mode of the deployment in $run_dir (written by start), for status and stop.
mode() { cat "$run_dir/mode" 2>/dev/null || echo single; }
redis_ports() {
  if [ "$(mode)" = cluster ]; then
    for p in $cluster_ports; do printf 'cluster-%s:%s ' "$p" "$p"; done; echo
  else
    echo "main:$main_port marketdata:$md_port logic:$logic_port"
  fi
}
seeds() { local s=""; for p in $cluster_ports; do s="${s:+$s,}127.0.0.1:$p"; done; echo "$s"; }

wait_for() {  # wait_for <seconds> <command...>
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then return 1; fi
    sleep 0.1
  done
}

start_engines() {
  while read -r name port _; do
    local p=$((port + offset))
    "$bin" engine "$name" --bus redis --port "$p" --speed "$speed" \
      >"$run_dir/$name.log" 2>&1 &
    echo $! >"$run_dir/$name.pid"
  done < <("$bin" engines)
  while read -r name port _; do
    local p=$((port + offset))
    if ! wait_for 10 curl -sf "http://127.0.0.1:$p/health"; then
      echo "local.sh: $name did not answer /health on :$p; its log:" >&2
      cat "$run_dir/$name.log" >&2
      exit 1
    fi
    echo "local.sh: $name up on :$p"
  done < <("$bin" engines)
}

start() {
  [ -x "$bin" ] || { echo "local.sh: $bin not found; run 'make build' first" >&2; exit 2; }
  mkdir -p "$run_dir"
  echo single >"$run_dir/mode"
  for entry in $(redis_ports); do
    local name="${entry%%:*}" port="${entry##*:}"
    mkdir -p "$run_dir/redis-$name"
    redis-server "$here/redis/redis-$name.conf" --port "$port" --bind 127.0.0.1 \
      --dir "$run_dir/redis-$name" --daemonize yes \
      --pidfile "$run_dir/redis-$name.pid" --logfile "$run_dir/redis-$name.log"
  done
  for entry in $(redis_ports); do
    local name="${entry%%:*}" port="${entry##*:}"
    wait_for 10 redis-cli -p "$port" ping || { echo "local.sh: redis $name did not start" >&2; exit 1; }
  done
  start_engines
  echo "local.sh: redis main :$main_port, marketdata :$md_port, logic :$logic_port; logs in $run_dir"
}

cluster_ok() { redis-cli -p "$1" cluster info | grep -q '^cluster_state:ok'; }

start_cluster() {
  [ -x "$bin" ] || { echo "local.sh: $bin not found; run 'make build' first" >&2; exit 2; }
  mkdir -p "$run_dir"
  echo cluster >"$run_dir/mode"
  local nodes=()
  for port in $cluster_ports; do
    mkdir -p "$run_dir/redis-cluster-$port"
    redis-server "$here/redis/redis-cluster.conf" --port "$port" --bind 127.0.0.1 \
      --dir "$run_dir/redis-cluster-$port" --cluster-config-file nodes.conf --daemonize yes \
      --pidfile "$run_dir/redis-cluster-$port.pid" --logfile "$run_dir/redis-cluster-$port.log"
    nodes+=("127.0.0.1:$port")
  done
  for port in $cluster_ports; do
    wait_for 10 redis-cli -p "$port" ping || { echo "local.sh: redis :$port did not start" >&2; exit 1; }
  done
  local first="${nodes[0]##*:}"
  # Nodes that already form a cluster (restarted over the same RUN_DIR) keep it.
  local known
  known=$(redis-cli -p "$first" cluster info | tr -d '\r' | sed -n 's/^cluster_known_nodes://p')
  if [ "${known:-1}" -le 1 ]; then
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$run_dir/cluster-create.log" 2>&1 ||
      { echo "local.sh: redis-cli --cluster create failed:" >&2; cat "$run_dir/cluster-create.log" >&2; exit 1; }
  fi
  for port in $cluster_ports; do
    wait_for 30 cluster_ok "$port" || { echo "local.sh: the cluster is not ok at :$port" >&2; exit 1; }
  done
  export REDIS_CLUSTER MARKETDATA_REDIS_CLUSTER ENGINE_LOGIC_REDIS_CLUSTER
  REDIS_CLUSTER="$(seeds)"; MARKETDATA_REDIS_CLUSTER="$REDIS_CLUSTER"; ENGINE_LOGIC_REDIS_CLUSTER="$REDIS_CLUSTER"
  start_engines
  echo "local.sh: redis cluster at $(seeds) (main and both buses); logs in $run_dir"
}

status() {
  for entry in $(redis_ports); do
    local name="${entry%%:*}" port="${entry##*:}"
    printf 'redis %-10s :%s %s\n' "$name" "$port" "$(redis-cli -p "$port" ping 2>&1 || true)"
  done
  while read -r name port _; do
    local p=$((port + offset))
    printf '%-12s :%s %s\n' "$name" "$p" "$(curl -s --max-time 2 "http://127.0.0.1:$p/health" || echo down)"
  done < <("$bin" engines)
}

stop() {
  for pidfile in "$run_dir"/*.pid; do
    [ -e "$pidfile" ] || continue
    case "$(basename "$pidfile")" in redis-*) continue ;; esac
    local pid; pid=$(cat "$pidfile")
    if kill -TERM "$pid" 2>/dev/null; then
      # Engines drain on SIGTERM; give them a moment before the Redis servers go.
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
  for entry in $(redis_ports); do
    local port="${entry##*:}"
    redis-cli -p "$port" shutdown >/dev/null 2>&1 || true
  done
  rm -f "$run_dir"/redis-*.pid "$run_dir/mode"
  echo "local.sh: stopped"
}

case "${1:-}" in
  start) start ;;
  start-cluster) start_cluster ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: deploy/local.sh start|start-cluster|status|stop" >&2; exit 2 ;;
esac
