#!/usr/bin/env bash
# Both compose files (deploy/docker-compose.yml, deploy/docker-compose.cluster.yml) run every
# engine of this build, each on its default port, and the host-network override runs each: CI
# does not bring them up (make test-docker does, in 7-10 minutes), so this at least keeps them
# from missing an engine that landed (the websocket engine once was).
set -euo pipefail
bin="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
status=0
for f in "$root/deploy/docker-compose.yml" "$root/deploy/docker-compose.cluster.yml"; do
  while read -r name port _; do
    if ! grep -q "command: \[\"engine\", \"$name\", \"--bus\", \"redis\"" "$f"; then
      echo "FAIL: $(basename "$f") has no service running the $name engine" >&2; status=1
    elif ! grep -q "ports: \[\"127.0.0.1:$port:$port\"\]" "$f"; then
      echo "FAIL: $(basename "$f") does not publish $name's port $port" >&2; status=1
    fi
  done < <("$bin" engines)
done
# The host-network override (make test-docker) runs every engine too, on 127.0.0.1.
host="$root/deploy/docker-compose.host.yml"
while read -r name _; do
  if ! grep -q "command: \[\"engine\", \"$name\", \"--bus\", \"redis\", \"--bind\", \"127.0.0.1\"\]" "$host"; then
    echo "FAIL: $(basename "$host") does not run the $name engine on 127.0.0.1" >&2; status=1
  fi
done < <("$bin" engines)
[ $status -eq 0 ] && echo "compose files: every engine present"
exit $status
