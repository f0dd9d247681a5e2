#!/usr/bin/env bash
# The docker-compose topology on one machine without Docker: three redis-server (main,
# MarketData bus, Engine Logic bus; AOF on) and one `nautilus engine <name> --bus redis`
# process per engine of this build.
#
#   deploy/local.sh start     # starts everything, waits for every /health
#   deploy/local.sh status    # what runs, and each engine's /health
#   deploy/local.sh stop      # SIGTERM the engines (they drain), then shut the Redis servers down
#
# Environment (defaults in brackets): NAUTILUS_BIN [build/release/apps/nautilus/nautilus],
# RUN_DIR [/tmp/nautilus-local] for pids, logs and AOF files, REDIS_MAIN_PORT [6379],
# REDIS_MARKETDATA_PORT [6380], REDIS_LOGIC_PORT [6381], PORT_OFFSET [0] added to engine ports,
# SPEED [60] sample replay speed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
bin="${NAUTILUS_BIN:-$root/build/release/apps/nautilus/nautilus}"
run_dir="${RUN_DIR:-/tmp/nautilus-local}"
main_port="${REDIS_MAIN_PORT:-6379}"
md_port="${REDIS_MARKETDATA_PORT:-6380}"
logic_port="${REDIS_LOGIC_PORT:-6381}"
offset="${PORT_OFFSET:-0}"
speed="${SPEED:-60}"

export REDIS_HOST=127.0.0.1 REDIS_PORT="$main_port"
export MARKETDATA_REDIS_HOST=127.0.0.1 MARKETDATA_REDIS_PORT="$md_port"
export ENGINE_LOGIC_REDIS_HOST=127.0.0.1 ENGINE_LOGIC_REDIS_PORT="$logic_port"

redis_ports() { echo "main:$main_port marketdata:$md_port logic:$logic_port"; }

wait_for() {  # wait_for <seconds> <command...>
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then return 1; fi
    sleep 0.1
  done
}

start() {
  [ -x "$bin" ] || { echo "local.sh: $bin not found; run 'make build' first" >&2; exit 2; }
  mkdir -p "$run_dir"
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
  echo "local.sh: redis main :$main_port, marketdata :$md_port, logic :$logic_port; logs in $run_dir"
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
  rm -f "$run_dir"/redis-*.pid
  echo "local.sh: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: deploy/local.sh start|status|stop" >&2; exit 2 ;;
esac
