#!/usr/bin/env bash
# Installs the prerequisites, builds Cutover and opens it. With no DigitalOcean account
# configured, it opens on the Sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
npm run --prefix ui build
cargo build --release --bin cutover-app
exec ./target/release/cutover-app "$@"
