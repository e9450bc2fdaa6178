#!/usr/bin/env bash
# Installs everything kite needs on a Debian/Ubuntu machine (as root) and builds it. Idempotent: it only
# installs what is missing, so the other scripts call it first.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
command -v etcd >/dev/null 2>&1 || need_apt+=(etcd-server)
command -v make >/dev/null 2>&1 || need_apt+=(make)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
# The node agent: runc, conmon (exit codes, OOM flag, CRI logs), CNI plugins, nftables, nsenter/unshare, and
# busybox-static (test images are built offline from it); docker-registry serves images to the tests.
command -v runc >/dev/null 2>&1 || need_apt+=(runc)
command -v conmon >/dev/null 2>&1 || need_apt+=(conmon)
[ -x /usr/lib/cni/bridge ] || need_apt+=(containernetworking-plugins)
command -v nft >/dev/null 2>&1 || need_apt+=(nftables)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v nsenter >/dev/null 2>&1 || need_apt+=(util-linux)
[ -x /bin/busybox ] || need_apt+=(busybox-static)
command -v docker-registry >/dev/null 2>&1 || need_apt+=(docker-registry)
command -v iptables >/dev/null 2>&1 || need_apt+=(iptables)
[ -x /usr/bin/catatonit ] || need_apt+=(catatonit)
# The ingress data plane (nginx, driven by generated configuration); wrk and skopeo for the benchmarks' baselines.
command -v nginx >/dev/null 2>&1 || need_apt+=(nginx)
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
command -v skopeo >/dev/null 2>&1 || need_apt+=(skopeo)
if [ ${#need_apt[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "kite setup: missing ${need_apt[*]} and this is not a Debian/Ubuntu machine: install them, then run this again" >&2
    exit 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "kite setup: missing ${need_apt[*]}: run this script as root (or: sudo apt-get install -y ${need_apt[*]})" >&2
    exit 1
  fi
  echo "kite setup: installing ${need_apt[*]} (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "kite setup: Node.js $(node --version) is too old: kite needs Node.js 20 or newer" >&2
  exit 1
fi

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.kite-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "kite setup: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

echo "kite setup: building" >&2
npm run --silent build
