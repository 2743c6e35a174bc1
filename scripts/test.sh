#!/usr/bin/env bash
# Installs the prerequisites and runs every check and test: formatting, clippy, the Rust unit
# and integration tests, the UI's type checks and unit tests, and the WebDriver journeys under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# Runs a command inside a private session bus with an unlocked Secret Service keyring, so the
# keychain code paths run for real (and never touch the user's own keyring).
# The keyring lives in a fresh directory each run: an existing login keyring with another
# password would stay locked and every keychain call would fail.
with_keyring() {
  local keyring_home
  keyring_home=$(mktemp -d)
  keyctl session - dbus-run-session -- env XDG_DATA_HOME="$keyring_home" sh -c \
    'eval "$(printf cutover-test | gnome-keyring-daemon --unlock --components=secrets)" >/dev/null; export GNOME_KEYRING_CONTROL SSH_AUTH_SOCK; exec "$@"' \
    with-keyring "$@"
}

step "UI build (the app embeds it)"
npm run --prefix ui build

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "Rust unit and integration tests"
with_keyring cargo test --workspace

step "UI type check (svelte-check)"
npm run --prefix ui check

step "UI unit tests (Vitest)"
npm run --prefix ui test

step "WebDriver end-to-end journeys (tauri-driver + WebKitWebDriver under Xvfb)"
cargo build --bin cutover-app
mkdir -p target/e2e
with_keyring xvfb-run -a -s "-screen 0 1280x1024x24" \
  cargo test -p cutover-e2e --features e2e -- --test-threads=1

step "All checks passed"
