#!/usr/bin/env bash
# The original README's command: start a local 3-node cluster on ports 8000-8002.
# Same as `npm start`; Ctrl-C stops all three nodes.
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules ] || npm install
exec npm start
