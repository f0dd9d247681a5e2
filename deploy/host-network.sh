#!/usr/bin/env bash
# Prints deploy/docker-compose.yml with deploy/docker-compose.host.yml applied and the published
# ports dropped: docker-compose refuses host networking beside port bindings, and an override
# file cannot remove the base file's `ports`. Paths in the output are absolute, so it runs from
# anywhere:
#
#   deploy/host-network.sh > /tmp/nautilus-host.yml
#   docker-compose -p nautilus -f /tmp/nautilus-host.yml up -d
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
docker-compose -f "$here/docker-compose.yml" -f "$here/docker-compose.host.yml" config |
  /usr/bin/python3 -c '
import sys, yaml
config = yaml.safe_load(sys.stdin)
for service in config["services"].values():
    service.pop("ports", None)
yaml.safe_dump(config, sys.stdout, sort_keys=False)'
