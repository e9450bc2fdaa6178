#!/usr/bin/env bash
# Brings up a single-node kite cluster in the foreground and prints the kubectl line to use it.
#   ./scripts/up.sh [kite server flags...]     (data in /var/lib/kite unless --data-dir is given)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec ./bin/kite server "$@"
