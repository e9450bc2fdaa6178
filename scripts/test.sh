#!/usr/bin/env bash
# The whole check: set-up, type-check, lint, unit and end-to-end tests (real kubectl, real etcd).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
echo "kite test: type-check" >&2
npx tsc -p tsconfig.json --noEmit
echo "kite test: lint" >&2
npx eslint --max-warnings=0 .
echo "kite test: tests" >&2
# Discovery caches from other kubectl versions or servers must not leak into the tests.
export KUBECACHEDIR="$(mktemp -d)"
trap 'rm -rf "$KUBECACHEDIR"' EXIT
node --test --test-concurrency=1 --test-timeout=600000 --test-reporter=spec $(find dist/test -name '*.test.js' | sort)
