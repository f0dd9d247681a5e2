#!/usr/bin/env bash
# make test-docker: deploy/docker-compose.yml for real. Builds the images (deploy/Dockerfile,
# deploy/redis/Dockerfile), brings up three Redis and one container per engine with
# deploy/docker-compose.host.yml (every service on the host's network, on 127.0.0.1), checks
# every engine's /health and /messagebus/status, the redis-cli checks of docs/OPERATIONS.md
# inside the Redis containers, market data flowing from the hub's container out through
# another (`nautilus replay`) and the registry (`nautilus status`), then tears it all down.
#
# Needs root (or a user in the docker group) for dockerd, which it starts if none answers and
# stops again. Where no image registry is reachable, the debian:12 base image is made here
# with debootstrap. Not part of `make test`: the image build compiles the binary from scratch
# (6-9 minutes on two cores), so CI would go over its budget (README, "Docker, tested").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
project=nautilus-test-docker
log_dir="$(mktemp -d /tmp/nautilus-docker-test.XXXXXX)"
# docker-compose.yml with the host-network override, its published ports dropped (written once
# docker-compose is installed, below).
compose=(docker-compose -p "$project" -f "$log_dir/compose.yml")
started_dockerd=""

fail() {
  echo "FAIL: $*" >&2
  "${compose[@]}" ps >&2 2>/dev/null || true
  "${compose[@]}" logs --tail 15 >&2 2>/dev/null || true
  echo "FAIL: $*" >&2
  exit 1
}
copied_cas=()
cleanup() {
  "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
  if [ ${#copied_cas[@]} -gt 0 ]; then rm -f "${copied_cas[@]}"; fi
  if [ -n "$started_dockerd" ]; then kill "$started_dockerd" 2>/dev/null || true; fi
  rm -rf "$log_dir"
}
trap cleanup EXIT

scripts/install-deps.sh --docker
deploy/host-network.sh >"$log_dir/compose.yml" || fail "deploy/host-network.sh"

# The Docker engine: the one running, else one started for this test.
if ! docker info >/dev/null 2>&1; then
  echo "test-docker: starting dockerd (log: $log_dir/dockerd.log)"
  dockerd >"$log_dir/dockerd.log" 2>&1 &
  started_dockerd=$!
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { cat "$log_dir/dockerd.log" >&2; fail "dockerd did not start"; }
fi

# The base image, from a registry if one answers, else made from Debian's archive: debootstrap
# of a minimal bookworm, imported as debian:12 (about 30 s).
base=debian:12
if ! docker image inspect "$base" >/dev/null 2>&1 && ! timeout 20 docker pull -q "$base" >/dev/null 2>&1; then
  echo "test-docker: no registry answers; making $base with debootstrap"
  rootfs="$log_dir/rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian \
    >"$log_dir/debootstrap.log" 2>&1 || { tail -20 "$log_dir/debootstrap.log" >&2; fail "debootstrap"; }
  tar -C "$rootfs" -c . | docker import - "$base" >/dev/null || fail "docker import"
  rm -rf "$rootfs"
fi

# Every port the deployment takes must be free on the host (it runs on the host's network).
ports=$(grep -o 'ports: \["127.0.0.1:[0-9]*' deploy/docker-compose.yml | grep -o '[0-9]*$')
for p in $ports; do
  if /usr/bin/python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1])))' "$p" 2>/dev/null; then
    :
  else
    fail "port $p is taken on 127.0.0.1: stop what listens there (make run? deploy/local.sh?) first"
  fi
done

# The images: the builds reach Debian's archive (and npm's registry) over the host's network,
# trusting what this host trusts beyond Debian's authorities (a proxy's, say).
for crt in /usr/local/share/ca-certificates/*.crt; do
  [ -e "$crt" ] || continue
  dest="deploy/ca-certificates/$(basename "$crt")"
  [ -e "$dest" ] && continue
  cp "$crt" "$dest"
  copied_cas+=("$dest")
done
echo "test-docker: building nautilus:latest (log: $log_dir/build.log)"
start=$(date +%s)
docker build --network host -f deploy/Dockerfile --build-arg "RUNTIME_BASE=$base" \
  -t nautilus:latest . >"$log_dir/build.log" 2>&1 || { tail -40 "$log_dir/build.log" >&2; fail "docker build of deploy/Dockerfile"; }
docker build --network host --build-arg "BASE=$base" -t nautilus-redis:7.0 deploy/redis \
  >"$log_dir/redis-build.log" 2>&1 || { tail -20 "$log_dir/redis-build.log" >&2; fail "docker build of deploy/redis"; }
echo "test-docker: images built in $(( $(date +%s) - start )) s"

"${compose[@]}" up -d --no-build >"$log_dir/up.log" 2>&1 || { cat "$log_dir/up.log" >&2; fail "docker-compose up"; }

# The engines as the image lists them (its own build's engines), each on its default port.
engines="$(docker run --rm --network host nautilus:latest engines)" || fail "nautilus engines in the image"
get() { curl -sf --max-time 10 "$@"; }
# shellcheck source=../integration/engine_checks.sh
source "$root/tests/integration/engine_checks.sh"
while read -r name port _; do
  health=""
  for _ in $(seq 1 120); do
    health=$(get "http://127.0.0.1:$port/health") && break
    sleep 1
  done
  [ -n "$health" ] || fail "$name: no /health on :$port within two minutes"
  check_engine "$name" "$port" "127.0.0.1:6380"
  echo "ok: $name container on :$port"
done <<<"$engines"

# Docker's own view: every container up, and healthy once its health check has run.
for _ in $(seq 1 60); do
  unhealthy=$("${compose[@]}" ps | grep -Ec 'starting|unhealthy|Exit' || true)
  [ "$unhealthy" -eq 0 ] && break
  sleep 2
done
[ "$unhealthy" -eq 0 ] || fail "containers not healthy"

# The redis-cli checks of docs/OPERATIONS.md, inside the Redis containers.
in_redis() { "${compose[@]}" exec -T "$1" redis-cli -p "$2" "${@:3}"; }
[ "$(in_redis redis-main 6379 ping | tr -d '\r')" = "PONG" ] || fail "redis-cli ping"
in_redis redis-logic 6381 XLEN nautilus:engine_communication | grep -Eq '^[0-9]+' || fail "XLEN"
in_redis redis-logic 6381 XRANGE nautilus:engine_communication - + COUNT 5 >/dev/null || fail "XRANGE"
in_redis redis-main 6379 CONFIG GET appendonly | grep -q yes || fail "the main Redis has no AOF"

# Market data from the hub's container in the MarketData bus, read back by another container.
n=0
for _ in $(seq 1 120); do
  n=$(in_redis redis-marketdata 6380 XLEN nautilus:market_data | tr -d '\r')
  [ "$n" -gt 0 ] && break
  sleep 0.5
done
[ "$n" -gt 0 ] || fail "no market data in the MarketData bus"
out=""
for _ in $(seq 1 60); do
  out=$("${compose[@]}" exec -T strategy nautilus replay --bus marketdata --from - \
        --topic 'market_data.*.bar' --limit 5 2>&1) || true
  [ "$(grep -c '"topic": *"market_data\.[A-Z]*\.bar"' <<<"$out")" -eq 5 ] && break
  sleep 1
done
[ "$(grep -c '"topic": *"market_data\.[A-Z]*\.bar"' <<<"$out")" -eq 5 ] || fail "replay saw: $out"
reg=$("${compose[@]}" exec -T strategy nautilus status 2>&1) || fail "nautilus status: $reg"
while read -r name _; do
  grep -q "$name" <<<"$reg" || fail "registry lacks $name: $reg"
done <<<"$engines"

"${compose[@]}" down -v --remove-orphans >"$log_dir/down.log" 2>&1 || fail "docker-compose down"
[ -z "$(docker ps -q --filter "label=com.docker.compose.project=$project")" ] || fail "containers left"
echo "test-docker: all checks passed"
