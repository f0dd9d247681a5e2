#!/usr/bin/env bash
# Rewrites the engine settings tables at the end of docs/CONFIGURATION.md from
# `nautilus engines --settings` (a test fails when the two differ).
set -euo pipefail
bin=${1:-build/release/apps/nautilus/nautilus}
doc=docs/CONFIGURATION.md
head=$(grep -n '^### marketdata (port 8800)' "$doc" | cut -d: -f1)
{ head -n $((head - 1)) "$doc"; "$bin" engines --settings; } > "$doc.new"
mv "$doc.new" "$doc"
